package io.pgtrickle.operator.operator;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.pgtrickle.operator.api.CitusCluster;
import io.pgtrickle.operator.api.CitusClusterSpec;
import io.pgtrickle.operator.api.StreamTable;
import io.pgtrickle.operator.api.StreamTableSpec;
import io.pgtrickle.operator.testing.TestDatabase;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/** Resources and waiting, shared by the operator tests. */
final class OperatorTestResources {
  static final Path ROOT = Path.of(System.getProperty("project.basedir", "."));

  private OperatorTestResources() {}

  /** Loads the committed CRDs, so the API server keeps status apart from spec. */
  static void loadCrds(KubernetesClient client) throws Exception {
    try (Stream<Path> crds = Files.list(ROOT.resolve("crds"))) {
      for (Path crd : crds.sorted().toList()) {
        try (InputStream in = Files.newInputStream(crd)) {
          client
              .apiextensions()
              .v1()
              .customResourceDefinitions()
              .load(in)
              .createOr(c -> c.update());
        }
      }
    }
  }

  /** A Secret for the embedded servers (trust authentication: the password is not checked). */
  static Secret secret(String namespace, String name) {
    return new SecretBuilder()
        .withMetadata(new ObjectMetaBuilder().withName(name).withNamespace(namespace).build())
        .withStringData(Map.of("username", "postgres", "password", "unused-with-trust-auth"))
        .build();
  }

  static CitusCluster cluster(String namespace, String name, String secretName, TestDatabase db) {
    CitusCluster resource = new CitusCluster();
    resource.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(namespace).build());
    CitusClusterSpec spec = new CitusClusterSpec();
    spec.getCoordinator().setHost("127.0.0.1");
    spec.getCoordinator().setPort(db.server().port());
    spec.getCoordinator().setDatabase(db.name());
    spec.getCoordinator().setSslMode("disable");
    CitusClusterSpec.Credentials credentials = new CitusClusterSpec.Credentials();
    credentials.setSecretName(secretName);
    spec.setCredentials(credentials);
    resource.setSpec(spec);
    return resource;
  }

  static StreamTable streamTable(
      String namespace,
      String name,
      String clusterRef,
      String table,
      String query,
      String schedule) {
    StreamTable resource = new StreamTable();
    resource.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(namespace).build());
    StreamTableSpec spec = new StreamTableSpec();
    spec.setClusterRef(clusterRef);
    spec.setName(table);
    spec.setQuery(query);
    spec.setSchedule(schedule);
    resource.setSpec(spec);
    return resource;
  }

  /**
   * One operator replica without leader election, watching every namespace, writing progress to
   * status every second, with an ephemeral health port.
   */
  static OperatorSettings settings(Duration resyncInterval, long slotLagLimitBytes) {
    return new OperatorSettings(
        Set.of(),
        false,
        "default",
        false,
        Duration.ofSeconds(1),
        resyncInterval,
        0,
        slotLagLimitBytes);
  }

  /** Polls until {@code probe} returns non-null, at most {@code seconds}. */
  static <T> T await(int seconds, Callable<T> probe) throws Exception {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
    while (true) {
      T value = probe.call();
      if (value != null) {
        return value;
      }
      assertThat(System.nanoTime())
          .as("condition not met within %d s", seconds)
          .isLessThan(deadline);
      Thread.sleep(100);
    }
  }
}
