package io.pgtrickle.operator.citus;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgtrickle.operator.catalog.Placement;
import io.pgtrickle.operator.embedded.PostgresServer;
import io.pgtrickle.operator.testing.CitusTestCluster;
import io.pgtrickle.operator.testing.RequiresCitus;
import java.sql.Connection;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Detection against a real Citus coordinator with two workers (skipped without Citus). */
@RequiresCitus
class CitusTopologyIT {
  private static CitusTestCluster cluster;

  @BeforeEach
  void createTables() throws Exception {
    cluster = CitusTestCluster.shared();
    cluster.onCoordinator(
        "DROP TABLE IF EXISTS topo_local, topo_reference, topo_distributed",
        "CREATE TABLE topo_local (id int PRIMARY KEY)",
        "CREATE TABLE topo_reference (id int PRIMARY KEY)",
        "SELECT create_reference_table('topo_reference')",
        "CREATE TABLE topo_distributed (tenant_id int, id int, PRIMARY KEY (tenant_id, id))",
        "SELECT create_distributed_table('topo_distributed', 'tenant_id')");
  }

  private static Connection coordinator() throws Exception {
    return cluster.coordinator().dataSource(CitusTestCluster.DATABASE).getConnection();
  }

  @Test
  void detectsCitusAndEveryKindOfPlacement() throws Exception {
    CitusTopology topology = new CitusTopology();
    try (Connection connection = coordinator()) {
      assertThat(topology.isCitusLoaded(connection)).isTrue();
      assertThat(topology.placement(connection, "public", "topo_local"))
          .isEqualTo(TablePlacement.local());
      assertThat(topology.placement(connection, "public", "topo_reference"))
          .isEqualTo(TablePlacement.reference());
      assertThat(topology.placement(connection, "public", "topo_distributed"))
          .isEqualTo(TablePlacement.distributed(Optional.of("tenant_id")));
      assertThat(topology.placement(connection, "public", "topo_distributed").kind())
          .isEqualTo(Placement.DISTRIBUTED);
    }
  }

  @Test
  void listsTheWorkersAndWhereShardsLive() throws Exception {
    CitusTopology topology = new CitusTopology();
    Set<Integer> workerPorts =
        cluster.workers().stream().map(PostgresServer::port).collect(Collectors.toSet());
    try (Connection connection = coordinator()) {
      List<CitusNode> workers = topology.workerNodes(connection);
      assertThat(workers)
          .extracting(CitusNode::port)
          .containsExactlyInAnyOrderElementsOf(workerPorts);
      assertThat(workers).allMatch(n -> !n.isCoordinator() && n.active());
      assertThat(topology.nodes(connection))
          .anyMatch(n -> n.isCoordinator() && n.port() == cluster.coordinator().port());

      List<ShardPlacement> distributed =
          topology.shardPlacements(connection, "public", "topo_distributed");
      assertThat(distributed)
          .extracting(p -> p.node().port())
          .containsExactlyInAnyOrderElementsOf(workerPorts);
      assertThat(distributed.stream().mapToInt(ShardPlacement::shardCount).sum())
          .isEqualTo(32); // citus.shard_count default

      // A reference table has a replica on every node, the coordinator included.
      assertThat(topology.shardPlacements(connection, "public", "topo_reference"))
          .extracting(p -> p.node().port())
          .contains(cluster.coordinator().port())
          .containsAll(workerPorts);
      assertThat(topology.shardPlacements(connection, "public", "topo_local")).isEmpty();
    }
  }
}
