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
