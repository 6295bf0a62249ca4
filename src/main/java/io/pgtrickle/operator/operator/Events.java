package io.pgtrickle.operator.operator;

import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectReferenceBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import java.time.Instant;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Kubernetes Events about our resources (core/v1), for failures and cleanup. Best effort. */
public final class Events {
  private static final Logger LOG = LoggerFactory.getLogger(Events.class);
  private static final String COMPONENT = "pg-trickle-operator";

  private final KubernetesClient client;

  public Events(KubernetesClient client) {
    this.client = client;
  }

  public void warning(HasMetadata resource, String reason, String message) {
    publish(resource, "Warning", reason, message);
  }

  public void normal(HasMetadata resource, String reason, String message) {
    publish(resource, "Normal", reason, message);
  }

  private void publish(HasMetadata resource, String type, String reason, String message) {
    String namespace = resource.getMetadata().getNamespace();
    String now = Instant.now().toString();
    try {
      client
          .v1()
          .events()
          .inNamespace(namespace)
          .resource(
              new EventBuilder()
                  .withNewMetadata()
                  .withName(resource.getMetadata().getName() + "." + UUID.randomUUID())
                  .withNamespace(namespace)
                  .endMetadata()
                  .withInvolvedObject(
                      new ObjectReferenceBuilder()
                          .withApiVersion(resource.getApiVersion())
                          .withKind(resource.getKind())
                          .withName(resource.getMetadata().getName())
                          .withNamespace(namespace)
                          .withUid(resource.getMetadata().getUid())
                          .build())
                  .withType(type)
                  .withReason(reason)
                  .withMessage(message)
                  .withFirstTimestamp(now)
                  .withLastTimestamp(now)
                  .withCount(1)
                  .withNewSource()
                  .withComponent(COMPONENT)
                  .endSource()
                  .build())
          .create();
    } catch (KubernetesClientException e) {
      LOG.debug(
          "could not record event {} on {}: {}",
          reason,
          resource.getMetadata().getName(),
          e.getMessage());
    }
  }
}
