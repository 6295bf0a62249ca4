package io.pgtrickle.operator.engine;

import static io.pgtrickle.operator.engine.EngineTestSupport.OWNER;
import static io.pgtrickle.operator.engine.EngineTestSupport.spec;
import static io.pgtrickle.operator.testing.CitusTestCluster.slots;
import static io.pgtrickle.operator.testing.CitusTestCluster.sourceNames;
import static io.pgtrickle.operator.testing.StreamTableAssertions.assertMatchesQuery;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgtrickle.operator.api.PlacementMode;
import io.pgtrickle.operator.api.StreamTableSpec;
import io.pgtrickle.operator.embedded.PostgresServer;
import io.pgtrickle.operator.naming.ObjectNames;
import io.pgtrickle.operator.testing.CitusTestCluster;
import io.pgtrickle.operator.testing.RequiresCitus;
import io.pgtrickle.operator.testing.StreamTableAssertions;
import io.pgtrickle.operator.testing.TestDatabase;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * Test (b) of the Citus issue on a real coordinator and two workers: a distributed, a reference and
 * a local source, and a stream table joining them, kept equal to its query while both workers take
 * writes; slots and publications named from the stable name on each node, gone after drop.
 */
@RequiresCitus
class CitusStreamTableIT {
  private static final String QUERY =
      "SELECT r.name AS region, l.label, count(o.id) AS orders, coalesce(sum(o.amount), 0) AS total"
          + " FROM cst_orders o JOIN cst_regions r ON r.id = o.region_id"
          + " JOIN cst_labels l ON l.id = o.tenant_id % 3"
          + " GROUP BY r.name, l.label";

  @Test
  void aStreamTableOverDistributedReferenceAndLocalSourcesStaysEqualToItsQuery() throws Exception {
    CitusTestCluster cluster = CitusTestCluster.shared();
    PostgresServer coordinator = cluster.coordinator();
    TestDatabase db = new TestDatabase(coordinator, CitusTestCluster.DATABASE);
    cluster.onCoordinator(
        "DROP TABLE IF EXISTS cst_orders, cst_regions, cst_labels, cst_summary CASCADE",
        "CREATE TABLE cst_regions (id int PRIMARY KEY, name text)",
        "SELECT create_reference_table('cst_regions')",
        "CREATE TABLE cst_labels (id int PRIMARY KEY, label text)",
        "CREATE TABLE cst_orders (tenant_id int, id int, region_id int, amount numeric,"
            + " PRIMARY KEY (tenant_id, id))",
        "SELECT create_distributed_table('cst_orders', 'tenant_id')",
        "ALTER TABLE cst_orders REPLICA IDENTITY FULL",
        "ALTER TABLE cst_regions REPLICA IDENTITY FULL",
        "INSERT INTO cst_regions VALUES (1, 'emea'), (2, 'amer')",
        "INSERT INTO cst_labels VALUES (0, 'zero'), (1, 'one'), (2, 'two')",
        "INSERT INTO cst_orders SELECT g, g, 1 + g % 2, g FROM generate_series(1, 200) g");
    StreamTableEngine engine = EngineTestSupport.citusEngine(db);
    engine.apply(StreamTableDefinition.from(spec("cst_summary", QUERY)), OWNER);
    assertMatchesQuery(db, "cst_summary", QUERY);

    ObjectNames orders = sourceNames("cst_orders");
    ObjectNames regions = sourceNames("cst_regions");
    for (PostgresServer worker : cluster.workers()) {
      TestDatabase node = new TestDatabase(worker, CitusTestCluster.DATABASE);
      assertThat(slots(node, orders)).as("distributed source slot on worker").isEqualTo(1);
      assertThat(slots(node, regions)).as("reference source slot only on the coordinator").isZero();
    }
    assertThat(slots(db, regions)).isEqualTo(1);
    assertThat(slots(db, orders)).as("the coordinator's slot, for TRUNCATE").isEqualTo(1);
    StreamTableReport report = engine.report("public", "cst_summary");
    assertThat(report.sources())
        .filteredOn(s -> s.table().equals("public.cst_orders"))
        .singleElement()
        .satisfies(
            s ->
                assertThat(s.nodes())
                    .as("both workers and the coordinator")
                    .hasSize(3)
                    .allSatisfy(n -> assertThat(n.nodeId()).isPositive())
                    .anySatisfy(n -> assertThat(n.node()).endsWith(":" + coordinator.port())));

    // Concurrent writes routed to both workers while refreshing.
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      List<Future<?>> writers = new ArrayList<>();
      for (int w = 0; w < 2; w++) {
        int offset = 1000 + w * 1000;
        writers.add(
            pool.submit(
                () -> {
                  for (int i = 0; i < 50; i++) {
                    db.execute(
                        "INSERT INTO cst_orders VALUES ("
                            + (offset + i)
                            + ", "
                            + i
                            + ", 1 + "
                            + i
                            + " % 2, "
                            + i
                            + ")");
                  }
                  db.execute(
                      "UPDATE cst_orders SET amount = amount + 1 WHERE tenant_id % 7 = "
                          + (offset / 1000));
                  return null;
                }));
      }
      for (int i = 0; i < 5; i++) {
        engine.refresh("public", "cst_summary");
      }
      for (Future<?> writer : writers) {
        writer.get();
      }
    } finally {
      pool.shutdownNow();
    }
    db.execute(
        "UPDATE cst_regions SET name = 'europe' WHERE id = 1",
        "DELETE FROM cst_orders WHERE tenant_id < 20");
    refreshUntilEqual(engine, db);

    engine.drop("public", "cst_summary", OWNER);
    for (PostgresServer server :
        List.of(coordinator, cluster.workers().get(0), cluster.workers().get(1))) {
      TestDatabase node = new TestDatabase(server, CitusTestCluster.DATABASE);
      assertThat(slots(node, orders) + slots(node, regions)).isZero();
      assertThat(
              node.queryLong(
                  "SELECT count(*) FROM pg_publication WHERE pubname LIKE 'pgtrickle_pub_%'"))
          .isZero();
    }
  }

  /**
   * TRUNCATE of a distributed table reaches the workers' slots only under shard names, which the
   * publication does not list, so they drop it; the coordinator's slot sees the truncate of the
   * table's shell. Without it the stream tables stayed as they were, refreshes saying no changes.
   */
  @Test
  void aTruncatedDistributedSourceIsResyncedOnce() throws Exception {
    CitusTestCluster cluster = CitusTestCluster.shared();
    PostgresServer coordinator = cluster.coordinator();
    TestDatabase db = new TestDatabase(coordinator, CitusTestCluster.DATABASE);
    cluster.onCoordinator(
        "DROP TABLE IF EXISTS cst_trunc, cst_trunc_kinds, cst_trunc_totals, cst_trunc_named"
            + " CASCADE",
        "CREATE TABLE cst_trunc_kinds (id int PRIMARY KEY, name text)",
        "SELECT create_reference_table('cst_trunc_kinds')",
        "CREATE TABLE cst_trunc (tenant int, id int, kind int, amount int,"
            + " PRIMARY KEY (tenant, id))",
        "SELECT create_distributed_table('cst_trunc', 'tenant', shard_count := 4)",
        "ALTER TABLE cst_trunc REPLICA IDENTITY FULL",
        "ALTER TABLE cst_trunc_kinds REPLICA IDENTITY FULL",
        "INSERT INTO cst_trunc_kinds VALUES (0, 'zero'), (1, 'one')",
        "INSERT INTO cst_trunc SELECT g, g, g % 2, g FROM generate_series(1, 40) g");
    String totals =
        "SELECT tenant % 3 AS bucket, count(*) AS n, sum(amount) AS total"
            + " FROM cst_trunc GROUP BY 1";
    String named =
        "SELECT k.name, count(*) AS n, sum(t.amount) AS total FROM cst_trunc t"
            + " JOIN cst_trunc_kinds k ON k.id = t.kind GROUP BY k.name";
    Map<String, String> streamTables = Map.of("cst_trunc_totals", totals, "cst_trunc_named", named);
    StreamTableEngine engine = EngineTestSupport.citusEngine(db);
    ObjectNames source = sourceNames("cst_trunc");
    try {
      for (Map.Entry<String, String> st : streamTables.entrySet()) {
        engine.apply(StreamTableDefinition.from(spec(st.getKey(), st.getValue())), OWNER);
        assertMatchesQuery(db, st.getKey(), st.getValue());
      }

      // TRUNCATE alone: every row goes, on both workers.
      db.execute("TRUNCATE cst_trunc");
      assertAppliedOnceAndEqual(engine, db, streamTables);
      assertThat(slots(db, source)).as("a slot on the coordinator for TRUNCATE").isEqualTo(1);

      // Rows again, then TRUNCATE followed by new rows (on both workers) before any refresh.
      db.execute("INSERT INTO cst_trunc SELECT g, g, g % 2, g FROM generate_series(1, 30) g");
      assertAppliedOnceAndEqual(engine, db, streamTables);
      db.execute(
          "TRUNCATE cst_trunc",
          "INSERT INTO cst_trunc SELECT g, g, g % 2, 2 * g FROM generate_series(5, 25) g");
      assertAppliedOnceAndEqual(engine, db, streamTables);

      // In one transaction: rows, TRUNCATE, rows.
      db.execute(
          "BEGIN; INSERT INTO cst_trunc VALUES (100, 1, 1, 7);"
              + " TRUNCATE cst_trunc;"
              + " INSERT INTO cst_trunc VALUES (101, 1, 0, 3), (102, 2, 1, 4); COMMIT");
      assertAppliedOnceAndEqual(engine, db, streamTables);
      // Issued on a worker (Citus syncs the metadata there): that worker truncates its own copy of
      // the shell, not the coordinator's, and its slot, which the worker has for holding shards,
      // emits that (seen on Citus 13.2.2).
      db.execute("INSERT INTO cst_trunc SELECT g, g, g % 2, g FROM generate_series(1, 30) g");
      assertAppliedOnceAndEqual(engine, db, streamTables);
      new TestDatabase(cluster.workers().get(0), CitusTestCluster.DATABASE)
          .execute("TRUNCATE cst_trunc");
      assertThat(db.queryLong("SELECT count(*) FROM cst_trunc")).isZero();
      assertAppliedOnceAndEqual(engine, db, streamTables);
      assertThat(engine.report("public", "cst_trunc_totals").sources())
          .singleElement()
          .satisfies(
              s ->
                  assertThat(s.topologyChange())
                      .as("the coordinator's slot is no topology change")
                      .isEmpty());
    } finally {
      for (String st : streamTables.keySet()) {
        engine.drop("public", st, OWNER);
      }
    }
    for (PostgresServer server :
        List.of(coordinator, cluster.workers().get(0), cluster.workers().get(1))) {
      assertThat(slots(new TestDatabase(server, CitusTestCluster.DATABASE), source))
          .as("slots dropped with the last stream table")
          .isZero();
    }
  }

  /**
   * Refreshes each stream table until it equals its query (WAL is decodable once flushed); the
   * first refresh must apply, and once equal the next finds nothing (the TRUNCATE applied once).
   */
  private static void assertAppliedOnceAndEqual(
      StreamTableEngine engine, TestDatabase db, Map<String, String> streamTables)
      throws Exception {
    for (Map.Entry<String, String> st : streamTables.entrySet()) {
      refreshUntilEqual(engine, db, st.getKey(), st.getValue());
      assertThat(engine.refresh("public", st.getKey()).kind())
          .as(st.getKey() + ": nothing left to apply")
          .isEqualTo(RefreshOutcome.Kind.NO_CHANGES);
      assertMatchesQuery(db, st.getKey(), st.getValue());
    }
  }

  @Test
  void aShardMovedByCitusIsNoticedAndTheStreamTableResynced() throws Exception {
    CitusTestCluster cluster = CitusTestCluster.shared();
    TestDatabase db = new TestDatabase(cluster.coordinator(), CitusTestCluster.DATABASE);
    cluster.onCoordinator(
        "DROP TABLE IF EXISTS cst_moved, cst_moved_totals CASCADE",
        "CREATE TABLE cst_moved (id int PRIMARY KEY, amount int)",
        "SELECT create_distributed_table('cst_moved', 'id', shard_count := 4)",
        "ALTER TABLE cst_moved REPLICA IDENTITY FULL",
        "INSERT INTO cst_moved SELECT g, g FROM generate_series(1, 100) g");
    String query = "SELECT id % 5 AS k, sum(amount) AS total FROM cst_moved GROUP BY 1";
    StreamTableEngine engine = EngineTestSupport.citusEngine(db);
    engine.apply(StreamTableDefinition.from(spec("cst_moved_totals", query)), OWNER);
    try {
      cluster.moveOneShard("cst_moved");
      db.execute("UPDATE cst_moved SET amount = amount * 2 WHERE id <= 50");

      refreshUntilEqual(engine, db, "cst_moved_totals", query);
      StreamTableReport report = engine.report("public", "cst_moved_totals");
      assertThat(report.sources())
          .singleElement()
          .satisfies(
              s ->
                  assertThat(s.topologyChange())
                      .hasValueSatisfying(
                          c -> assertThat(c.description()).contains("moved from node")));
    } finally {
      engine.drop("public", "cst_moved_totals", OWNER);
    }
  }

  @Test
  void aDistributedSourceUndistributedUnderCaptureFailsTheRefreshInsteadOfLosingWrites()
      throws Exception {
    CitusTestCluster cluster = CitusTestCluster.shared();
    TestDatabase db = new TestDatabase(cluster.coordinator(), CitusTestCluster.DATABASE);
    cluster.onCoordinator(
        "DROP TABLE IF EXISTS cst_undist, cst_undist_totals CASCADE",
        "CREATE TABLE cst_undist (id int PRIMARY KEY, amount int)",
        "SELECT create_distributed_table('cst_undist', 'id', shard_count := 4)",
        "ALTER TABLE cst_undist REPLICA IDENTITY FULL",
        "INSERT INTO cst_undist SELECT g, g FROM generate_series(1, 100) g");
    String query = "SELECT id % 5 AS k, sum(amount) AS total FROM cst_undist GROUP BY 1";
    StreamTableEngine engine = EngineTestSupport.citusEngine(db);
    engine.apply(StreamTableDefinition.from(spec("cst_undist_totals", query)), OWNER);
    try {
      // Its changes now reach only the coordinator's slot, read for a distributed table's
      // TRUNCATEs alone: applying nothing would be a silent loss.
      cluster.onCoordinator("SELECT undistribute_table('cst_undist')");
      db.execute("UPDATE cst_undist SET amount = amount * 2 WHERE id <= 50");
      assertThatThrownBy(() -> engine.refresh("public", "cst_undist_totals"))
          .isInstanceOfSatisfying(
              EngineException.class,
              e -> {
                assertThat(e.reason()).isEqualTo(Reason.NotSupported);
                assertThat(e.getMessage()).contains("was captured as a distributed");
              });
    } finally {
      engine.drop("public", "cst_undist_totals", OWNER);
    }
    assertNoCaptureLeft(cluster, sourceNames("cst_undist"));
  }

  /**
   * The workers that held an undistributed source's slots are named nowhere but in pg_dist_node
   * once a failover (a new timeline) has made the engine forget the recorded topology: every
   * refresh of the source fails before it is recorded again. Deletion must still wait for them.
   */
  @Test
  void deletingAStreamTableOverAnUndistributedSourceWaitsForItsWorkersAndLeavesNoSlot()
      throws Exception {
    CitusTestCluster cluster = CitusTestCluster.shared();
    TestDatabase db = new TestDatabase(cluster.coordinator(), CitusTestCluster.DATABASE);
    cluster.onCoordinator(
        "DROP TABLE IF EXISTS cst_undrop, cst_undrop_totals CASCADE",
        "CREATE TABLE cst_undrop (id int PRIMARY KEY, amount int)",
        "SELECT create_distributed_table('cst_undrop', 'id', shard_count := 4)",
        "ALTER TABLE cst_undrop REPLICA IDENTITY FULL",
        "INSERT INTO cst_undrop SELECT g, g FROM generate_series(1, 100) g");
    String query = "SELECT id % 5 AS k, sum(amount) AS total FROM cst_undrop GROUP BY 1";
    StreamTableEngine engine = EngineTestSupport.citusEngine(db);
    engine.apply(StreamTableDefinition.from(spec("cst_undrop_totals", query)), OWNER);
    ObjectNames names = sourceNames("cst_undrop");
    TestDatabase firstWorker =
        new TestDatabase(cluster.workers().get(0), CitusTestCluster.DATABASE);
    try {
      cluster.onCoordinator("SELECT undistribute_table('cst_undrop')");
      db.execute("UPDATE pgtrickle.pgt_server SET server = 'another/1'");
      assertThatThrownBy(() -> engine.refresh("public", "cst_undrop_totals"))
          .isInstanceOfSatisfying(
              EngineException.class, e -> assertThat(e.reason()).isEqualTo(Reason.NotSupported));

      // The first worker out of the engine's reach: its endpoint overridden by a closed port.
      String workerName = "127.0.0.1:" + cluster.workers().get(0).port();
      StreamTableEngine cutOff =
          EngineTestSupport.citusEngine(db, Map.of(workerName, "127.0.0.1:1"));
      assertThatThrownBy(() -> cutOff.drop("public", "cst_undrop_totals", OWNER))
          .isInstanceOfSatisfying(
              EngineException.class,
              e -> assertThat(e.reason()).isEqualTo(Reason.ClusterUnavailable))
          .hasMessageContaining(workerName)
          .hasMessageContaining("drop replication slot " + names.replicationSlot());
      assertThat(slots(firstWorker, names)).as("nothing dropped while it is out of reach").isOne();
      assertThat(engine.list()).extracting(StreamTableRecord::name).contains("cst_undrop_totals");
    } finally {
      engine.drop("public", "cst_undrop_totals", OWNER);
    }
    assertNoCaptureLeft(cluster, names);
  }

  /** No slot or publication of the source on the coordinator or either worker. */
  private static void assertNoCaptureLeft(CitusTestCluster cluster, ObjectNames names)
      throws Exception {
    List<PostgresServer> nodes = new ArrayList<>(List.of(cluster.coordinator()));
    nodes.addAll(cluster.workers());
    for (PostgresServer server : nodes) {
      TestDatabase node = new TestDatabase(server, CitusTestCluster.DATABASE);
      assertThat(slots(node, names)).as("slot left on port %d", server.port()).isZero();
      assertThat(
              node.queryLong(
                  "SELECT count(*) FROM pg_publication WHERE pubname = '"
                      + names.publication()
                      + "'"))
          .as("publication left on port %d", server.port())
          .isZero();
    }
  }

  @Test
  void storageIsPlacedAsAskedAndKeptEqualByRowId() throws Exception {
    CitusTestCluster cluster = CitusTestCluster.shared();
    TestDatabase db = new TestDatabase(cluster.coordinator(), CitusTestCluster.DATABASE);
    cluster.onCoordinator(
        "DROP TABLE IF EXISTS cst_events, cst_kinds, cst_buckets, cst_kind_totals CASCADE",
        "CREATE TABLE cst_kinds (id int PRIMARY KEY, name text)",
        "SELECT create_reference_table('cst_kinds')",
        "CREATE TABLE cst_events (tenant int, id int, kind int, amount int,"
            + " PRIMARY KEY (tenant, id))",
        "SELECT create_distributed_table('cst_events', 'tenant')",
        "ALTER TABLE cst_events REPLICA IDENTITY FULL",
        "ALTER TABLE cst_kinds REPLICA IDENTITY FULL",
        "INSERT INTO cst_kinds VALUES (0, 'zero'), (1, 'one')",
        "INSERT INTO cst_events SELECT g, g, g % 2, g % 4 FROM generate_series(1, 60) g");
    // Duplicate rows on purpose: storage is a multiset.
    String buckets = "SELECT tenant % 3 AS bucket, amount FROM cst_events";
    String kinds =
        "SELECT k.name, count(*) AS n FROM cst_events e JOIN cst_kinds k ON k.id = e.kind"
            + " GROUP BY k.name";
    StreamTableEngine engine = EngineTestSupport.citusEngine(db);
    engine.apply(StreamTableDefinition.from(spec("cst_buckets", buckets)), OWNER);
    StreamTableSpec reference = spec("cst_kind_totals", kinds);
    reference.setPlacement(PlacementMode.REFERENCE);
    engine.apply(StreamTableDefinition.from(reference), OWNER);
    try {
      assertThat(partitioning(db, "cst_buckets"))
          .as("auto: every source distributed, so the storage is distributed on its row id")
          .isEqualTo("h pgt_row_id");
      assertThat(partitioning(db, "cst_kind_totals")).isEqualTo("n t");
      assertThat(engine.report("public", "cst_buckets").placement()).isEqualTo("distributed");
      assertMatchesQuery(db, "cst_buckets", buckets);
      assertMatchesQuery(db, "cst_kind_totals", kinds);

      db.execute(
          "INSERT INTO cst_events SELECT g, g, g % 2, g % 4 FROM generate_series(61, 90) g",
          "UPDATE cst_events SET amount = amount + 1 WHERE tenant % 5 = 0",
          "DELETE FROM cst_events WHERE tenant < 10",
          "UPDATE cst_kinds SET name = 'uno' WHERE id = 1");
      refreshUntilEqual(engine, db, "cst_buckets", buckets);
      refreshUntilEqual(engine, db, "cst_kind_totals", kinds);

      // Asking for local storage rebuilds the table as a plain coordinator table.
      StreamTableSpec local = spec("cst_buckets", buckets);
      local.setPlacement(PlacementMode.LOCAL);
      assertThat(engine.apply(StreamTableDefinition.from(local), OWNER))
          .isEqualTo(StreamTableEngine.ApplyResult.REBUILT);
      assertThat(partitioning(db, "cst_buckets")).isEmpty();
      assertMatchesQuery(db, "cst_buckets", buckets);
    } finally {
      engine.drop("public", "cst_buckets", OWNER);
      engine.drop("public", "cst_kind_totals", OWNER);
    }
  }

  /** "partmethod repmodel-or-column" of a Citus table, empty for a plain table. */
  @Test
  void aDistributedSourceDroppedAndRecreatedIsSourceMissingThenResynced() throws Exception {
    CitusTestCluster cluster = CitusTestCluster.shared();
    TestDatabase db = new TestDatabase(cluster.coordinator(), CitusTestCluster.DATABASE);
    String query = "SELECT tenant_id, sum(amount) AS total FROM cst_gone GROUP BY tenant_id";
    String[] create = {
      "CREATE TABLE cst_gone (tenant_id int, id int, amount numeric, PRIMARY KEY (tenant_id, id))",
      "SELECT create_distributed_table('cst_gone', 'tenant_id')",
      "ALTER TABLE cst_gone REPLICA IDENTITY FULL",
    };
    cluster.onCoordinator("DROP TABLE IF EXISTS cst_gone, cst_gone_totals CASCADE");
    cluster.onCoordinator(create);
    db.execute("INSERT INTO cst_gone SELECT g, g, g FROM generate_series(1, 50) g");
    StreamTableEngine engine = EngineTestSupport.citusEngine(db);
    engine.apply(StreamTableDefinition.from(spec("cst_gone_totals", query)), OWNER);
    assertMatchesQuery(db, "cst_gone_totals", query);

    cluster.onCoordinator("DROP TABLE cst_gone CASCADE");
    assertThatThrownBy(() -> engine.refresh("public", "cst_gone_totals"))
        .isInstanceOfSatisfying(
            EngineException.class, e -> assertThat(e.reason()).isEqualTo(Reason.SourceMissing))
        .hasMessageContaining("cst_gone");

    cluster.onCoordinator(create);
    db.execute("INSERT INTO cst_gone SELECT g, g, 2 * g FROM generate_series(1, 20) g");
    refreshUntilEqual(engine, db, "cst_gone_totals", query);
    db.execute("INSERT INTO cst_gone VALUES (7, 700, 1), (40, 400, 1)"); // on both workers
    refreshUntilEqual(engine, db, "cst_gone_totals", query);
    engine.drop("public", "cst_gone_totals", OWNER);
  }

  private static String partitioning(TestDatabase db, String table) throws Exception {
    return db.queryString(
        "SELECT coalesce((SELECT partmethod::text || ' ' || CASE WHEN partkey IS NULL"
            + " THEN repmodel::text ELSE column_to_column_name(logicalrelid, partkey) END"
            + " FROM pg_dist_partition WHERE logicalrelid = '"
            + table
            + "'::regclass), '')");
  }

  /** WAL written with synchronous_commit off is decodable once flushed: refresh until it shows. */
  private static void refreshUntilEqual(StreamTableEngine engine, TestDatabase db)
      throws Exception {
    refreshUntilEqual(engine, db, "cst_summary", QUERY);
  }

  private static void refreshUntilEqual(
      StreamTableEngine engine, TestDatabase db, String table, String query) throws Exception {
    long deadline = System.nanoTime() + 20_000_000_000L;
    while (true) {
      engine.refresh("public", table);
      long differences = StreamTableAssertions.differences(db, table, query);
      if (differences == 0) {
        return;
      }
      assertThat(System.nanoTime())
          .as("stream table not equal to its query within 20 s")
          .isLessThan(deadline);
      Thread.sleep(100);
    }
  }
}
