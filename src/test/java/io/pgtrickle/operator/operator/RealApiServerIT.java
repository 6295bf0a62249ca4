package io.pgtrickle.operator.operator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubeapitest.KubeAPIServer;
import io.fabric8.kubeapitest.KubeAPIServerConfigBuilder;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.pgtrickle.operator.api.CitusCluster;
import io.pgtrickle.operator.api.StreamTable;
import io.pgtrickle.operator.status.Conditions;
import io.pgtrickle.operator.testing.TestDatabase;
import io.pgtrickle.operator.testing.TestPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * End to end against a real kube-apiserver and etcd (fabric8 kube-api-test, offline): the CRDs'
 * validation (CEL immutability) and the operator's whole loop. These machines cannot download the
 * binaries, so it runs only where they are staged under {@code $KUBE_API_TEST_DIR/k8s/} (default
 * ~/.kubeapitest) and otherwise reports itself skipped with that reason.
 */
@ExtendWith(RealApiServerIT.BinariesPresent.class)
class RealApiServerIT {

  @Test
  void operatorReconcilesOnARealApiServer() throws Exception {
    KubeAPIServer server =
        new KubeAPIServer(
            KubeAPIServerConfigBuilder.anAPIServerConfig()
                .withOfflineMode(true)
                .withTestDir(BinariesPresent.directory().toString())
                .build());
    server.start();
    try (KubernetesClient client =
        new KubernetesClientBuilder()
            .withConfig(Config.fromKubeconfig(server.getKubeConfigYaml()))
            .build()) {
      run(client);
    } finally {
      server.stop();
    }
  }

  private static void run(KubernetesClient client) throws Exception {
    OperatorTestResources.loadCrds(client);
    await(
        () ->
            client.apiextensions().v1().customResourceDefinitions().list().getItems().size() >= 2
                ? true
                : null);
    TestDatabase db = TestPostgres.freshDatabase();
    db.execute(
        "CREATE TABLE orders (id int PRIMARY KEY, amount numeric)",
        "INSERT INTO orders VALUES (1, 10)");
    String ns = "e2e";
    client
        .namespaces()
        .resource(new NamespaceBuilder().withNewMetadata().withName(ns).endMetadata().build())
        .create();
    client.secrets().inNamespace(ns).resource(OperatorTestResources.secret(ns, "creds")).create();
    client
        .resources(CitusCluster.class)
        .inNamespace(ns)
        .resource(OperatorTestResources.cluster(ns, "db", "creds", db))
        .create();
    client
        .resources(StreamTable.class)
        .inNamespace(ns)
        .resource(
            OperatorTestResources.streamTable(
                ns, "copy", "db", "orders_copy", "SELECT id, amount FROM orders", "500ms"))
        .create();

    try (OperatorRuntime runtime =
        new OperatorRuntime(
            client, OperatorTestResources.settings(Duration.ofSeconds(5), 1L << 30))) {
      runtime.start();
      StreamTable ready =
          await(
              () -> {
                StreamTable st =
                    client.resources(StreamTable.class).inNamespace(ns).withName("copy").get();
                return st.getStatus() != null
                        && Conditions.isTrue(st.getStatus().getConditions(), Conditions.READY)
                    ? st
                    : null;
              });
      assertThat(ready.getStatus().getSources()).hasSize(1);
      assertThat(db.queryLong("SELECT count(*) FROM orders_copy")).isEqualTo(1);

      // The CRD refuses a change of an immutable field.
      assertThatThrownBy(
              () ->
                  client
                      .resources(StreamTable.class)
                      .inNamespace(ns)
                      .withName("copy")
                      .patch(
                          PatchContext.of(PatchType.JSON_MERGE),
                          "{\"spec\":{\"name\":\"other_name\"}}"))
          .isInstanceOf(KubernetesClientException.class)
          .hasMessageContaining("name is immutable");

      client.resources(StreamTable.class).inNamespace(ns).withName("copy").delete();
      await(
          () ->
              client.resources(StreamTable.class).inNamespace(ns).withName("copy").get() == null
                  ? true
                  : null);
      assertThat(db.queryLong("SELECT count(*) FROM pg_class WHERE relname = 'orders_copy'"))
          .isZero();
    }
  }

  private static <T> T await(Callable<T> probe) throws Exception {
    return OperatorTestResources.await(90, probe);
  }

  /** Runs the test only where kube-apiserver and etcd binaries are staged. */
  static final class BinariesPresent implements ExecutionCondition {
    static Path directory() {
      String configured = System.getenv("KUBE_API_TEST_DIR");
      return configured != null && !configured.isBlank()
          ? Path.of(configured)
          : Path.of(System.getProperty("user.home"), ".kubeapitest");
    }

    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
      if (context.getTestMethod().isEmpty()) {
        return ConditionEvaluationResult.enabled("decided per test");
      }
      Path k8s = directory().resolve("k8s");
      Optional<Path> staged;
      try (Stream<Path> versions = Files.isDirectory(k8s) ? Files.list(k8s) : Stream.empty()) {
        staged =
            versions
                .filter(
                    v ->
                        Files.isExecutable(v.resolve("kube-apiserver"))
                            && Files.isExecutable(v.resolve("etcd")))
                .findFirst();
      } catch (java.io.IOException e) {
        staged = Optional.empty();
      }
      return staged
          .map(v -> ConditionEvaluationResult.enabled("kube-apiserver and etcd in " + v))
          .orElseGet(
              () ->
                  ConditionEvaluationResult.disabled(
                      "no kube-apiserver and etcd binaries under "
                          + k8s
                          + " (stage them there or set KUBE_API_TEST_DIR; they cannot be downloaded here)"));
    }
  }
}
