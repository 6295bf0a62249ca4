package io.pgtrickle.operator.engine;

import static io.pgtrickle.operator.engine.EngineTestSupport.OWNER;
import static io.pgtrickle.operator.engine.EngineTestSupport.engine;
import static io.pgtrickle.operator.testing.StreamTableAssertions.assertMatchesQuery;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgtrickle.operator.api.RefreshMode;
import io.pgtrickle.operator.api.StreamTableSpec;
import io.pgtrickle.operator.testing.TestDatabase;
import io.pgtrickle.operator.testing.TestPostgres;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Exactly-once under failure, for FULL and DIFFERENTIAL: the refresh session is killed (its backend
 * terminated, as a crash of the engine or the network would) or fails at every step of the refresh
 * transaction. Each time the table keeps its old contents and frontier, and the next refresh
 * applies everything once. An error inside the differential step itself is not a failure of the
 * refresh: it is rolled back to a savepoint and the same transaction refreshes in full.
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

  /** Every step a refresh of that mode passes. */
  static Stream<Arguments> steps() {
    return Stream.of(RefreshMode.FULL, RefreshMode.DIFFERENTIAL)
        .flatMap(
            mode ->
                Arrays.stream(Refresher.Step.values())
                    // DRAINED comes before the refresh's session: there is nothing to kill yet.
                    .filter(step -> step != Refresher.Step.DRAINED)
                    .filter(
                        step ->
                            mode == RefreshMode.DIFFERENTIAL
                                || step != Refresher.Step.DELTA_COMPUTED)
                    .map(step -> Arguments.of(mode, step)));
  }

  @ParameterizedTest
  @MethodSource("steps")
  void sessionKilledAtStepLosesNothingAndAppliesNothingTwice(RefreshMode mode, Refresher.Step step)
      throws Exception {
    crashAt(mode, step, RefreshCrashIT::killOwnBackend);
  }

  /** As {@link #steps}, but for DELTA_COMPUTED: an error there falls back to FULL (test below). */
  static Stream<Arguments> errorSteps() {
    return steps().filter(a -> a.get()[1] != Refresher.Step.DELTA_COMPUTED);
  }

  @ParameterizedTest
  @MethodSource("errorSteps")
  void errorAtStepLosesNothingAndAppliesNothingTwice(RefreshMode mode, Refresher.Step step)
      throws Exception {
    crashAt(mode, step, RefreshCrashIT::fail);
  }

  @Test
  void errorInsideTheDifferentialStepRefreshesInFullInTheSameTransaction() throws Exception {
    create(RefreshMode.DIFFERENTIAL);
    StreamTableEngine failing =
        engine(
            db,
            (at, connection) -> {
              if (at == Refresher.Step.DELTA_COMPUTED) {
                fail(connection);
              }
            });
    changeFacts();

    RefreshOutcome outcome = failing.refresh("public", "totals");

    assertThat(outcome.kind()).isEqualTo(RefreshOutcome.Kind.APPLIED);
    assertMatchesQuery(db, "totals", QUERY);
    assertThat(db.queryString("SELECT last_refresh_mode FROM pgtrickle.pgt_stream_tables"))
        .isEqualTo("FULL");
    assertThat(db.queryString("SELECT last_refresh_reason FROM pgtrickle.pgt_stream_tables"))
        .contains("differential refresh failed", "injected failure");
    assertThat(engine(db).refresh("public", "totals").kind())
        .isEqualTo(RefreshOutcome.Kind.NO_CHANGES);
  }

  private StreamTableEngine create(RefreshMode mode) throws Exception {
    StreamTableEngine healthy = engine(db);
    StreamTableSpec spec = EngineTestSupport.spec("totals", QUERY);
    spec.setRefreshMode(mode);
    healthy.apply(StreamTableDefinition.from(spec), OWNER);
    return healthy;
  }

  private void changeFacts() throws SQLException {
    db.execute("INSERT INTO facts (k, v) SELECT g % 7, g * 3 FROM generate_series(1, 40) g");
    db.execute("UPDATE facts SET v = v + 1 WHERE k = 2");
    db.execute("DELETE FROM facts WHERE id % 10 = 3");
  }

  private void crashAt(RefreshMode mode, Refresher.Step step, Failure failure) throws Exception {
    StreamTableEngine healthy = create(mode);
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
    changeFacts();

    assertThatThrownBy(() -> crashing.refresh("public", "totals"))
        .isInstanceOf(EngineException.class);

    assertThat(contents()).as("contents after a crash at %s", step).isEqualTo(contentsBefore);
    assertThat(frontier()).as("frontier after a crash at %s", step).isEqualTo(frontierBefore);
    RefreshOutcome recovered = healthy.refresh("public", "totals");
    assertThat(recovered.kind()).isEqualTo(RefreshOutcome.Kind.APPLIED);
    assertMatchesQuery(db, "totals", QUERY);
    assertThat(db.queryString("SELECT last_refresh_mode FROM pgtrickle.pgt_stream_tables"))
        .isEqualTo(mode.name());
    assertThat(healthy.refresh("public", "totals").kind())
        .isEqualTo(RefreshOutcome.Kind.NO_CHANGES);
  }

  private String contents() throws SQLException {
    return db.queryString("SELECT string_agg(t::text, ';' ORDER BY t::text) FROM totals t");
  }

  private String frontier() throws SQLException {
    return db.queryString("SELECT frontier::text FROM pgtrickle.pgt_stream_tables");
  }

  private static void fail(Connection connection) throws SQLException {
    throw new SQLException("injected failure", "XX000");
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
