package io.pgtrickle.operator.engine;

import static io.pgtrickle.operator.engine.EngineTestSupport.OWNER;
import static io.pgtrickle.operator.testing.StreamTableAssertions.assertMatchesQuery;
import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Condition;
import io.pgtrickle.operator.api.PlacementMode;
import io.pgtrickle.operator.api.StreamTableSpec;
import io.pgtrickle.operator.embedded.PostgresServer;
import io.pgtrickle.operator.engine.refresh.FullRefresh;
import io.pgtrickle.operator.naming.ObjectNames;
import io.pgtrickle.operator.naming.QualifiedTable;
import io.pgtrickle.operator.status.Conditions;
import io.pgtrickle.operator.status.StreamTableStatuses;
import io.pgtrickle.operator.testing.ScriptedTopology;
import io.pgtrickle.operator.testing.TestDatabase;
import io.pgtrickle.operator.testing.TestPostgres;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A "distributed" source on two plain PostgreSQL workers whose shards the test moves (test (a)
 * style: the topology is supplied by the test). The coordinator's table stands for the logical
 * table a Citus query reads; each write goes to it and to the worker holding the row's shard.
 * Writes that reach a node without a slot bypass capture, as they do when the rebalancer moves a
 * shard: only the topology check can notice, and it must re-sync in full.
 */
class TopologyChangeIT {
  private static final AtomicInteger DATABASES = new AtomicInteger();
  private static final String QUERY = "SELECT count(*) AS n, sum(amount) AS total FROM orders";

  private TestDatabase coordinator;
  private final List<TestDatabase> workers = new ArrayList<>();
  private ScriptedTopology topology;
  private StreamTableEngine engine;
  private ObjectNames names;

  @BeforeEach
  void setUp() throws Exception {
    String database = "topology_" + DATABASES.incrementAndGet();
    coordinator = create(0, database);
    for (int server = 1; server <= 2; server++) {
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
    topology =
        new ScriptedTopology(List.of(workers.get(0).server(), workers.get(1).server()), "orders");
    topology.place(101, 1);
    topology.place(102, 1);
    topology.place(103, 1);
    engine =
        new StreamTableEngine(
            coordinator.dataSource(),
            topology,
            new FullRefresh(),
            NodeConnector.withCredentials(
                coordinator.dataSource(), PostgresServer.SUPERUSER, null, Map.of()));
    engine.migrateCatalog();
    names = ObjectNames.of(new QualifiedTable(database, "public", "orders"));
  }

  @AfterEach
  void dropEverything() throws Exception {
    engine.drop("public", "order_totals", OWNER);
    for (TestDatabase worker : workers) {
      worker.execute(
          "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots"
              + " WHERE database = current_database()");
    }
  }

  @Test
  void aMovedShardAddsAndDropsSlotsAndResyncsInsteadOfMissingChanges() throws Exception {
    // Local storage: auto would distribute it (every source is distributed), which needs Citus.
    StreamTableSpec spec = EngineTestSupport.spec("order_totals", QUERY);
    spec.setPlacement(PlacementMode.LOCAL);
    engine.apply(StreamTableDefinition.from(spec), OWNER);
    assertThat(slots(workers.get(0))).isEqualTo(1);
    assertThat(slots(workers.get(1))).as("no shards, no slot").isZero();

    write(1, 1, 10);
    awaitApplied();
    assertMatchesQuery(coordinator, "order_totals", QUERY);
    assertThat(topologyCondition().getStatus()).isEqualTo("False");
    assertThat(engine.refresh("public", "order_totals").kind())
        .isEqualTo(RefreshOutcome.Kind.NO_CHANGES);

    // The rebalancer moves shard 102 to node 2, which had no slot: a write lands there unseen.
    topology.place(102, 2);
    write(2, 2, 20);
    assertThat(engine.refresh("public", "order_totals").kind())
        .as("the topology change forces a full re-sync though no slot saw the write")
        .isEqualTo(RefreshOutcome.Kind.APPLIED);
    assertMatchesQuery(coordinator, "order_totals", QUERY);
    assertThat(slots(workers.get(1))).as("a slot on the node that joined").isEqualTo(1);
    Condition changed = topologyCondition();
    assertThat(changed.getStatus()).isEqualTo("True");
    assertThat(changed.getReason()).isEqualTo("Resynced");
    assertThat(changed.getMessage())
        .contains("public.orders")
        .contains("(id 2) added")
        .contains("shard 102 moved from node 1 to node 2");

    // From now on node 2's changes arrive through its own slot (the coordinator's table is not
    // captured, so only that slot can make this refresh apply), with their own frontier.
    write(2, 3, 30);
    awaitApplied();
    assertMatchesQuery(coordinator, "order_totals", QUERY);
    assertThat(frontierNodes()).contains("\"2\"");

    // A shard moving between two nodes that both have slots: the same nodes, still a re-sync.
    topology.place(103, 2);
    assertThat(engine.refresh("public", "order_totals").kind())
        .isEqualTo(RefreshOutcome.Kind.APPLIED);
    assertThat(topologyCondition().getMessage())
        .startsWith("public.orders: shard 103 moved from node 1 to node 2 (detected");

    // Moved back: node 2 leaves the source, its slot and frontier go, and it is re-synced again.
    topology.place(102, 1);
    topology.place(103, 1);
    assertThat(engine.refresh("public", "order_totals").kind())
        .isEqualTo(RefreshOutcome.Kind.APPLIED);
    assertThat(slots(workers.get(1))).isZero();
    assertThat(frontierNodes()).doesNotContain("\"2\"");
    assertThat(topologyCondition().getMessage()).contains("(id 2) removed");
    assertThat(engine.refresh("public", "order_totals").kind())
        .as("an unchanged topology re-syncs nothing")
        .isEqualTo(RefreshOutcome.Kind.NO_CHANGES);
  }

  /** A row written to the logical table (coordinator) and to the worker holding its shard. */
  private void write(int node, int id, int amount) throws SQLException {
    String insert = "INSERT INTO orders VALUES (" + id + ", " + amount + ")";
    coordinator.execute(insert);
    workers.get(node - 1).execute("SET synchronous_commit = on", insert);
  }

  private void awaitApplied() throws Exception {
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (engine.refresh("public", "order_totals").kind() != RefreshOutcome.Kind.APPLIED) {
      assertThat(System.nanoTime()).as("no refresh applied within 10 s").isLessThan(deadline);
      Thread.sleep(20);
    }
  }

  private Condition topologyCondition() throws EngineException {
    StreamTableReport report = engine.report("public", "order_totals");
    return Conditions.find(
            StreamTableStatuses.ready(1, report, null, Instant.now()).getConditions(),
            StreamTableStatuses.TOPOLOGY_CHANGED)
        .orElseThrow();
  }

  private String frontierNodes() throws SQLException {
    return coordinator.queryString(
        "SELECT frontier_per_node::text FROM pgtrickle.pgt_change_tracking"
            + " WHERE source_stable_name = '"
            + names.stableName().value()
            + "'");
  }

  private long slots(TestDatabase node) throws SQLException {
    return node.queryLong(
        "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '"
            + names.replicationSlot()
            + "'");
  }

  private static TestDatabase create(int server, String database) throws SQLException {
    TestPostgres.server(server).createDatabase(database);
    return new TestDatabase(TestPostgres.server(server), database);
  }
}
