package io.pgtrickle.operator.operator;

import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.pgtrickle.operator.adopt.Adoption;
import io.pgtrickle.operator.adopt.AdoptionException;
import io.pgtrickle.operator.adopt.AdoptionReport;
import io.pgtrickle.operator.api.CitusCluster;
import io.pgtrickle.operator.catalog.UpstreamInstall;
import io.pgtrickle.operator.db.ConnectionSettings;
import io.pgtrickle.operator.db.DatabaseTarget;
import io.pgtrickle.operator.engine.EngineException;
import io.pgtrickle.operator.engine.Reason;
import io.pgtrickle.operator.engine.StreamTableEngine;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The database side of the operator (one handler per external system): a connection pool and an
 * engine per CitusCluster, rebuilt when the cluster's coordinator or its Secret changes. Reads
 * Secrets through the Kubernetes API; credentials stay in memory and never reach logs or status.
 */
public final class ClusterConnections implements AutoCloseable {
  private final KubernetesClient client;
  private final Map<String, Entry> entries = new ConcurrentHashMap<>();

  public ClusterConnections(KubernetesClient client) {
    this.client = client;
  }

  /** The CitusCluster named {@code name} in {@code namespace}, if it exists. */
  public Optional<CitusCluster> cluster(String namespace, String name) {
    return Optional.ofNullable(
        client.resources(CitusCluster.class).inNamespace(namespace).withName(name).get());
  }

  /** The StreamTables of a namespace (to tell which one another waits for). */
  public java.util.List<io.pgtrickle.operator.api.StreamTable> streamTables(String namespace) {
    return client
        .resources(io.pgtrickle.operator.api.StreamTable.class)
        .inNamespace(namespace)
        .list()
        .getItems();
  }

  /** The engine for the cluster, connected and with its catalog migrated. */
  public synchronized Handle handle(CitusCluster cluster) throws EngineException {
    String namespace = cluster.getMetadata().getNamespace();
    ConnectionSettings settings =
        ConnectionSettings.of(
            cluster,
            secretName ->
                Optional.ofNullable(
                        client.secrets().inNamespace(namespace).withName(secretName).get())
                    .map(Secret.class::cast),
            Map.of());
    String key = namespace + "/" + cluster.getMetadata().getName();
    Optional<String> queryRole = Optional.ofNullable(cluster.getSpec().getQueryRole());
    Entry entry = entries.get(key);
    if (entry != null && entry.settings.equals(settings) && entry.queryRole.equals(queryRole)) {
      return entry.handle;
    }
    if (entry != null) {
      entries.remove(key);
      entry.handle.target().close();
    }
    DatabaseTarget target = settings.connect();
    StreamTableEngine engine = target.engine(cluster.getSpec().getEndpoints(), queryRole);
    Optional<AdoptionReport> adoption = Optional.empty();
    try {
      if (Boolean.TRUE.equals(cluster.getSpec().getAdoptUpstream())) {
        adoption = adoptIfPresent(target, engine);
      }
      engine.migrateCatalog();
    } catch (EngineException e) {
      target.close();
      throw e;
    } catch (RuntimeException e) {
      target.close();
      throw new EngineException(
          Reason.ClusterUnavailable,
          "cannot reach " + settings.description() + ": " + e.getMessage(),
          e);
    }
    Handle handle = new Handle(target, engine, settings, adoption);
    entries.put(key, new Entry(settings, queryRole, handle));
    return handle;
  }

  /**
   * The opt-in of spec.adoptUpstream: adopts an upstream install found in the database, or finishes
   * an adoption that stopped half-way (both idempotent). Empty when there is none.
   */
  private static Optional<AdoptionReport> adoptIfPresent(
      DatabaseTarget target, StreamTableEngine engine) throws EngineException {
    try {
      Optional<UpstreamInstall> found;
      try (Connection connection = target.dataSource().getConnection()) {
        found = UpstreamInstall.detect(connection);
      }
      if (found.isEmpty()) {
        return Optional.empty();
      }
      AdoptionReport report = new Adoption(target.dataSource(), engine).adopt();
      if (!report.keptByOid().isEmpty() || !report.notAdopted().isEmpty()) {
        throw new EngineException(Reason.AdoptionIncomplete, String.join("; ", report.lines()));
      }
      return Optional.of(report);
    } catch (AdoptionException e) {
      throw new EngineException(Reason.AdoptionIncomplete, e.getMessage(), e);
    } catch (SQLException e) {
      throw new EngineException(
          Reason.ClusterUnavailable, "cannot look for the upstream install: " + e.getMessage(), e);
    }
  }

  /** Forgets a deleted cluster and closes its pool. */
  public synchronized void forget(String namespace, String name) {
    Entry entry = entries.remove(namespace + "/" + name);
    if (entry != null) {
      entry.handle.target().close();
    }
  }

  @Override
  public synchronized void close() {
    entries.values().forEach(e -> e.handle.target().close());
    entries.clear();
  }

  /**
   * A connected cluster: its pool, engine and the settings used, and what an adoption did when this
   * connection made one (spec.adoptUpstream).
   */
  public record Handle(
      DatabaseTarget target,
      StreamTableEngine engine,
      ConnectionSettings settings,
      Optional<AdoptionReport> adoption) {}

  private record Entry(ConnectionSettings settings, Optional<String> queryRole, Handle handle) {}
}
