package io.pgtrickle.operator.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.pgtrickle.operator.testing.TestDatabase;
import io.pgtrickle.operator.testing.TestPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Local mode writes the conditions docs/crd-reference.md promises: Degraded for a failed refresh
 * (Ready kept while the table keeps its last good contents), Ready=False SourceMissing for a
 * dropped source, and --once exits 1 for either.
 */
class LocalModeConditionsIT {
  @TempDir Path dir;
  private TestDatabase db;

  @BeforeEach
  void setUp() throws Exception {
    db = TestPostgres.freshDatabase();
    db.execute(
        "CREATE TABLE orders (id int PRIMARY KEY, amount int)",
        "INSERT INTO orders VALUES (1, 10), (2, 20)");
    Files.writeString(
        dir.resolve("st.yaml"),
        """
        apiVersion: pgtrickle.io/v1alpha1
        kind: StreamTable
        metadata:
          name: ratios
        spec:
          name: ratios
          query: "SELECT id, 100 / amount AS ratio FROM orders"
          schedule: 1s
        """);
  }

  @Test
  void aFailedRefreshIsDegradedThenRecovers() throws Exception {
    CliRun first = once();
    assertThat(first.exitCode()).as(first.out()).isZero();
    assertThat(condition(first, "Degraded").path("status").asText()).isEqualTo("False");
    assertThat(condition(first, "Degraded").path("reason").asText()).isEqualTo("RefreshSucceeded");

    db.execute("INSERT INTO orders VALUES (3, 0)"); // division by zero on the next refresh
    CliRun failed = once();
    assertThat(failed.exitCode()).isEqualTo(1);
    assertThat(condition(failed, "Ready").path("status").asText()).isEqualTo("True");
    JsonNode degraded = condition(failed, "Degraded");
    assertThat(degraded.path("status").asText()).isEqualTo("True");
    assertThat(degraded.path("reason").asText()).isEqualTo("RefreshFailed");
    assertThat(degraded.path("message").asText()).contains("division by zero");
    assertThat(db.queryLong("SELECT count(*) FROM ratios")).as("last good contents").isEqualTo(2);

    db.execute("DELETE FROM orders WHERE id = 3");
    CliRun recovered = once();
    assertThat(recovered.exitCode()).isZero();
    assertThat(condition(recovered, "Degraded").path("status").asText()).isEqualTo("False");
  }

  @Test
  void aDroppedSourceIsSourceMissing() throws Exception {
    assertThat(once().exitCode()).isZero();
    db.execute("DROP TABLE orders CASCADE");
    CliRun run = once();
    assertThat(run.exitCode()).isEqualTo(1);
    JsonNode ready = condition(run, "Ready");
    assertThat(ready.path("status").asText()).isEqualTo("False");
    assertThat(ready.path("reason").asText()).isEqualTo("SourceMissing");
    assertThat(ready.path("message").asText()).contains("\"orders\"");
  }

  private CliRun once() {
    return CliRun.of(
        "local", "-f", dir.toString(), "--jdbc-url", db.jdbcUrl() + "?user=postgres", "--once");
  }

  private static JsonNode condition(CliRun run, String type) throws Exception {
    for (JsonNode condition : run.yamlDocuments().get(0).path("status").path("conditions")) {
      if (type.equals(condition.path("type").asText())) {
        return condition;
      }
    }
    throw new AssertionError("no " + type + " condition in " + run.out());
  }
}
