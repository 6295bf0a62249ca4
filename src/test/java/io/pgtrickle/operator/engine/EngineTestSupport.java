package io.pgtrickle.operator.engine;

import io.pgtrickle.operator.api.StreamTableSpec;
import io.pgtrickle.operator.capture.NodeConnector;
import io.pgtrickle.operator.citus.CitusTopology;
import io.pgtrickle.operator.engine.refresh.FullRefresh;
import io.pgtrickle.operator.testing.StreamTableAssertions;
import io.pgtrickle.operator.testing.TestDatabase;

/** Small builders shared by the engine tests. */
final class EngineTestSupport {
  static final String OWNER = "test/owner";

  private EngineTestSupport() {}

  static StreamTableEngine engine(TestDatabase db) throws EngineException {
    StreamTableEngine engine = new StreamTableEngine(db.dataSource());
    engine.migrateCatalog();
    return engine;
  }

  static StreamTableEngine engine(TestDatabase db, Refresher.StepHook hook) throws EngineException {
    return engine(db, hook, java.util.Optional.empty());
  }

  /**
   * An engine on a real Citus coordinator: workers reached as the superuser of the test servers.
   */
  static StreamTableEngine citusEngine(TestDatabase db) throws EngineException {
    return citusEngine(db, Refresher.StepHook.NONE);
  }

  /** As above, with a hook at each step of a refresh. */
  static StreamTableEngine citusEngine(TestDatabase db, Refresher.StepHook hook)
      throws EngineException {
    return citusEngine(db, hook, java.util.Map.of());
  }

  /** As above, nodes named "host:port" in pg_dist_node reached at {@code endpoints}' addresses. */
  static StreamTableEngine citusEngine(TestDatabase db, java.util.Map<String, String> endpoints)
      throws EngineException {
    return citusEngine(db, Refresher.StepHook.NONE, endpoints);
  }

  private static StreamTableEngine citusEngine(
      TestDatabase db, Refresher.StepHook hook, java.util.Map<String, String> endpoints)
      throws EngineException {
    StreamTableEngine engine =
        new StreamTableEngine(
            db.dataSource(),
            new CitusTopology(),
            new FullRefresh(),
            NodeConnector.withCredentials(
                db.dataSource(),
                io.pgtrickle.operator.embedded.PostgresServer.SUPERUSER,
                null,
                endpoints),
            hook,
            java.util.Optional.empty());
    engine.migrateCatalog();
    return engine;
  }

  /** An engine whose query views are owned by {@code queryRole}. */
  static StreamTableEngine engine(TestDatabase db, String queryRole) throws EngineException {
    return engine(db, Refresher.StepHook.NONE, java.util.Optional.of(queryRole));
  }

  private static StreamTableEngine engine(
      TestDatabase db, Refresher.StepHook hook, java.util.Optional<String> queryRole)
      throws EngineException {
    StreamTableEngine engine =
        new StreamTableEngine(
            db.dataSource(),
            new CitusTopology(),
            new FullRefresh(),
            NodeConnector.localOnly(db.dataSource()),
            hook,
            queryRole);
    engine.migrateCatalog();
    return engine;
  }

  /**
   * Refreshes {@code public.<name>} until it equals {@code query}, within 10 s: WAL changes reach
   * the buffer only once flushed and decoded.
   */
  static void refreshUntilExact(
      StreamTableEngine engine, TestDatabase db, String name, String query) throws Exception {
    long deadline = System.nanoTime() + 10_000_000_000L;
    engine.refresh("public", name);
    while (StreamTableAssertions.differences(db, name, query) != 0) {
      org.assertj.core.api.Assertions.assertThat(System.nanoTime())
          .as("%s not equal to its query within 10 s", name)
          .isLessThan(deadline);
      Thread.sleep(20);
      engine.refresh("public", name);
    }
  }

  static StreamTableDefinition definition(String name, String query) throws EngineException {
    StreamTableSpec spec = new StreamTableSpec();
    spec.setName(name);
    spec.setQuery(query);
    spec.setSchedule("1s");
    return StreamTableDefinition.from(spec);
  }

  static StreamTableSpec spec(String name, String query) {
    StreamTableSpec spec = new StreamTableSpec();
    spec.setName(name);
    spec.setQuery(query);
    spec.setSchedule("1s");
    return spec;
  }

  static StreamTableSpec differential(String name, String query) {
    StreamTableSpec spec = spec(name, query);
    spec.setRefreshMode(io.pgtrickle.operator.api.RefreshMode.DIFFERENTIAL);
    return spec;
  }

  static String lastMode(TestDatabase db, String name) throws Exception {
    return db.queryString(
        "SELECT last_refresh_mode FROM pgtrickle.pgt_stream_tables WHERE st_name = '" + name + "'");
  }

  static String lastReason(TestDatabase db, String name) throws Exception {
    return String.valueOf(
        db.queryString(
            "SELECT last_refresh_reason FROM pgtrickle.pgt_stream_tables WHERE st_name = '"
                + name
                + "'"));
  }

  /**
   * Runs each batch of statements, refreshes {@code public.<name>} and checks it equals {@code
   * query}, and that a refresh that applied changes ran DIFFERENTIAL.
   */
  static void refreshEachBatchDifferentially(
      StreamTableEngine engine, TestDatabase db, String name, String query, String[][] batches)
      throws Exception {
    for (String[] batch : batches) {
      db.execute(batch);
      RefreshOutcome outcome = engine.refresh("public", name);
      StreamTableAssertions.assertMatchesQuery(db, name, query);
      if (outcome.kind() == RefreshOutcome.Kind.APPLIED) {
        org.assertj.core.api.Assertions.assertThat(lastMode(db, name))
            .as(lastReason(db, name))
            .isEqualTo("DIFFERENTIAL");
      }
    }
  }

  /**
   * As {@link #refreshEachBatchDifferentially}, over WAL-captured sources: refreshes each batch
   * until the table equals {@code query} (its changes reach the buffer once decoded), then checks
   * the last refresh ran DIFFERENTIAL.
   */
  static void refreshEachBatchUntilExactDifferentially(
      StreamTableEngine engine, TestDatabase db, String name, String query, String[][] batches)
      throws Exception {
    for (String[] batch : batches) {
      db.execute(batch);
      refreshUntilExact(engine, db, name, query);
      org.assertj.core.api.Assertions.assertThat(lastMode(db, name))
          .as(lastReason(db, name))
          .isEqualTo("DIFFERENTIAL");
    }
  }
}
