package io.pgtrickle.operator.engine;

import io.pgtrickle.operator.capture.NodeConnector;
import io.pgtrickle.operator.embedded.PostgresServer;
import io.pgtrickle.operator.engine.refresh.FullRefresh;
import io.pgtrickle.operator.naming.ObjectNames;
import io.pgtrickle.operator.naming.QualifiedTable;
import io.pgtrickle.operator.testing.ScriptedTopology;
import io.pgtrickle.operator.testing.TestDatabase;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A coordinator and plain PostgreSQL "workers" with an {@code orders} table that the test's
 * topology calls distributed (test (a) of the Citus issue). The coordinator's table stands for the
 * logical table a Citus query reads; {@link #write} puts a row there and on the worker holding its
 * shard, whose slot captures it.
 */
final class ScriptedCluster {
  private static final AtomicInteger DATABASES = new AtomicInteger();

  final TestDatabase coordinator;
  final List<TestDatabase> workers = new ArrayList<>();
  final ScriptedTopology topology;
  final StreamTableEngine engine;
  final ObjectNames orders;

  ScriptedCluster(PostgresServer coordinatorServer, List<PostgresServer> workerServers)
      throws SQLException, EngineException {
    this(coordinatorServer, workerServers, Refresher.StepHook.NONE);
  }

  /** With {@code hook} called at each step of the engine's refreshes. */
  ScriptedCluster(
      PostgresServer coordinatorServer, List<PostgresServer> workerServers, Refresher.StepHook hook)
      throws SQLException, EngineException {
    String database = "scripted_" + DATABASES.incrementAndGet();
    coordinator = create(coordinatorServer, database);
    for (PostgresServer server : workerServers) {
      TestDatabase worker = create(server, database);
      worker.execute(
          "CREATE TABLE orders (id int PRIMARY KEY, amount int)",
          "ALTER TABLE orders REPLICA IDENTITY FULL",
          // what the preflight asks of a Citus node; a placeholder setting on plain PostgreSQL
          "ALTER DATABASE " + database + " SET citus.enable_change_data_capture = on");
      workers.add(worker);
    }
    coordinator.execute(
        "CREATE TABLE orders (id int PRIMARY KEY, amount int)",
        "ALTER TABLE orders REPLICA IDENTITY FULL");
    topology = new ScriptedTopology(workerServers, "orders");
    engine =
        new StreamTableEngine(
            coordinator.dataSource(),
            topology,
            new FullRefresh(),
            NodeConnector.withCredentials(
                coordinator.dataSource(), PostgresServer.SUPERUSER, null, Map.of()),
            hook,
            java.util.Optional.empty());
    engine.migrateCatalog();
    orders = ObjectNames.of(new QualifiedTable(database, "public", "orders"));
  }

  /**
   * Servers 0 (coordinator), 1 and 2 (workers) of the shared embedded ones, with shard {@code 101 +
   * i} placed on {@code nodes[i]}.
   */
  static ScriptedCluster ofTwoWorkers(int... nodes) throws SQLException, EngineException {
    return ofTwoWorkers(Refresher.StepHook.NONE, nodes);
  }

  /** As {@link #ofTwoWorkers(int...)}, the engine calling {@code hook} at each refresh step. */
  static ScriptedCluster ofTwoWorkers(Refresher.StepHook hook, int... nodes)
      throws SQLException, EngineException {
    ScriptedCluster cluster =
        new ScriptedCluster(
            io.pgtrickle.operator.testing.TestPostgres.server(0),
            List.of(
                io.pgtrickle.operator.testing.TestPostgres.server(1),
                io.pgtrickle.operator.testing.TestPostgres.server(2)),
            hook);
    for (int i = 0; i < nodes.length; i++) {
      cluster.topology.place(101 + i, nodes[i]);
    }
    return cluster;
  }

  /**
   * Rows 1..40 of {@code orders}, odd ids on worker 2 and even ones on worker 1, and a coordinator
   * table {@code buckets} (b 0..4, label 'b' || b) to join them with.
   */
  void seedOrdersAndBuckets() throws SQLException {
    for (int id = 1; id <= 40; id++) {
      write(1 + id % 2, id, id * 3);
    }
    coordinator.execute(
        "CREATE TABLE buckets (b int PRIMARY KEY, label text)",
        "INSERT INTO buckets SELECT g, 'b' || g FROM generate_series(0, 4) g");
  }

  /** Drops every stream table of the engine, then what slots the workers still hold. */
  void dropEverything() throws Exception {
    for (StreamTableRecord st : engine.list()) {
      engine.drop(st.schema(), st.name(), EngineTestSupport.OWNER);
    }
    dropWorkerSlots();
  }

  /** A stream table in local storage: auto would distribute it, which needs Citus. */
  static StreamTableDefinition localDefinition(
      String name, String query, io.pgtrickle.operator.api.RefreshMode mode)
      throws EngineException {
    io.pgtrickle.operator.api.StreamTableSpec spec = EngineTestSupport.spec(name, query);
    spec.setPlacement(io.pgtrickle.operator.api.PlacementMode.LOCAL);
    spec.setRefreshMode(mode);
    return StreamTableDefinition.from(spec);
  }

  /** The mode the last refresh of stream table {@code name} ran. */
  String lastMode(String name) throws SQLException {
    return coordinator.queryString(
        "SELECT last_refresh_mode FROM pgtrickle.pgt_stream_tables WHERE st_name = '" + name + "'");
  }

  /** A row written to the logical table (coordinator) and to the worker holding its shard. */
  void write(int node, int id, int amount) throws SQLException {
    String insert = "INSERT INTO orders VALUES (" + id + ", " + amount + ")";
    coordinator.execute(insert);
    workers.get(node - 1).execute("SET synchronous_commit = on", insert);
  }

  /** A statement run on the logical table (coordinator) and on worker {@code node}'s shard. */
  void run(int node, String sql) throws SQLException {
    coordinator.execute(sql);
    workers.get(node - 1).execute("SET synchronous_commit = on", sql);
  }

  /** Refreshes until a refresh applies (WAL becomes decodable once flushed). */
  void awaitApplied(String streamTable) throws Exception {
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (engine.refresh("public", streamTable).kind() != RefreshOutcome.Kind.APPLIED) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("no refresh of " + streamTable + " applied within 10 s");
      }
      Thread.sleep(20);
    }
  }

  long slots(TestDatabase node) throws SQLException {
    return node.queryLong(
        "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '"
            + orders.replicationSlot()
            + "'");
  }

  String frontierPerNode() throws SQLException {
    return coordinator.queryString(
        "SELECT frontier_per_node::text FROM pgtrickle.pgt_change_tracking"
            + " WHERE source_stable_name = '"
            + orders.stableName().value()
            + "'");
  }

  /** Drops the slots the engine left on the workers (e.g. after a test failed midway). */
  void dropWorkerSlots() throws SQLException {
    for (TestDatabase worker : workers) {
      worker.execute(
          "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots"
              + " WHERE database = current_database()");
    }
  }

  private static TestDatabase create(PostgresServer server, String database) throws SQLException {
    server.createDatabase(database);
    return new TestDatabase(server, database);
  }
}
