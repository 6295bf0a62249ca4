package io.pgtrickle.operator.local;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Secret;
import io.pgtrickle.operator.api.CitusCluster;
import io.pgtrickle.operator.api.StreamTable;
import java.util.List;
import java.util.Optional;

/** The resources read from the files given to local mode. */
public record Manifests(
    List<CitusCluster> clusters, List<StreamTable> streamTables, List<Secret> secrets) {
  public static final String DEFAULT_NAMESPACE = "default";

  public Manifests {
    clusters = List.copyOf(clusters);
    streamTables = List.copyOf(streamTables);
    secrets = List.copyOf(secrets);
  }

  public Optional<CitusCluster> cluster(String namespace, String name) {
    return clusters.stream().filter(c -> matches(c, namespace, name)).findFirst();
  }

  public Optional<Secret> secret(String namespace, String name) {
    return secrets.stream().filter(s -> matches(s, namespace, name)).findFirst();
  }

  public static String namespaceOf(HasMetadata resource) {
    String namespace = resource.getMetadata().getNamespace();
    return namespace == null || namespace.isEmpty() ? DEFAULT_NAMESPACE : namespace;
  }

  private static boolean matches(HasMetadata resource, String namespace, String name) {
    return namespaceOf(resource).equals(namespace) && name.equals(resource.getMetadata().getName());
  }
}
