package io.pgtrickle.operator.engine;

import static io.pgtrickle.operator.engine.EngineTestSupport.OWNER;
import static io.pgtrickle.operator.testing.StreamTableAssertions.assertMatchesQuery;
import static org.assertj.core.api.Assertions.assertThat;

import io.pgtrickle.operator.api.PlacementMode;
import io.pgtrickle.operator.api.StreamTableSpec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * TRUNCATE of a "distributed" source on the scripted cluster, as Citus shows it to logical
 * decoding: the workers' slots never emit it (on Citus they see it under shard names, which the
 * publication does not list), the coordinator truncates the table its queries read (on Citus the
 * distributed table's shell) and only its slot can see that. Here the workers' tables are not
 * truncated at all: they stand for shards, whose truncate no worker slot emits.
 */
class DistributedTruncateIT {
  private static final String QUERY = "SELECT count(*) AS n, sum(amount) AS total FROM orders";

  private ScriptedCluster cluster;
  private StreamTableEngine engine;

  @BeforeEach
  void setUp() throws Exception {
    cluster = ScriptedCluster.ofTwoWorkers(1, 2);
    engine = cluster.engine;
    StreamTableSpec spec = EngineTestSupport.spec("order_totals", QUERY);
    spec.setPlacement(PlacementMode.LOCAL); // auto would distribute it, which needs Citus
    engine.apply(StreamTableDefinition.from(spec), OWNER);
  }

  @AfterEach
  void dropEverything() throws Exception {
    engine.drop("public", "order_totals", OWNER);
    cluster.dropWorkerSlots();
  }

  @Test
  void aTruncateOnTheCoordinatorReachesTheBufferAndResyncsOnce() throws Exception {
    cluster.write(1, 1, 10);
    cluster.write(2, 2, 20);
    cluster.awaitApplied("order_totals");
    assertMatchesQuery(cluster.coordinator, "order_totals", QUERY);
    assertThat(engine.refresh("public", "order_totals").kind())
        .as("the coordinator's own rows are not read from its slot")
        .isEqualTo(RefreshOutcome.Kind.NO_CHANGES);

    cluster.coordinator.execute("TRUNCATE orders");
    cluster.awaitApplied("order_totals");
    assertMatchesQuery(cluster.coordinator, "order_totals", QUERY);
    assertThat(cluster.coordinator.queryLong("SELECT n FROM order_totals")).isZero();
    assertThat(engine.refresh("public", "order_totals").kind())
        .as("the TRUNCATE applied once")
        .isEqualTo(RefreshOutcome.Kind.NO_CHANGES);
    assertThat(cluster.slots(cluster.coordinator))
        .as("the coordinator's slot, for TRUNCATE")
        .isEqualTo(1);
    assertThat(cluster.frontierPerNode()).contains("\"0\"");

    // TRUNCATE, then new rows on both workers, before the refresh.
    cluster.write(1, 3, 30);
    cluster.awaitApplied("order_totals");
    cluster.coordinator.execute("TRUNCATE orders");
    cluster.write(1, 4, 40);
    cluster.write(2, 5, 50);
    cluster.awaitApplied("order_totals");
    assertMatchesQuery(cluster.coordinator, "order_totals", QUERY);
    assertThat(cluster.coordinator.queryLong("SELECT n FROM order_totals")).isEqualTo(2);
    assertThat(engine.refresh("public", "order_totals").kind())
        .isEqualTo(RefreshOutcome.Kind.NO_CHANGES);
    assertThat(engine.report("public", "order_totals").sources())
        .singleElement()
        .satisfies(
            s -> {
              assertThat(s.topologyChange())
                  .as("the coordinator's slot is no topology change")
                  .isEmpty();
              assertThat(s.nodes()).extracting(n -> n.nodeId()).containsExactly(0, 1, 2);
            });
  }

  @Test
  void aSourceCapturedWithoutTheCoordinatorsSlotGetsItAndIsResyncedOnce() throws Exception {
    // As an earlier version left it: no slot on the coordinator, a topology of the workers alone.
    cluster.coordinator.execute(
        "SELECT pg_drop_replication_slot('" + cluster.orders.replicationSlot() + "')",
        "UPDATE pgtrickle.pgt_change_tracking SET capture_topology = jsonb_build_object("
            + "'nodes', (capture_topology->'nodes') - '0'::text, 'shards', capture_topology->'shards')"
            + " WHERE source_stable_name = '"
            + cluster.orders.stableName().value()
            + "'");
    cluster.coordinator.execute("TRUNCATE orders");
    assertThat(engine.refresh("public", "order_totals").kind())
        .as("a TRUNCATE may have been missed: re-synced in full")
        .isEqualTo(RefreshOutcome.Kind.APPLIED);
    assertMatchesQuery(cluster.coordinator, "order_totals", QUERY);
    assertThat(cluster.slots(cluster.coordinator)).isEqualTo(1);
    assertThat(engine.refresh("public", "order_totals").kind())
        .isEqualTo(RefreshOutcome.Kind.NO_CHANGES);
    assertThat(engine.report("public", "order_totals").sources())
        .singleElement()
        .satisfies(s -> assertThat(s.topologyChange()).isEmpty());
  }

  @Test
  void theCoordinatorsSlotGoesWithTheLastStreamTable() throws Exception {
    assertThat(cluster.slots(cluster.coordinator)).isEqualTo(1);
    engine.drop("public", "order_totals", OWNER);
    assertThat(cluster.slots(cluster.coordinator)).isZero();
    for (var worker : cluster.workers) {
      assertThat(cluster.slots(worker)).isZero();
    }
  }
}
