package io.pgtrickle.operator.operator;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.authorization.v1.ResourceRuleBuilder;
import io.fabric8.kubernetes.api.model.authorization.v1.SelfSubjectRulesReviewBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.micrometer.core.instrument.Timer;
import io.pgtrickle.operator.api.CitusCluster;
import io.pgtrickle.operator.api.StreamTable;
import io.pgtrickle.operator.status.Conditions;
import io.pgtrickle.operator.testing.TestDatabase;
import io.pgtrickle.operator.testing.TestPostgres;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.Test;

/** Two replicas with leader election: one holds the Lease and is the only one that refreshes. */
@EnableKubernetesMockClient(crud = true)
class LeaderElectionIT {
  private static final String NAMESPACE = "default";

  static KubernetesClient client;
  static KubernetesMockServer server;

  @Test
  void onlyTheLeaseHolderRefreshes() throws Exception {
    // The mock server stores a SelfSubjectRulesReview without evaluating it; answer as an API
    // server would for a role allowed to use Leases (JOSDK checks that before electing).
    server
        .expect()
        .post()
        .withPath("/apis/authorization.k8s.io/v1/selfsubjectrulesreviews")
        .andReturn(
            201,
            new SelfSubjectRulesReviewBuilder()
                .withNewStatus()
                .withIncomplete(false)
                .withResourceRules(
                    new ResourceRuleBuilder()
                        .withApiGroups("coordination.k8s.io")
                        .withResources("leases")
                        .withVerbs("get", "create", "update")
                        .build())
                .endStatus()
                .build())
        .always();
    OperatorTestResources.loadCrds(client);
    TestDatabase db = TestPostgres.freshDatabase();
    db.execute("CREATE TABLE items (id int PRIMARY KEY)", "INSERT INTO items VALUES (1)");
    createResources(db);
    OperatorSettings settings =
        new OperatorSettings(
            Set.of(),
            true,
            NAMESPACE,
            false,
            Duration.ofSeconds(1),
            Duration.ofSeconds(5),
            0,
            1L << 30);
    try (OperatorRuntime first = new OperatorRuntime(client, settings);
        OperatorRuntime second = new OperatorRuntime(client, settings)) {
      first.start();
      second.start();
      await(
          () -> {
            StreamTable st =
                client.resources(StreamTable.class).inNamespace(NAMESPACE).withName("items").get();
            return st.getStatus() != null
                    && Conditions.isTrue(st.getStatus().getConditions(), Conditions.READY)
                ? st
                : null;
          });
      for (int i = 2; i <= 4; i++) {
        int id = i;
        db.execute("INSERT INTO items VALUES (" + id + ")");
        await(
            () ->
                db.queryLong("SELECT count(*) FROM items_copy WHERE id = " + id) == 1
                    ? true
                    : null);
      }

      long firstRefreshes = refreshes(first);
      long secondRefreshes = refreshes(second);
      assertThat(List.of(firstRefreshes, secondRefreshes))
          .as("refreshes applied by each replica")
          .containsExactlyInAnyOrder(0L, Math.max(firstRefreshes, secondRefreshes));
      assertThat(Math.max(firstRefreshes, secondRefreshes)).isGreaterThanOrEqualTo(3);
      Lease lease =
          client.leases().inNamespace(NAMESPACE).withName(OperatorSettings.LEASE_NAME).get();
      assertThat(lease.getSpec().getHolderIdentity()).isNotBlank();
    }
  }

  private static long refreshes(OperatorRuntime runtime) {
    Timer timer =
        runtime
            .registry()
            .find("pgtrickle.refresh.duration")
            .tag("streamtable", "default/items")
            .timer();
    return timer == null ? 0 : timer.count();
  }

  private static void createResources(TestDatabase db) {
    client
        .secrets()
        .inNamespace(NAMESPACE)
        .resource(OperatorTestResources.secret(NAMESPACE, "creds"))
        .create();
    client
        .resources(CitusCluster.class)
        .inNamespace(NAMESPACE)
        .resource(OperatorTestResources.cluster(NAMESPACE, "db", "creds", db))
        .create();
    client
        .resources(StreamTable.class)
        .inNamespace(NAMESPACE)
        .resource(
            OperatorTestResources.streamTable(
                NAMESPACE, "items", "db", "items_copy", "SELECT id FROM items", "200ms"))
        .create();
  }

  private static <T> T await(Callable<T> probe) throws Exception {
    return OperatorTestResources.await(60, probe);
  }
}
