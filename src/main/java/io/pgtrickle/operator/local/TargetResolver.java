package io.pgtrickle.operator.local;

import io.fabric8.kubernetes.api.model.Secret;
import io.pgtrickle.operator.api.CitusCluster;
import io.pgtrickle.operator.api.CitusClusterSpec;
import io.pgtrickle.operator.api.StreamTable;
import io.pgtrickle.operator.engine.EngineException;
import io.pgtrickle.operator.engine.Reason;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
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
      return open(
          "jdbc-url",
          () ->
              DatabaseTarget.connect(
                  jdbcUrl.get(),
                  environment.get("PGUSER"),
                  environment.get("PGPASSWORD"),
                  "--jdbc-url"));
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
      return forStreamTable(new StreamTable());
    }
    String namespace = Manifests.namespaceOf(cluster);
    String key = "cluster " + namespace + "/" + cluster.getMetadata().getName();
    DatabaseTarget existing = open.get(key);
    if (existing != null) {
      return existing;
    }
    CitusClusterSpec spec = cluster.getSpec();
    if (spec == null
        || spec.getCoordinator() == null
        || spec.getCoordinator().getHost() == null
        || spec.getCoordinator().getDatabase() == null) {
      throw new EngineException(
          Reason.InvalidSpec, key + ": spec.coordinator.host and .database are required");
    }
    Credentials credentials = credentials(namespace, spec.getCredentials());
    CitusClusterSpec.Coordinator coordinator = spec.getCoordinator();
    String url =
        "jdbc:postgresql://"
            + coordinator.getHost()
            + ":"
            + coordinator.getPort()
            + "/"
            + URLEncoder.encode(coordinator.getDatabase(), StandardCharsets.UTF_8)
            + "?sslmode="
            + URLEncoder.encode(coordinator.getSslMode(), StandardCharsets.UTF_8);
    return open(
        key, () -> DatabaseTarget.connect(url, credentials.user(), credentials.password(), key));
  }

  private Credentials credentials(String namespace, CitusClusterSpec.Credentials reference)
      throws EngineException {
    if (reference == null || reference.getSecretName() == null) {
      return new Credentials(environment.get("PGUSER"), environment.get("PGPASSWORD"));
    }
    Secret secret =
        manifests
            .secret(namespace, reference.getSecretName())
            .orElseThrow(
                () ->
                    new EngineException(
                        Reason.ClusterUnavailable,
                        "Secret "
                            + namespace
                            + "/"
                            + reference.getSecretName()
                            + " with the database credentials is not in the files"));
    return new Credentials(
        value(secret, reference.getUsernameKey()), value(secret, reference.getPasswordKey()));
  }

  private static String value(Secret secret, String key) throws EngineException {
    if (secret.getStringData() != null && secret.getStringData().containsKey(key)) {
      return secret.getStringData().get(key);
    }
    if (secret.getData() != null && secret.getData().containsKey(key)) {
      try {
        return new String(
            Base64.getDecoder().decode(secret.getData().get(key)), StandardCharsets.UTF_8);
      } catch (IllegalArgumentException e) {
        throw new EngineException(
            Reason.InvalidSpec,
            "Secret " + secret.getMetadata().getName() + " key " + key + " is not base64");
      }
    }
    throw new EngineException(
        Reason.ClusterUnavailable,
        "Secret " + secret.getMetadata().getName() + " has no key '" + key + "'");
  }

  private DatabaseTarget open(String key, Supplier<DatabaseTarget> opener) {
    return open.computeIfAbsent(key, k -> opener.get());
  }

  @Override
  public void close() {
    open.values().forEach(DatabaseTarget::close);
    open.clear();
  }

  private record Credentials(String user, String password) {}
}
