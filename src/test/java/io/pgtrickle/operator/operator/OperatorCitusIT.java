package io.pgtrickle.operator.operator;

import static io.pgtrickle.operator.operator.OperatorTestResources.await;
import static io.pgtrickle.operator.testing.StreamTableAssertions.assertMatchesQuery;
import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.pgtrickle.operator.api.CitusCluster;
import io.pgtrickle.operator.api.StreamTable;
import io.pgtrickle.operator.embedded.PostgresServer;
import io.pgtrickle.operator.status.Conditions;
import io.pgtrickle.operator.status.StreamTableStatuses;
import io.pgtrickle.operator.testing.CitusTestCluster;
import io.pgtrickle.operator.testing.RequiresCitus;
import io.pgtrickle.operator.testing.TestDatabase;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * The operator (fabric8 mock API server) against a real Citus coordinator and two workers: a
 * StreamTable over a distributed source becomes Ready with distributed storage and a frontier per
 * worker (and for the coordinator, whose slot sees TRUNCATE); a shard moved by Citus shows as
 * TopologyChanged with one warning event; deletion drops the slots on every node. Skipped without
 * Citus.
 */
@RequiresCitus
@EnableKubernetesMockClient(crud = true)
class OperatorCitusIT {
  private static final String NAMESPACE = "citus";
  private static final String QUERY =
      "SELECT id % 4 AS bucket, sum(amount) AS total FROM op_orders GROUP BY 1";

  static KubernetesClient client;

  @Test
  void aStreamTableOverADistributedSourceReportsEveryWorkerAndFollowsAShardMove() throws Exception {
    CitusTestCluster citus = CitusTestCluster.shared();
    TestDatabase db = new TestDatabase(citus.coordinator(), CitusTestCluster.DATABASE);
    citus.onCoordinator(
        "DROP TABLE IF EXISTS op_orders, op_totals CASCADE",
        "CREATE TABLE op_orders (id int PRIMARY KEY, amount int)",
        "SELECT create_distributed_table('op_orders', 'id', shard_count := 4)",
        "ALTER TABLE op_orders REPLICA IDENTITY FULL",
        "INSERT INTO op_orders SELECT g, g FROM generate_series(1, 80) g");
    OperatorTestResources.loadCrds(client);
    try (OperatorRuntime runtime =
        new OperatorRuntime(
            client, OperatorTestResources.settings(Duration.ofSeconds(2), 1L << 30))) {
      runtime.start();
      client
          .secrets()
          .inNamespace(NAMESPACE)
          .resource(OperatorTestResources.secret(NAMESPACE, "creds"))
          .create();
      client
          .resources(CitusCluster.class)
          .inNamespace(NAMESPACE)
          .resource(OperatorTestResources.cluster(NAMESPACE, "citus", "creds", db))
          .create();
      client
          .resources(StreamTable.class)
          .inNamespace(NAMESPACE)
          .resource(
              OperatorTestResources.streamTable(
                  NAMESPACE, "totals", "citus", "op_totals", QUERY, "1s"))
          .create();

      StreamTable ready =
          await(
              60,
              () -> withCondition(Conditions.READY, "True").map(c -> streamTable()).orElse(null));
      assertThat(ready.getStatus().getPlacement()).isEqualTo("distributed");
      assertThat(ready.getStatus().getSources())
          .singleElement()
          .satisfies(
              source -> {
                assertThat(source.getPlacement()).isEqualTo("distributed");
                assertThat(source.getCdcMode()).isEqualTo("wal");
                assertThat(source.getFrontier())
                    .as("each worker, and the coordinator, whose slot sees TRUNCATE")
                    .hasSize(3);
                for (PostgresServer worker : citus.workers()) {
                  assertThat(source.getFrontier())
                      .anySatisfy(
                          n -> assertThat(n.getNode()).isEqualTo("127.0.0.1:" + worker.port()));
                }
              });
      assertThat(withCondition(StreamTableStatuses.TOPOLOGY_CHANGED, "False")).isPresent();
      assertMatchesQuery(db, "op_totals", QUERY);

      citus.moveOneShard("op_orders");
      Condition moved =
          await(60, () -> withCondition(StreamTableStatuses.TOPOLOGY_CHANGED, "True").orElse(null));
      assertThat(moved.getMessage()).contains("public.op_orders").contains("moved from node");
      await(
          30,
          () ->
              client.v1().events().inNamespace(NAMESPACE).list().getItems().stream()
                  .filter(e -> StreamTableStatuses.TOPOLOGY_CHANGED.equals(e.getReason()))
                  .findFirst()
                  .orElse(null));

      client.resources(StreamTable.class).inNamespace(NAMESPACE).withName("totals").delete();
      await(60, () -> streamTable() == null ? Boolean.TRUE : null);
      for (PostgresServer server :
          List.of(citus.coordinator(), citus.workers().get(0), citus.workers().get(1))) {
        TestDatabase node = new TestDatabase(server, CitusTestCluster.DATABASE);
        assertThat(
                node.queryLong(
                    "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'pgtrickle_%'"))
            .isZero();
      }
    } finally {
      citus.onCoordinator("DROP TABLE IF EXISTS op_orders, op_totals CASCADE");
    }
  }

  private StreamTable streamTable() {
    return client.resources(StreamTable.class).inNamespace(NAMESPACE).withName("totals").get();
  }

  private Optional<Condition> withCondition(String type, String status) {
    StreamTable st = streamTable();
    return st == null || st.getStatus() == null
        ? Optional.empty()
        : Conditions.find(st.getStatus().getConditions(), type)
            .filter(c -> status.equals(c.getStatus()));
  }
}
