package io.pgtrickle.operator.local;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Secret;
import io.pgtrickle.operator.api.ApiGroup;
import io.pgtrickle.operator.api.CitusCluster;
import io.pgtrickle.operator.api.StreamTable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * Reads the YAML documents of local mode: the same CitusCluster, StreamTable and Secret resources
 * that are applied to Kubernetes. A directory is read file by file (*.yaml, *.yml), in name order.
 * Documents of other kinds are skipped; malformed documents are errors that name the file.
 */
public final class ManifestReader {
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  private static final ObjectMapper CONVERT =
      JsonMapper.builder().disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES).build();

  private final List<String> skipped = new ArrayList<>();

  /** Kinds of documents that were skipped, with their file, for a warning. */
  public List<String> skipped() {
    return skipped;
  }

  public Manifests read(List<Path> paths) throws IOException {
    List<CitusCluster> clusters = new ArrayList<>();
    List<StreamTable> streamTables = new ArrayList<>();
    List<Secret> secrets = new ArrayList<>();
    for (Path file : files(paths)) {
      try (MappingIterator<JsonNode> documents =
          YAML.readerFor(JsonNode.class)
              .readValues(Files.newBufferedReader(file, java.nio.charset.StandardCharsets.UTF_8))) {
        while (documents.hasNext()) {
          JsonNode document = documents.next();
          if (document == null || document.isNull() || document.isEmpty()) {
            continue;
          }
          String kind = document.path("kind").asText("");
          switch (kind) {
            case "CitusCluster" -> clusters.add(convert(file, document, CitusCluster.class));
            case "StreamTable" -> streamTables.add(convert(file, document, StreamTable.class));
            case "Secret" -> secrets.add(convert(file, document, Secret.class));
            case "" -> throw new IOException(file + ": a document has no kind");
            default -> skipped.add(kind + " in " + file);
          }
        }
      } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
        throw new IOException(file + ": not valid YAML: " + e.getOriginalMessage(), e);
      }
    }
    return new Manifests(clusters, streamTables, secrets);
  }

  private static <T extends HasMetadata> T convert(Path file, JsonNode document, Class<T> type)
      throws IOException {
    String kind = document.path("kind").asText();
    String apiVersion = document.path("apiVersion").asText("");
    String wanted = type == Secret.class ? "v1" : ApiGroup.API_VERSION;
    if (!apiVersion.equals(wanted)) {
      throw new IOException(
          file + ": " + kind + " must have apiVersion " + wanted + ", not '" + apiVersion + "'");
    }
    T resource;
    try {
      resource = CONVERT.treeToValue(document, type);
    } catch (IllegalArgumentException | com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new IOException(file + ": invalid " + kind + ": " + e.getMessage(), e);
    }
    if (resource.getMetadata() == null
        || resource.getMetadata().getName() == null
        || resource.getMetadata().getName().isEmpty()) {
      throw new IOException(file + ": a " + kind + " has no metadata.name");
    }
    return resource;
  }

  private static List<Path> files(List<Path> paths) throws IOException {
    List<Path> files = new ArrayList<>();
    for (Path path : paths) {
      if (Files.isDirectory(path)) {
        try (Stream<Path> listing = Files.list(path)) {
          listing
              .filter(p -> p.toString().endsWith(".yaml") || p.toString().endsWith(".yml"))
              .filter(Files::isRegularFile)
              .sorted()
              .forEach(files::add);
        }
      } else if (Files.isRegularFile(path)) {
        files.add(path);
      } else {
        throw new IOException(path + ": no such file or directory");
      }
    }
    return files;
  }
}
