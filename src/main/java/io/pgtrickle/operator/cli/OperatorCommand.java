package io.pgtrickle.operator.cli;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.pgtrickle.operator.operator.OperatorRuntime;
import io.pgtrickle.operator.operator.OperatorSettings;
import java.time.Duration;
import java.util.Arrays;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code operator}: runs the Kubernetes operator (what the container's entrypoint starts). */
@Command(
    name = "operator",
    mixinStandardHelpOptions = true,
    description = "Runs the Kubernetes operator for CitusCluster and StreamTable resources.")
final class OperatorCommand implements Callable<Integer> {
  @Option(
      names = "--namespaces",
      defaultValue = "${env:PGTRICKLE_WATCH_NAMESPACES:-}",
      description =
          "comma-separated namespaces to watch; empty: all (env PGTRICKLE_WATCH_NAMESPACES)")
  String namespaces;

  @Option(
      names = "--leader-election",
      defaultValue = "${env:PGTRICKLE_LEADER_ELECTION:-false}",
      description = "take a Lease so only one replica reconciles (env PGTRICKLE_LEADER_ELECTION)")
  boolean leaderElection;

  @Option(
      names = "--leader-election-namespace",
      defaultValue = "${env:PGTRICKLE_LEADER_ELECTION_NAMESPACE:-default}",
      description = "namespace of the Lease (env PGTRICKLE_LEADER_ELECTION_NAMESPACE)")
  String leaderElectionNamespace;

  @Option(
      names = "--status-interval",
      defaultValue = "${env:PGTRICKLE_STATUS_INTERVAL_SECONDS:-10}",
      description = "seconds between status writes of frontier progress per resource")
  long statusIntervalSeconds;

  @Option(
      names = "--resync-interval",
      defaultValue = "${env:PGTRICKLE_RESYNC_INTERVAL_SECONDS:-60}",
      description = "seconds between full re-checks of each CitusCluster")
  long resyncIntervalSeconds;

  @Option(
      names = "--slot-lag-limit-bytes",
      defaultValue = "${env:PGTRICKLE_SLOT_LAG_LIMIT_BYTES:-1073741824}",
      description =
          "WAL a capture slot may hold back before a warning (env PGTRICKLE_SLOT_LAG_LIMIT_BYTES)")
  long slotLagLimitBytes;

  @Option(
      names = "--http-port",
      defaultValue = "${env:PGTRICKLE_HTTP_PORT:-8080}",
      description = "port of /healthz, /readyz and /metrics")
  int httpPort;

  @Override
  public Integer call() throws InterruptedException {
    Set<String> watched =
        Arrays.stream(namespaces.split(",", -1))
            .map(String::strip)
            .filter(s -> !s.isEmpty())
            .collect(Collectors.toSet());
    OperatorSettings settings =
        new OperatorSettings(
            watched,
            leaderElection,
            leaderElectionNamespace,
            true,
            Duration.ofSeconds(statusIntervalSeconds),
            Duration.ofSeconds(resyncIntervalSeconds),
            httpPort,
            slotLagLimitBytes);
    KubernetesClient client = new KubernetesClientBuilder().build();
    OperatorRuntime runtime = new OperatorRuntime(client, settings);
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  runtime.close();
                  client.close();
                  stopped.countDown();
                },
                "operator-shutdown"));
    runtime.start();
    stopped.await();
    return 0;
  }
}
