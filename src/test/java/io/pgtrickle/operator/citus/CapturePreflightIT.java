package io.pgtrickle.operator.citus;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgtrickle.operator.testing.TestDatabase;
import io.pgtrickle.operator.testing.TestPostgres;
import java.sql.Connection;
import java.sql.DriverManager;
import java.util.Properties;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class CapturePreflightIT {
  private TestDatabase db;

  @BeforeEach
  void setUp() throws Exception {
    db = TestPostgres.freshDatabase();
    db.execute(
        "CREATE TABLE full_t (id int PRIMARY KEY)",
        "ALTER TABLE full_t REPLICA IDENTITY FULL",
        "CREATE TABLE default_t (id int PRIMARY KEY)",
        "CREATE TABLE nothing_t (id int PRIMARY KEY)",
        "ALTER TABLE nothing_t REPLICA IDENTITY NOTHING");
  }

  @Test
  void replicaIdentityFullPasses() throws Exception {
    try (Connection node = db.connect()) {
      CapturePreflight.Result result =
          CapturePreflight.check(node, "node-1", "public", "full_t", false, false, false);
      assertThat(result.passed()).as(result.problems().toString()).isTrue();
      assertThat(result.warnings()).isEmpty();
    }
  }

  @Test
  void replicaIdentityDefaultNeedsImmutableKeysAndThenWarns() throws Exception {
    try (Connection node = db.connect()) {
      assertThat(
              CapturePreflight.check(node, "node-1", "public", "default_t", false, false, false)
                  .problems())
          .singleElement()
          .satisfies(p -> assertThat(p).contains("node-1").contains("REPLICA IDENTITY FULL"));
      CapturePreflight.Result allowed =
          CapturePreflight.check(node, "node-1", "public", "default_t", true, false, false);
      assertThat(allowed.passed()).isTrue();
      assertThat(allowed.warnings())
          .singleElement()
          .satisfies(w -> assertThat(w).contains("would be lost"));
    }
  }

  @Test
  void replicaIdentityNothingIsRejected() throws Exception {
    try (Connection node = db.connect()) {
      assertThat(
              CapturePreflight.check(node, "node-1", "public", "nothing_t", true, false, false)
                  .problems())
          .anySatisfy(p -> assertThat(p).contains("REPLICA IDENTITY NOTHING"));
    }
  }

  @Test
  void aRoleWithoutReplicationOrOwnershipIsNamed() throws Exception {
    db.execute("CREATE ROLE plain_user LOGIN", "GRANT SELECT ON full_t TO plain_user");
    Properties properties = new Properties();
    properties.setProperty("user", "plain_user");
    try (Connection node = DriverManager.getConnection(db.jdbcUrl(), properties)) {
      CapturePreflight.Result result =
          CapturePreflight.check(node, "node-2", "public", "full_t", false, false, false);
      assertThat(result.problems())
          .anySatisfy(p -> assertThat(p).contains("node-2").contains("REPLICATION"))
          .anySatisfy(p -> assertThat(p).contains("must own public.full_t"));
    }
  }

  @Test
  void citusNodesNeedChangeDataCapture() throws Exception {
    try (Connection node = db.connect()) {
      assertThat(
              CapturePreflight.check(node, "worker-1", "public", "full_t", false, false, true)
                  .problems())
          .anySatisfy(p -> assertThat(p).contains("citus.enable_change_data_capture=on"));
    }
  }
}
