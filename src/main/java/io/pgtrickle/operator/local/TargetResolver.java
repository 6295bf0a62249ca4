package io.pgtrickle.operator.local;

import io.pgtrickle.operator.api.CitusCluster;
import io.pgtrickle.operator.api.StreamTable;
import io.pgtrickle.operator.db.ConnectionSettings;
import io.pgtrickle.operator.db.DatabaseTarget;
import io.pgtrickle.operator.engine.EngineException;
import io.pgtrickle.operator.engine.Reason;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Decides which database each resource of local mode works on: the --jdbc-url if given (it wins),
 * else the coordinator of the StreamTable's CitusCluster with the credentials of its Secret, else
 * (no CitusCluster in the files at all) an embedded PostgreSQL. Opens each database once.
 */
public final class TargetResolver implements AutoCloseable {
  private final Manifests manifests;
  private final Optional<String> jdbcUrl;
  private final Map<String, String> environment;
  private final Supplier<DatabaseTarget> embeddedStarter;
  private final Map<String, DatabaseTarget> open = new LinkedHashMap<>();

  public TargetResolver(
      Manifests manifests,
      Optional<String> jdbcUrl,
      Map<String, String> environment,
      Supplier<DatabaseTarget> embeddedStarter) {
    this.manifests = manifests;
    this.jdbcUrl = jdbcUrl;
    this.environment = environment;
    this.embeddedStarter = embeddedStarter;
  }

  public DatabaseTarget forStreamTable(StreamTable streamTable) throws EngineException {
    if (jdbcUrl.isPresent()) {
      return jdbcTarget(jdbcUrl.get());
    }
    String clusterRef =
        streamTable.getSpec() == null ? null : streamTable.getSpec().getClusterRef();
    String namespace = Manifests.namespaceOf(streamTable);
    if (clusterRef == null || clusterRef.isEmpty()) {
      if (manifests.clusters().isEmpty()) {
        return open("embedded", embeddedStarter);
      }
      throw new EngineException(
          Reason.InvalidSpec,
          "spec.clusterRef is required: name the CitusCluster that holds the sources");
    }
    CitusCluster cluster =
        manifests
            .cluster(namespace, clusterRef)
            .orElseThrow(
                () ->
                    new EngineException(
                        Reason.ClusterUnavailable,
                        "CitusCluster " + namespace + "/" + clusterRef + " is not in the files"));
    return forCluster(cluster);
  }

  public DatabaseTarget forCluster(CitusCluster cluster) throws EngineException {
    if (jdbcUrl.isPresent()) {
      return jdbcTarget(jdbcUrl.get());
    }
    String namespace = Manifests.namespaceOf(cluster);
    String key = "cluster " + namespace + "/" + cluster.getMetadata().getName();
    DatabaseTarget existing = open.get(key);
    if (existing != null) {
      return existing;
    }
    ConnectionSettings settings =
        ConnectionSettings.of(cluster, name -> manifests.secret(namespace, name), environment);
    return open(key, settings::connect);
  }

  /**
   * The databases local mode declares stream tables in, the ones {@code --prune} works on: the
   * --jdbc-url's, else the coordinator of each CitusCluster in the files. Never the embedded
   * PostgreSQL: it goes with the command, so no earlier run left anything in it. A cluster whose
   * settings are unusable (no Secret, ...) is left out and reported to {@code unusable}.
   */
  public List<DatabaseTarget> declaredDatabases(Consumer<EngineException> unusable) {
    if (jdbcUrl.isPresent()) {
      return List.of(jdbcTarget(jdbcUrl.get()));
    }
    List<DatabaseTarget> databases = new ArrayList<>();
    for (CitusCluster cluster : manifests.clusters()) {
      try {
        databases.add(forCluster(cluster));
      } catch (EngineException e) {
        unusable.accept(e);
      }
    }
    return databases;
  }

  private DatabaseTarget jdbcTarget(String url) {
    return open("jdbc-url", () -> DatabaseTarget.fromCommandLine(url, environment));
  }

  private DatabaseTarget open(String key, Supplier<DatabaseTarget> opener) {
    return open.computeIfAbsent(key, k -> opener.get());
  }

  @Override
  public void close() {
    open.values().forEach(DatabaseTarget::close);
    open.clear();
  }
}
