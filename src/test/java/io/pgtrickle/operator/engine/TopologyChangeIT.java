package io.pgtrickle.operator.engine;

import static io.pgtrickle.operator.engine.EngineTestSupport.OWNER;
import static io.pgtrickle.operator.testing.StreamTableAssertions.assertMatchesQuery;
import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Condition;
import io.pgtrickle.operator.api.PlacementMode;
import io.pgtrickle.operator.api.StreamTableSpec;
import io.pgtrickle.operator.status.Conditions;
import io.pgtrickle.operator.status.StreamTableStatuses;
import java.time.Instant;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A "distributed" source on two plain PostgreSQL workers whose shards the test moves (test (a)
 * style: the topology is supplied by the test). Writes that reach a node without a slot bypass
 * capture, as they do when the rebalancer moves a shard: only the topology check can notice, and it
 * must re-sync in full.
 */
class TopologyChangeIT {
  private static final String QUERY = "SELECT count(*) AS n, sum(amount) AS total FROM orders";

  private ScriptedCluster cluster;
  private StreamTableEngine engine;

  @BeforeEach
  void setUp() throws Exception {
    cluster = ScriptedCluster.ofTwoWorkers(1, 1, 1);
    engine = cluster.engine;
  }

  @AfterEach
  void dropEverything() throws Exception {
    engine.drop("public", "order_totals", OWNER);
    cluster.dropWorkerSlots();
  }

  @Test
  void aMovedShardAddsAndDropsSlotsAndResyncsInsteadOfMissingChanges() throws Exception {
    // Local storage: auto would distribute it (every source is distributed), which needs Citus.
    StreamTableSpec spec = EngineTestSupport.spec("order_totals", QUERY);
    spec.setPlacement(PlacementMode.LOCAL);
    engine.apply(StreamTableDefinition.from(spec), OWNER);
    assertThat(cluster.slots(cluster.workers.get(0))).isEqualTo(1);
    assertThat(cluster.slots(cluster.workers.get(1))).as("no shards, no slot").isZero();

    cluster.write(1, 1, 10);
    cluster.awaitApplied("order_totals");
    assertMatchesQuery(cluster.coordinator, "order_totals", QUERY);
    assertThat(topologyCondition().getStatus()).isEqualTo("False");
    assertThat(engine.refresh("public", "order_totals").kind())
        .isEqualTo(RefreshOutcome.Kind.NO_CHANGES);

    // The rebalancer moves shard 102 to node 2, which had no slot: a write lands there unseen.
    cluster.topology.place(102, 2);
    cluster.write(2, 2, 20);
    assertThat(engine.refresh("public", "order_totals").kind())
        .as("the topology change forces a full re-sync though no slot saw the write")
        .isEqualTo(RefreshOutcome.Kind.APPLIED);
    assertMatchesQuery(cluster.coordinator, "order_totals", QUERY);
    assertThat(cluster.slots(cluster.workers.get(1)))
        .as("a slot on the node that joined")
        .isEqualTo(1);
    Condition changed = topologyCondition();
    assertThat(changed.getStatus()).isEqualTo("True");
    assertThat(changed.getReason()).isEqualTo("Resynced");
    assertThat(changed.getMessage())
        .contains("public.orders")
        .contains("(id 2) added")
        .contains("shard 102 moved from node 1 to node 2");

    // From now on node 2's changes arrive through its own slot (the coordinator's table is not
    // captured, so only that slot can make this refresh apply), with their own frontier.
    cluster.write(2, 3, 30);
    cluster.awaitApplied("order_totals");
    assertMatchesQuery(cluster.coordinator, "order_totals", QUERY);
    assertThat(cluster.frontierPerNode()).contains("\"2\"");

    // A shard moving between two nodes that both have slots: the same nodes, still a re-sync.
    cluster.topology.place(103, 2);
    assertThat(engine.refresh("public", "order_totals").kind())
        .isEqualTo(RefreshOutcome.Kind.APPLIED);
    assertThat(topologyCondition().getMessage())
        .startsWith("public.orders: shard 103 moved from node 1 to node 2 (detected");

    // Moved back: node 2 leaves the source, its slot and frontier go, and it is re-synced again.
    cluster.topology.place(102, 1);
    cluster.topology.place(103, 1);
    assertThat(engine.refresh("public", "order_totals").kind())
        .isEqualTo(RefreshOutcome.Kind.APPLIED);
    assertThat(cluster.slots(cluster.workers.get(1))).isZero();
    assertThat(cluster.frontierPerNode()).doesNotContain("\"2\"");
    assertThat(topologyCondition().getMessage()).contains("(id 2) removed");
    assertThat(engine.refresh("public", "order_totals").kind())
        .as("an unchanged topology re-syncs nothing")
        .isEqualTo(RefreshOutcome.Kind.NO_CHANGES);
  }

  private Condition topologyCondition() throws EngineException {
    StreamTableReport report = engine.report("public", "order_totals");
    return Conditions.find(
            StreamTableStatuses.ready(1, report, null, Instant.now()).getConditions(),
            StreamTableStatuses.TOPOLOGY_CHANGED)
        .orElseThrow();
  }
}
