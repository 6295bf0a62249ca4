package io.pgtrickle.operator.engine;

import static io.pgtrickle.operator.engine.EngineTestSupport.OWNER;
import static io.pgtrickle.operator.engine.EngineTestSupport.definition;
import static io.pgtrickle.operator.engine.EngineTestSupport.engine;
import static io.pgtrickle.operator.testing.StreamTableAssertions.assertMatchesQuery;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgtrickle.operator.testing.TestDatabase;
import io.pgtrickle.operator.testing.TestPostgres;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Exactly-once under failure: the refresh session is killed (its backend terminated, as a crash of
 * the engine or the network would) or fails at every step of the refresh transaction. Each time the
 * table keeps its old contents and frontier, and the next refresh applies everything once.
 */
class RefreshCrashIT {
  private static final String QUERY = "SELECT k, sum(v) AS total FROM facts GROUP BY k";

  private TestDatabase db;

  @BeforeEach
  void setUp() throws Exception {
    db = TestPostgres.freshDatabase();
    db.execute(
        "CREATE TABLE facts (id serial PRIMARY KEY, k int, v int)",
        "INSERT INTO facts (k, v) SELECT g % 5, g FROM generate_series(1, 100) g");
  }

  @ParameterizedTest
  @EnumSource(Refresher.Step.class)
  void sessionKilledAtStepLosesNothingAndAppliesNothingTwice(Refresher.Step step) throws Exception {
    crashAt(step, RefreshCrashIT::killOwnBackend);
  }

  @ParameterizedTest
  @EnumSource(Refresher.Step.class)
  void errorAtStepLosesNothingAndAppliesNothingTwice(Refresher.Step step) throws Exception {
    crashAt(
        step,
        connection -> {
          throw new SQLException("injected failure", "XX000");
        });
  }

  private void crashAt(Refresher.Step step, Failure failure) throws Exception {
    StreamTableEngine healthy = engine(db);
    healthy.apply(definition("totals", QUERY), OWNER);
    String contentsBefore = contents();
    String frontierBefore = frontier();
    StreamTableEngine crashing =
        engine(
            db,
            (at, connection) -> {
              if (at == step) {
                failure.inject(connection);
              }
            });
    db.execute("INSERT INTO facts (k, v) SELECT g % 7, g * 3 FROM generate_series(1, 40) g");
    db.execute("UPDATE facts SET v = v + 1 WHERE k = 2");

    assertThatThrownBy(() -> crashing.refresh("public", "totals"))
        .isInstanceOf(EngineException.class);

    assertThat(contents()).as("contents after a crash at %s", step).isEqualTo(contentsBefore);
    assertThat(frontier()).as("frontier after a crash at %s", step).isEqualTo(frontierBefore);
    RefreshOutcome recovered = healthy.refresh("public", "totals");
    assertThat(recovered.kind()).isEqualTo(RefreshOutcome.Kind.APPLIED);
    assertMatchesQuery(db, "totals", QUERY);
    assertThat(healthy.refresh("public", "totals").kind())
        .isEqualTo(RefreshOutcome.Kind.NO_CHANGES);
  }

  private String contents() throws SQLException {
    return db.queryString("SELECT string_agg(t::text, ';' ORDER BY t::text) FROM totals t");
  }

  private String frontier() throws SQLException {
    return db.queryString("SELECT frontier::text FROM pgtrickle.pgt_stream_tables");
  }

  private static void killOwnBackend(Connection connection) throws SQLException {
    try (Statement statement = connection.createStatement()) {
      statement.execute("SELECT pg_terminate_backend(pg_backend_pid())");
    }
  }

  @FunctionalInterface
  private interface Failure {
    void inject(Connection connection) throws SQLException;
  }
}
