package io.pgtrickle.operator.db;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Properties;
import org.junit.jupiter.api.Test;

/** What Citus workers are connected with: the coordinator's connection settings, not its place. */
class DatabaseTargetTest {
  @Test
  void theUrlsCredentialsAndParametersWinOverTheEnvironmentsAndTheAddressIsLeftOut() {
    Properties properties =
        DatabaseTarget.nodeProperties(
            "jdbc:postgresql://coord:6432/app?user=alice&password=p%40ss&sslmode=require",
            "pguser", "pgpassword");

    assertThat(properties)
        .containsOnly(
            entry("user", "alice"), entry("password", "p@ss"), entry("sslmode", "require"));
  }

  @Test
  void theEnvironmentFillsWhatTheUrlLeavesOut() {
    assertThat(
            DatabaseTarget.nodeProperties(
                "jdbc:postgresql://coord/app?user=alice", "pguser", "pgpassword"))
        .containsOnly(entry("user", "alice"), entry("password", "pgpassword"));
    assertThat(DatabaseTarget.nodeProperties("jdbc:postgresql://coord/app", "pguser", null))
        .containsOnly(entry("user", "pguser"));
    assertThat(DatabaseTarget.nodeProperties("jdbc:postgresql://coord/app", null, null)).isEmpty();
  }

  private static java.util.Map.Entry<Object, Object> entry(String key, String value) {
    return java.util.Map.entry(key, value);
  }
}
