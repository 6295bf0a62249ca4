package io.pgtrickle.operator.operator;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.pgtrickle.operator.api.CitusCluster;
import io.pgtrickle.operator.api.CitusClusterSpec;
import io.pgtrickle.operator.api.NodeStatus;
import io.pgtrickle.operator.db.ConnectionSettings;
import io.pgtrickle.operator.db.DatabaseTarget;
import io.pgtrickle.operator.embedded.PostgresServer;
import io.pgtrickle.operator.engine.StreamTableEngine;
import io.pgtrickle.operator.testing.CitusTestCluster;
import io.pgtrickle.operator.testing.RequiresCitus;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The CitusCluster inspection against a real coordinator and two workers (skipped without Citus).
 */
@RequiresCitus
class ClusterInspectorCitusIT {
  @Test
  void listsEveryNodeWithItsPrerequisites() throws Exception {
    CitusTestCluster citus = CitusTestCluster.shared();
    PostgresServer coordinator = citus.coordinator();
    CitusCluster cluster = new CitusCluster();
    cluster.setMetadata(new ObjectMetaBuilder().withName("citus").withNamespace("ns").build());
    CitusClusterSpec spec = new CitusClusterSpec();
    spec.getCoordinator().setHost("127.0.0.1");
    spec.getCoordinator().setPort(coordinator.port());
    spec.getCoordinator().setDatabase(CitusTestCluster.DATABASE);
    cluster.setSpec(spec);
    ConnectionSettings settings =
        new ConnectionSettings(
            coordinator.jdbcUrl(CitusTestCluster.DATABASE),
            PostgresServer.SUPERUSER,
            null,
            "citus");
    try (DatabaseTarget target = settings.connect()) {
      ClusterInspector.Inspection inspection =
          new ClusterInspector()
              .inspect(
                  cluster,
                  new ClusterConnections.Handle(
                      target,
                      new StreamTableEngine(target.dataSource()),
                      settings,
                      java.util.Optional.empty()));

      assertThat(inspection.citusVersion()).startsWith("13.");
      Map<String, NodeStatus> nodes = inspection.nodes();
      assertThat(nodes).hasSize(3);
      assertThat(nodes.values()).filteredOn(n -> "worker".equals(n.getRole())).hasSize(2);
      assertThat(nodes.values())
          .allSatisfy(
              node -> {
                assertThat(node.getReachable()).isTrue();
                assertThat(node.getMissing()).isEmpty();
                assertThat(node.getPrerequisitesMet()).isTrue();
              });
      for (PostgresServer worker : citus.workers()) {
        assertThat(nodes).containsKey("127.0.0.1:" + worker.port());
      }
    }
  }
}
