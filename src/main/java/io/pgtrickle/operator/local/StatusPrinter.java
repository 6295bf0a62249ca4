package io.pgtrickle.operator.local;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.fabric8.kubernetes.api.model.HasMetadata;
import java.io.PrintWriter;
import java.io.UncheckedIOException;

/**
 * Prints resources with their status as YAML documents (apiVersion, kind, metadata, status), the
 * way {@code kubectl get -o yaml} would show them. The spec is left out: it may hold the query but
 * never credentials, and status is what local mode adds.
 */
public final class StatusPrinter {
  private final ObjectMapper yaml =
      YAMLMapper.builder()
          .enable(YAMLGenerator.Feature.MINIMIZE_QUOTES)
          .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
          .defaultPropertyInclusion(
              JsonInclude.Value.construct(
                  JsonInclude.Include.NON_NULL, JsonInclude.Include.NON_NULL))
          .build();
  private final PrintWriter out;
  private boolean first = true;

  public StatusPrinter(PrintWriter out) {
    this.out = out;
  }

  public void print(HasMetadata resource, Object status) {
    ObjectNode document = yaml.createObjectNode();
    document.put("apiVersion", resource.getApiVersion());
    document.put("kind", resource.getKind());
    ObjectNode metadata = document.putObject("metadata");
    metadata.put("name", resource.getMetadata().getName());
    metadata.put("namespace", Manifests.namespaceOf(resource));
    document.set("status", yaml.valueToTree(status));
    try {
      if (!first) {
        out.println("---");
      }
      first = false;
      out.print(yaml.writeValueAsString(document));
      out.flush();
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }
}
