package io.pgtrickle.operator.db;

import io.fabric8.kubernetes.api.model.Secret;
import io.pgtrickle.operator.api.CitusCluster;
import io.pgtrickle.operator.api.CitusClusterSpec;
import io.pgtrickle.operator.engine.EngineException;
import io.pgtrickle.operator.engine.Reason;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * How to connect to a CitusCluster's coordinator: URL, user and password (from its Secret), and a
 * description for messages. {@link #toString()} leaves the password out, so it can be logged.
 */
public record ConnectionSettings(String jdbcUrl, String user, String password, String description) {

  /**
   * Settings from the cluster's spec and its Secret, looked up by name in the cluster's namespace.
   * Without a credentials reference, {@code PGUSER}/{@code PGPASSWORD} from {@code environment}.
   */
  public static ConnectionSettings of(
      CitusCluster cluster,
      Function<String, Optional<Secret>> secrets,
      Map<String, String> environment)
      throws EngineException {
    String key = "CitusCluster " + namespace(cluster) + "/" + cluster.getMetadata().getName();
    CitusClusterSpec spec = cluster.getSpec();
    if (spec == null
        || spec.getCoordinator() == null
        || spec.getCoordinator().getHost() == null
        || spec.getCoordinator().getDatabase() == null) {
      throw new EngineException(
          Reason.InvalidSpec, key + ": spec.coordinator.host and .database are required");
    }
    CitusClusterSpec.Coordinator coordinator = spec.getCoordinator();
    String url =
        "jdbc:postgresql://"
            + coordinator.getHost()
            + ":"
            + coordinator.getPort()
            + "/"
            + URLEncoder.encode(coordinator.getDatabase(), StandardCharsets.UTF_8)
            + "?sslmode="
            + URLEncoder.encode(
                coordinator.getSslMode() == null ? "prefer" : coordinator.getSslMode(),
                StandardCharsets.UTF_8);
    CitusClusterSpec.Credentials reference = spec.getCredentials();
    if (reference == null || reference.getSecretName() == null) {
      return new ConnectionSettings(
          url, environment.get("PGUSER"), environment.get("PGPASSWORD"), key);
    }
    Secret secret =
        secrets
            .apply(reference.getSecretName())
            .orElseThrow(
                () ->
                    new EngineException(
                        Reason.ClusterUnavailable,
                        "Secret "
                            + namespace(cluster)
                            + "/"
                            + reference.getSecretName()
                            + " with the database credentials is not found"));
    return new ConnectionSettings(
        url,
        value(secret, reference.getUsernameKey()),
        value(secret, reference.getPasswordKey()),
        key);
  }

  public DatabaseTarget connect() {
    return DatabaseTarget.connect(jdbcUrl, user, password, description);
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

  private static String namespace(CitusCluster cluster) {
    String namespace = cluster.getMetadata().getNamespace();
    return namespace == null || namespace.isEmpty() ? "default" : namespace;
  }

  @Override
  public String toString() {
    return "ConnectionSettings[" + description + ", " + jdbcUrl + ", user=" + user + "]";
  }
}
