package io.pgtrickle.operator.engine;

import static io.pgtrickle.operator.engine.EngineTestSupport.OWNER;
import static io.pgtrickle.operator.engine.EngineTestSupport.definition;
import static io.pgtrickle.operator.engine.EngineTestSupport.engine;
import static io.pgtrickle.operator.testing.StreamTableAssertions.assertMatchesQuery;
import static org.assertj.core.api.Assertions.assertThat;

import io.pgtrickle.operator.testing.TestDatabase;
import io.pgtrickle.operator.testing.TestPostgres;
import java.sql.Connection;
import java.sql.Statement;
import org.junit.jupiter.api.Test;

/**
 * A transaction that began before a refresh and commits after it is picked up by the next refresh,
 * though its change-buffer rows carry older LSNs and sequence values than changes the first refresh
 * already consumed.
 */
class OutOfOrderCommitIT {
  @Test
  void aLateCommitIsAppliedByTheNextRefreshExactlyOnce() throws Exception {
    TestDatabase db = TestPostgres.freshDatabase();
    db.execute("CREATE TABLE events (id int PRIMARY KEY, v int)");
    StreamTableEngine engine = engine(db);
    String query = "SELECT id, v FROM events";
    engine.apply(definition("events_st", query), OWNER);

    try (Connection slow = db.connect();
        Connection fast = db.connect()) {
      slow.setAutoCommit(false);
      try (Statement statement = slow.createStatement()) {
        statement.execute("INSERT INTO events VALUES (1, 10)"); // earlier LSN and transaction id
      }
      try (Statement statement = fast.createStatement()) {
        statement.execute("INSERT INTO events VALUES (2, 20)"); // later, but commits first
      }

      assertThat(engine.refresh("public", "events_st").kind())
          .isEqualTo(RefreshOutcome.Kind.APPLIED);
      assertMatchesQuery(db, "events_st", query);
      assertThat(db.queryLong("SELECT count(*) FROM events_st")).isEqualTo(1);

      slow.commit();
    }

    assertThat(
            db.queryLong(
                "SELECT count(*) FROM pgtrickle_changes.changes_"
                    + io.pgtrickle.operator.naming.StableName.of(
                        new io.pgtrickle.operator.naming.QualifiedTable(
                            db.name(), "public", "events"))
                    + " WHERE row_data = '(1,10)'"))
        .as("the late change is still buffered, not compacted away")
        .isEqualTo(1);
    RefreshOutcome second = engine.refresh("public", "events_st");
    assertThat(second.kind()).isEqualTo(RefreshOutcome.Kind.APPLIED);
    assertThat(second.rowsChanged()).isEqualTo(1);
    assertMatchesQuery(db, "events_st", query);
    assertThat(engine.refresh("public", "events_st").kind())
        .isEqualTo(RefreshOutcome.Kind.NO_CHANGES);
  }
}
