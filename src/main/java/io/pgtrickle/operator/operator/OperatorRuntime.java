package io.pgtrickle.operator.operator;

import io.fabric8.kubernetes.client.KubernetesClient;
import io.javaoperatorsdk.operator.Operator;
import io.javaoperatorsdk.operator.api.config.LeaderElectionConfigurationBuilder;
import io.javaoperatorsdk.operator.monitoring.micrometer.MicrometerMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.pgtrickle.operator.engine.RefreshScheduler;
import java.time.Clock;
import java.util.List;
import java.util.UUID;

/**
 * Wires the operator: JOSDK with server-side apply off (one patch mode for every write, which the
 * fabric8 mock server also supports), metrics, optional leader election (a Lease), the refresh
 * scheduler, the two reconcilers and the health endpoints.
 */
public final class OperatorRuntime implements AutoCloseable {
  private static final List<String> STREAM_TABLE_PROGRESS =
      List.of(
          "conditions[].lastTransitionTime",
          "sources[].frontier[].lsn",
          "sources[].frontier[].lagBytes",
          "lastRefresh",
          "maxLagBytes");
  private static final List<String> CLUSTER_PROGRESS = List.of("conditions[].lastTransitionTime");

  private final Operator operator;
  private final RefreshScheduler scheduler;
  private final ClusterConnections connections;
  private final HealthServer health;
  private final PrometheusMeterRegistry registry;

  public OperatorRuntime(KubernetesClient client, OperatorSettings settings) {
    this.registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    Clock clock = Clock.systemUTC();
    this.connections = new ClusterConnections(client);
    RefreshTracker tracker = new RefreshTracker(registry);
    this.scheduler = new RefreshScheduler(2, tracker);
    Events events = new Events(client);
    this.operator =
        new Operator(
            overrider -> {
              overrider
                  .withKubernetesClient(client)
                  .withCloseClientOnStop(false)
                  .withUseSSAToPatchPrimaryResource(false)
                  .withMetrics(MicrometerMetrics.withoutPerResourceMetrics(registry));
              if (settings.leaderElection()) {
                overrider.withLeaderElectionConfiguration(
                    LeaderElectionConfigurationBuilder.aLeaderElectionConfiguration(
                            OperatorSettings.LEASE_NAME)
                        .withLeaseNamespace(settings.leaderElectionNamespace())
                        .withIdentity(identity())
                        .withExitOnStopLeading(settings.exitOnLostLeadership())
                        .build());
              }
            });
    StreamTableReconciler streamTables =
        new StreamTableReconciler(
            connections,
            new Scheduling(scheduler),
            tracker,
            new StatusRecorder(settings.statusInterval(), clock, STREAM_TABLE_PROGRESS),
            events,
            settings,
            clock);
    CitusClusterReconciler clusters =
        new CitusClusterReconciler(
            connections,
            new ClusterInspector(),
            new StatusRecorder(settings.statusInterval(), clock, CLUSTER_PROGRESS),
            events,
            settings,
            clock);
    operator.register(clusters, o -> namespaces(o, settings));
    operator.register(streamTables, o -> namespaces(o, settings));
    this.health =
        new HealthServer(
            settings.httpPort(),
            () -> true,
            () -> operator.getRuntimeInfo().allEventSourcesAreHealthy(),
            registry);
  }

  /** The pod name (HOSTNAME) made unique per process, so a restarted pod is a new candidate. */
  private static String identity() {
    String host = System.getenv("HOSTNAME");
    return (host == null || host.isBlank() ? "pg-trickle-operator" : host)
        + "-"
        + UUID.randomUUID().toString().substring(0, 8);
  }

  private static void namespaces(
      io.javaoperatorsdk.operator.api.config.ControllerConfigurationOverrider<?> overrider,
      OperatorSettings settings) {
    if (settings.namespaces().isEmpty()) {
      overrider.watchingAllNamespaces();
    } else {
      overrider.settingNamespaces(settings.namespaces());
    }
  }

  public void start() {
    health.start();
    operator.start();
  }

  public int healthPort() {
    return health.port();
  }

  public PrometheusMeterRegistry registry() {
    return registry;
  }

  @Override
  public void close() {
    operator.stop();
    scheduler.close();
    connections.close();
    health.close();
  }
}
