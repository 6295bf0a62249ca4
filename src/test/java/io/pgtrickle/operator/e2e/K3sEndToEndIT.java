package io.pgtrickle.operator.e2e;

import static org.assertj.core.api.Assertions.assertThat;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.model.ContainerNetwork;
import com.marcnuri.helm.Helm;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.pgtrickle.operator.api.NodeFrontier;
import io.pgtrickle.operator.api.SourceStatus;
import io.pgtrickle.operator.api.StreamTable;
import io.pgtrickle.operator.status.Conditions;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.Container.ExecResult;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.Network;
import org.testcontainers.containers.wait.strategy.Wait;
import org.testcontainers.images.builder.ImageFromDockerfile;
import org.testcontainers.k3s.K3sContainer;
import org.testcontainers.utility.DockerImageName;
import org.testcontainers.utility.MountableFile;

/**
 * The whole product as a user installs it: the operator image built from operator/Dockerfile, the
 * Helm chart installed into a real k3s, PostgreSQL in a container, manifests/examples applied; the
 * StreamTables become Ready with frontiers, follow writes, and deleting them leaves the database
 * clean. Needs a Docker engine, so it runs with {@code ./mvnw verify -Pe2e-k3s} and is reported
 * skipped with its reason otherwise. Images are pinned; every wait is bounded.
 */
@ExtendWith(K3sEndToEndIT.DockerAndProfile.class)
class K3sEndToEndIT {
  private static final Path ROOT = Path.of(System.getProperty("project.basedir", "."));
  private static final String K3S_IMAGE = "rancher/k3s:v1.31.4-k3s1";
  private static final String POSTGRES_IMAGE = "postgres:16.6";
  private static final String OPERATOR_REPOSITORY = "pgtrickle/pg-trickle-operator";
  private static final String OPERATOR_TAG = "e2e";
  private static final String NAMESPACE = "pg-trickle-system";
  private static final String USER = "pgtrickle";
  private static final String PASSWORD = "e2e-password";
  private static final Duration WAIT = Duration.ofMinutes(4);

  @Test
  void chartAndExamplesEndToEnd() throws Exception {
    Path jar = ROOT.resolve("target/pg-trickle-operator.jar");
    assertThat(jar).as("the jar is built before the integration tests (package phase)").exists();
    try (Network network = Network.newNetwork();
        GenericContainer<?> postgres =
            new GenericContainer<>(DockerImageName.parse(POSTGRES_IMAGE))
                .withNetwork(network)
                .withEnv("POSTGRES_USER", USER)
                .withEnv("POSTGRES_PASSWORD", PASSWORD)
                .withEnv("POSTGRES_DB", "app")
                .withCommand("postgres", "-c", "wal_level=logical")
                .withExposedPorts(5432)
                .waitingFor(
                    Wait.forLogMessage(".*database system is ready to accept connections.*", 2)
                        .withStartupTimeout(WAIT));
        K3sContainer k3s =
            new K3sContainer(DockerImageName.parse(K3S_IMAGE))
                .withNetwork(network)
                .withStartupTimeout(WAIT)) {
      postgres.start();
      k3s.start();
      loadSampleSchema(postgres);
      importOperatorImage(k3s, buildOperatorImage(jar));
      try (KubernetesClient client =
          new KubernetesClientBuilder()
              .withConfig(Config.fromKubeconfig(k3s.getKubeConfigYaml()))
              .build()) {
        try {
          installChart(client);
          applyExamples(client, addressOnNetwork(postgres, network));
          run(client, postgres);
        } catch (Exception | AssertionError e) {
          dumpOperatorLogs(client);
          throw e;
        }
      }
    }
  }

  private static void run(KubernetesClient client, GenericContainer<?> postgres) throws Exception {
    StreamTable large = await(() -> readyWithFrontiers(client, "large-orders"));
    await(() -> readyWithFrontiers(client, "revenue-by-region"));
    String lsnBefore = frontier(large).get(0).getLsn();

    execute(postgres, "INSERT INTO orders (customer_id, amount) VALUES (1, 990), (2, 995)");
    await(
        () -> {
          StreamTable now = readyWithFrontiers(client, "large-orders");
          return now != null && !frontier(now).get(0).getLsn().equals(lsnBefore) ? now : null;
        });
    assertThat(queryLong(postgres, "SELECT count(*) FROM large_orders WHERE amount >= 990"))
        .isEqualTo(2);

    for (String name : List.of("large-orders", "revenue-by-region")) {
      client.resources(StreamTable.class).inNamespace("default").withName(name).delete();
    }
    await(
        () ->
            client.resources(StreamTable.class).inNamespace("default").list().getItems().isEmpty()
                ? true
                : null);
    assertThat(queryLong(postgres, "SELECT count(*) FROM pgtrickle.pgt_stream_tables")).isZero();
    assertThat(queryLong(postgres, "SELECT count(*) FROM pgtrickle.pgt_change_tracking")).isZero();
    assertThat(
            queryLong(
                postgres, "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'pg_trickle_cdc_%'"))
        .isZero();
    assertThat(queryLong(postgres, "SELECT count(*) FROM pg_class WHERE relname = 'large_orders'"))
        .as("deletionPolicy: Retain keeps the table")
        .isEqualTo(1);
    assertThat(
            queryLong(
                postgres, "SELECT count(*) FROM pg_class WHERE relname = 'revenue_by_region'"))
        .isZero();
  }

  private static StreamTable readyWithFrontiers(KubernetesClient client, String name) {
    StreamTable st =
        client.resources(StreamTable.class).inNamespace("default").withName(name).get();
    if (st == null
        || st.getStatus() == null
        || !Conditions.isTrue(st.getStatus().getConditions(), Conditions.READY)
        || st.getStatus().getSources().isEmpty()) {
      return null;
    }
    for (SourceStatus source : st.getStatus().getSources()) {
      if (source.getFrontier() == null
          || source.getFrontier().isEmpty()
          || source.getFrontier().get(0).getLsn() == null) {
        return null;
      }
    }
    return st;
  }

  private static List<NodeFrontier> frontier(StreamTable st) {
    return st.getStatus().getSources().get(0).getFrontier();
  }

  /** The image from operator/Dockerfile, with the build context the Dockerfile expects. */
  private static String buildOperatorImage(Path jar) {
    return new ImageFromDockerfile(OPERATOR_REPOSITORY + ":" + OPERATOR_TAG, false)
        .withFileFromPath("target/pg-trickle-operator.jar", jar)
        .withFileFromPath("operator/entrypoint.sh", ROOT.resolve("operator/entrypoint.sh"))
        .withFileFromPath("operator/Dockerfile", ROOT.resolve("operator/Dockerfile"))
        .withBuildImageCmdModifier(build -> build.withDockerfilePath("operator/Dockerfile"))
        .get();
  }

  /**
   * k3s runs its own containerd, which does not see the Docker engine's images and must not pull
   * ours from a registry: the image is saved from Docker and imported into k3s's containerd.
   */
  private static void importOperatorImage(K3sContainer k3s, String image) throws Exception {
    DockerClient docker = DockerClientFactory.instance().client();
    Path tar = Files.createTempFile("pg-trickle-operator-image", ".tar");
    try {
      try (InputStream saved = docker.saveImageCmd(image).exec()) {
        Files.copy(saved, tar, StandardCopyOption.REPLACE_EXISTING);
      }
      k3s.copyFileToContainer(MountableFile.forHostPath(tar), "/tmp/operator-image.tar");
      ExecResult result =
          k3s.execInContainer("ctr", "-n", "k8s.io", "images", "import", "/tmp/operator-image.tar");
      assertThat(result.getExitCode()).as(result.getStderr()).isZero();
    } finally {
      Files.deleteIfExists(tar);
    }
  }

  /** The chart as `helm install` would render it, with the imported image and no pulls. */
  private static void installChart(KubernetesClient client) {
    client
        .namespaces()
        .resource(
            new NamespaceBuilder().withNewMetadata().withName(NAMESPACE).endMetadata().build())
        .create();
    String rendered =
        new Helm(ROOT.resolve("helm/pg-trickle-operator"))
            .template()
            .withName("pg-trickle-operator")
            .withNamespace(NAMESPACE)
            .set("image.repository", OPERATOR_REPOSITORY)
            .set("image.tag", OPERATOR_TAG)
            .set("image.pullPolicy", "Never")
            .call();
    client.resourceList(rendered).inNamespace(NAMESPACE).forceConflicts().serverSideApply();
    for (String crd : List.of("streamtables.pgtrickle.io", "citusclusters.pgtrickle.io")) {
      client
          .apiextensions()
          .v1()
          .customResourceDefinitions()
          .withName(crd)
          .waitUntilCondition(
              c ->
                  c != null
                      && c.getStatus() != null
                      && c.getStatus().getConditions().stream()
                          .anyMatch(
                              x ->
                                  "Established".equals(x.getType())
                                      && "True".equals(x.getStatus())),
              WAIT.toSeconds(),
              java.util.concurrent.TimeUnit.SECONDS);
    }
  }

  /** manifests/examples as a user applies them, after editing the coordinator and password. */
  private static void applyExamples(KubernetesClient client, String postgresAddress)
      throws Exception {
    Path examples = ROOT.resolve("manifests/examples");
    String cluster =
        Files.readString(examples.resolve("cluster.yaml"), StandardCharsets.UTF_8)
            .replace("analytics-coordinator.databases.svc", postgresAddress)
            .replace("password: change-me", "password: " + PASSWORD);
    client.resourceList(cluster).inNamespace("default").forceConflicts().serverSideApply();
    for (String file : List.of("large-orders.yaml", "revenue-by-region.yaml")) {
      client
          .resourceList(Files.readString(examples.resolve(file), StandardCharsets.UTF_8))
          .inNamespace("default")
          .forceConflicts()
          .serverSideApply();
    }
  }

  /** Pods reach PostgreSQL through k3s's node, which shares the Docker network with it. */
  private static String addressOnNetwork(GenericContainer<?> postgres, Network network) {
    return postgres.getContainerInfo().getNetworkSettings().getNetworks().values().stream()
        .filter(n -> network.getId().equals(n.getNetworkID()))
        .map(ContainerNetwork::getIpAddress)
        .findFirst()
        .orElseThrow();
  }

  private static void loadSampleSchema(GenericContainer<?> postgres) throws Exception {
    execute(
        postgres,
        Files.readString(
            ROOT.resolve("manifests/examples/sample-schema.sql"), StandardCharsets.UTF_8));
  }

  private static Connection connect(GenericContainer<?> postgres) throws Exception {
    return DriverManager.getConnection(
        "jdbc:postgresql://"
            + postgres.getHost()
            + ":"
            + postgres.getMappedPort(5432)
            + "/app?user="
            + USER
            + "&password="
            + PASSWORD);
  }

  private static void execute(GenericContainer<?> postgres, String sql) throws Exception {
    try (Connection connection = connect(postgres);
        Statement statement = connection.createStatement()) {
      statement.execute(sql);
    }
  }

  private static long queryLong(GenericContainer<?> postgres, String sql) throws Exception {
    try (Connection connection = connect(postgres);
        Statement statement = connection.createStatement();
        ResultSet rs = statement.executeQuery(sql)) {
      rs.next();
      return rs.getLong(1);
    }
  }

  private static void dumpOperatorLogs(KubernetesClient client) {
    try {
      for (Pod pod : client.pods().inNamespace(NAMESPACE).list().getItems()) {
        System.err.println(
            "--- log of "
                + pod.getMetadata().getName()
                + " ---\n"
                + client
                    .pods()
                    .inNamespace(NAMESPACE)
                    .withName(pod.getMetadata().getName())
                    .getLog());
      }
    } catch (RuntimeException e) {
      System.err.println("could not read the operator's logs: " + e.getMessage());
    }
  }

  private static <T> T await(Callable<T> probe) throws Exception {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (true) {
      T value = probe.call();
      if (value != null) {
        return value;
      }
      assertThat(System.nanoTime()).as("condition not met within %s", WAIT).isLessThan(deadline);
      Thread.sleep(1_000);
    }
  }

  /** Runs only with -Pe2e-k3s, and only where a Docker engine answers; says why otherwise. */
  static final class DockerAndProfile implements ExecutionCondition {
    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
      if (!Boolean.getBoolean("pgtrickle.e2e.k3s")) {
        return ConditionEvaluationResult.disabled(
            "the k3s end-to-end test runs with ./mvnw verify -Pe2e-k3s on a machine with Docker"
                + " (docs/testing.md)");
      }
      if (!DockerClientFactory.instance().isDockerAvailable()) {
        return ConditionEvaluationResult.disabled(
            "no Docker engine answers here; the k3s end-to-end test needs one (Testcontainers)");
      }
      return ConditionEvaluationResult.enabled("-Pe2e-k3s and Docker are there");
    }
  }
}
