package io.pgtrickle.operator.engine;

import static io.pgtrickle.operator.engine.EngineTestSupport.OWNER;
import static io.pgtrickle.operator.testing.StreamTableAssertions.assertMatchesQuery;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgtrickle.operator.api.PlacementMode;
import io.pgtrickle.operator.api.StreamTableSpec;
import io.pgtrickle.operator.testing.RestartablePostgresServer;
import io.pgtrickle.operator.testing.TestPostgres;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Test (a)'s node going down and coming back, on a server that is really stopped: the stream table
 * over its data fails with the node named, another stream table keeps refreshing, and once the node
 * is back its slot delivers what was written before it went down, once.
 */
class NodeDownIT {
  private static final String TOTALS = "SELECT count(*) AS n, sum(amount) AS total FROM orders";
  private static final String LOCAL = "SELECT count(*) AS n FROM notes";

  private RestartablePostgresServer worker;
  private ScriptedCluster cluster;

  @BeforeEach
  void setUp() throws Exception {
    worker = RestartablePostgresServer.start();
    cluster = new ScriptedCluster(TestPostgres.server(0), List.of(worker));
    cluster.topology.place(101, 1);
    cluster.coordinator.execute("CREATE TABLE notes (id int PRIMARY KEY)");
  }

  @AfterEach
  void stopWorker() throws Exception {
    cluster.engine.drop("public", "order_totals", OWNER);
    cluster.engine.drop("public", "note_count", OWNER);
    worker.close();
  }

  @Test
  void aStoppedNodeDegradesOnlyItsStreamTablesAndLosesNothing() throws Exception {
    StreamTableEngine engine = cluster.engine;
    StreamTableSpec totals = EngineTestSupport.spec("order_totals", TOTALS);
    totals.setPlacement(PlacementMode.LOCAL); // auto would distribute it, which needs Citus
    engine.apply(StreamTableDefinition.from(totals), OWNER);
    engine.apply(StreamTableDefinition.from(EngineTestSupport.spec("note_count", LOCAL)), OWNER);
    cluster.write(1, 1, 10);
    cluster.awaitApplied("order_totals");

    // Written and committed on the node, then the node stops before any refresh read it.
    cluster.write(1, 2, 20);
    cluster.write(1, 3, 30);
    worker.stop();

    assertThatThrownBy(() -> engine.refresh("public", "order_totals"))
        .isInstanceOfSatisfying(
            EngineException.class, e -> assertThat(e.reason()).isEqualTo(Reason.ClusterUnavailable))
        .hasMessageContaining("node localhost:" + worker.port() + " (id 1)")
        .hasMessageContaining("is unreachable");
    assertThat(cluster.coordinator.queryLong("SELECT n FROM order_totals"))
        .as("the stream table keeps its last good contents")
        .isEqualTo(1);

    cluster.coordinator.execute("INSERT INTO notes VALUES (1)");
    assertThat(engine.refresh("public", "note_count").kind())
        .as("a stream table that does not read the stopped node keeps refreshing")
        .isEqualTo(RefreshOutcome.Kind.APPLIED);
    assertMatchesQuery(cluster.coordinator, "note_count", LOCAL);

    worker.startAgain();
    assertThat(engine.refresh("public", "order_totals").kind())
        .as(
            "the slot kept the changes made before the node stopped (the coordinator's table"
                + " is not captured: only the node's slot can make this refresh apply)")
        .isEqualTo(RefreshOutcome.Kind.APPLIED);
    assertMatchesQuery(cluster.coordinator, "order_totals", TOTALS);
    assertThat(engine.refresh("public", "order_totals").kind())
        .as("nothing read from the slot is applied twice")
        .isEqualTo(RefreshOutcome.Kind.NO_CHANGES);
    assertThat(cluster.slots(cluster.workers.get(0))).isEqualTo(1);
  }

  /**
   * A node that leaves the source while it is down: its slot cannot be dropped, the node is
   * forgotten all the same (it may never come back), and status says which slot to drop by hand.
   */
  @Test
  void aNodeThatLeftWhileDownIsNamedWithTheSlotToDropByHand() throws Exception {
    ScriptedCluster two =
        new ScriptedCluster(TestPostgres.server(0), List.of(TestPostgres.server(1), worker));
    try {
      two.topology.place(101, 1);
      two.topology.place(102, 2);
      StreamTableSpec totals = EngineTestSupport.spec("order_totals", TOTALS);
      totals.setPlacement(PlacementMode.LOCAL);
      two.engine.apply(StreamTableDefinition.from(totals), OWNER);
      two.write(2, 1, 10);
      two.awaitApplied("order_totals");
      assertThat(two.slots(two.workers.get(1))).isEqualTo(1);

      worker.stop();
      two.topology.place(102, 1); // the rebalancer moved its shard away while it was down
      two.write(1, 2, 20);
      assertThat(two.engine.refresh("public", "order_totals").kind())
          .as("the source is re-synced without the node")
          .isEqualTo(RefreshOutcome.Kind.APPLIED);
      assertMatchesQuery(two.coordinator, "order_totals", TOTALS);
      StreamTableReport report = two.engine.report("public", "order_totals");
      assertThat(report.sources().get(0).topologyChange().orElseThrow().description())
          .contains("node localhost:" + worker.port() + " (id 2) removed")
          .contains(
              "the replication slot "
                  + two.orders.replicationSlot()
                  + " on node localhost:"
                  + worker.port()
                  + " (id 2), which left, could not be dropped")
          .contains("drop the slot there by hand");

      worker.startAgain();
      assertThat(two.slots(two.workers.get(1))).as("left behind, as status says").isEqualTo(1);
    } finally {
      if (!worker.isRunning()) {
        worker.startAgain(); // deletion waits for every node the source's slots may be on
      }
      two.dropEverything();
    }
  }

  @Test
  void deletionWaitsForAStoppedNodeSoItsSlotIsNotLeftBehind() throws Exception {
    StreamTableEngine engine = cluster.engine;
    StreamTableSpec totals = EngineTestSupport.spec("order_totals", TOTALS);
    totals.setPlacement(PlacementMode.LOCAL);
    engine.apply(StreamTableDefinition.from(totals), OWNER);
    worker.stop();

    assertThatThrownBy(() -> engine.drop("public", "order_totals", OWNER))
        .isInstanceOfSatisfying(
            EngineException.class, e -> assertThat(e.reason()).isEqualTo(Reason.ClusterUnavailable))
        .hasMessageContaining("node localhost:" + worker.port() + " (id 1)")
        .hasMessageContaining("drop replication slot " + cluster.orders.replicationSlot())
        .hasMessageContaining("deletion waits");
    assertThat(engine.list()).as("nothing dropped while the node is down").hasSize(1);

    worker.startAgain();
    assertThat(engine.drop("public", "order_totals", OWNER)).isTrue();
    assertThat(cluster.slots(cluster.workers.get(0))).isZero();
    assertThat(engine.list()).isEmpty();
  }
}
