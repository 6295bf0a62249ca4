package io.pgtrickle.operator.operator;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.authorization.v1.ResourceRuleBuilder;
import io.fabric8.kubernetes.api.model.authorization.v1.SelfSubjectRulesReviewBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.micrometer.core.instrument.Timer;
import io.pgtrickle.operator.api.CitusCluster;
import io.pgtrickle.operator.api.CitusClusterSpec;
import io.pgtrickle.operator.api.StreamTable;
import io.pgtrickle.operator.api.StreamTableSpec;
import io.pgtrickle.operator.status.Conditions;
import io.pgtrickle.operator.testing.TestDatabase;
import io.pgtrickle.operator.testing.TestPostgres;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** Two replicas with leader election: one holds the Lease and is the only one that refreshes. */
@EnableKubernetesMockClient(crud = true)
class LeaderElectionIT {
  private static final Path ROOT = Path.of(System.getProperty("project.basedir", "."));
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
    try (Stream<Path> crds = Files.list(ROOT.resolve("crds"))) {
      for (Path crd : crds.sorted().toList()) {
        try (InputStream in = Files.newInputStream(crd)) {
          client.apiextensions().v1().customResourceDefinitions().load(in).create();
        }
      }
    }
    TestDatabase db = TestPostgres.freshDatabase();
    db.execute("CREATE TABLE items (id int PRIMARY KEY)", "INSERT INTO items VALUES (1)");
    createResources(db);
    OperatorSettings settings =
        new OperatorSettings(
            Set.of(), true, NAMESPACE, false, Duration.ofSeconds(1), Duration.ofSeconds(5), 0);
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
        .resource(
            new SecretBuilder()
                .withMetadata(new ObjectMetaBuilder().withName("creds").build())
                .withStringData(Map.of("username", "postgres", "password", "x"))
                .build())
        .create();
    CitusCluster cluster = new CitusCluster();
    cluster.setMetadata(new ObjectMetaBuilder().withName("db").build());
    CitusClusterSpec clusterSpec = new CitusClusterSpec();
    clusterSpec.getCoordinator().setHost("127.0.0.1");
    clusterSpec.getCoordinator().setPort(db.server().port());
    clusterSpec.getCoordinator().setDatabase(db.name());
    clusterSpec.getCoordinator().setSslMode("disable");
    CitusClusterSpec.Credentials credentials = new CitusClusterSpec.Credentials();
    credentials.setSecretName("creds");
    clusterSpec.setCredentials(credentials);
    cluster.setSpec(clusterSpec);
    client.resources(CitusCluster.class).inNamespace(NAMESPACE).resource(cluster).create();
    StreamTable table = new StreamTable();
    table.setMetadata(new ObjectMetaBuilder().withName("items").build());
    StreamTableSpec spec = new StreamTableSpec();
    spec.setClusterRef("db");
    spec.setName("items_copy");
    spec.setQuery("SELECT id FROM items");
    spec.setSchedule("200ms");
    table.setSpec(spec);
    client.resources(StreamTable.class).inNamespace(NAMESPACE).resource(table).create();
  }

  private static <T> T await(Callable<T> probe) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (true) {
      T value = probe.call();
      if (value != null) {
        return value;
      }
      assertThat(System.nanoTime()).as("condition not met within 60 s").isLessThan(deadline);
      Thread.sleep(100);
    }
  }
}
