package io.pgtrickle.operator.local;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonPointer;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Secret;
import io.pgtrickle.operator.api.ApiGroup;
import io.pgtrickle.operator.api.CitusCluster;
import io.pgtrickle.operator.api.StreamTable;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.yaml.snakeyaml.error.MarkedYAMLException;

/**
 * Reads the YAML documents of local mode: the same CitusCluster, StreamTable and Secret resources
 * that are applied to Kubernetes. A directory is read file by file (*.yaml, *.yml), in name order.
 * Documents of other kinds are skipped. Reading is strict, where the API server would prune or
 * reject: YAML that does not parse, a duplicate key, a field the resource does not have (a typo
 * such as {@code shedule}) or a value of the wrong type fails with a {@link ManifestException}
 * naming the file, the line and the field. The model classes themselves stay tolerant.
 */
public final class ManifestReader {
  private static final ObjectMapper YAML =
      YAMLMapper.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build();
  private static final ObjectMapper CONVERT =
      JsonMapper.builder().enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES).build();

  private final List<String> skipped = new ArrayList<>();

  /** Kinds of documents that were skipped, with their file, for a warning. */
  public List<String> skipped() {
    return skipped;
  }

  /** Every resource of every file, or the first problem found: nothing is half read. */
  public Manifests read(List<Path> paths) throws IOException {
    List<CitusCluster> clusters = new ArrayList<>();
    List<StreamTable> streamTables = new ArrayList<>();
    List<Secret> secrets = new ArrayList<>();
    for (Path file : files(paths)) {
      try (JsonParser parser =
          YAML.createParser(Files.newBufferedReader(file, StandardCharsets.UTF_8))) {
        for (int index = 0; parser.nextToken() != null; index++) {
          Document document =
              new Document(file, index, parser.currentTokenLocation().getLineNr(), parser);
          if (document.tree == null || document.tree.isNull() || document.tree.isEmpty()) {
            continue;
          }
          String kind = document.tree.path("kind").asText("");
          switch (kind) {
            case "CitusCluster" -> clusters.add(document.convert(CitusCluster.class));
            case "StreamTable" -> streamTables.add(document.convert(StreamTable.class));
            case "Secret" -> secrets.add(document.convert(Secret.class));
            case "" -> throw document.error(JsonPointer.empty(), "a document has no kind");
            default -> skipped.add(kind + " in " + file);
          }
        }
      } catch (JsonProcessingException e) {
        throw notYaml(file, e);
      }
    }
    return new Manifests(clusters, streamTables, secrets);
  }

  /** One YAML document of a file: its tree, and where it is for messages. */
  private static final class Document {
    private final Path file;
    private final int index;
    private final int line;
    private final JsonNode tree;

    Document(Path file, int index, int line, JsonParser parser) throws IOException {
      this.file = file;
      this.index = index;
      this.line = line;
      this.tree = YAML.readTree(parser);
    }

    <T extends HasMetadata> T convert(Class<T> type) throws ManifestException {
      String kind = tree.path("kind").asText();
      String apiVersion = tree.path("apiVersion").asText("");
      String wanted = type == Secret.class ? "v1" : ApiGroup.API_VERSION;
      if (!apiVersion.equals(wanted)) {
        throw error(
            JsonPointer.compile("/apiVersion"),
            kind + " must have apiVersion " + wanted + ", not '" + apiVersion + "'");
      }
      String name = tree.path("metadata").path("name").asText("");
      String resource = name.isEmpty() ? kind : kind + " " + name;
      T converted;
      try {
        converted = CONVERT.treeToValue(tree, type);
      } catch (UnrecognizedPropertyException e) {
        Field field = Field.of(e);
        throw error(
            field.pointer,
            resource
                + ": unknown field "
                + field.path
                + " (known fields: "
                + String.join(
                    ", ",
                    e.getKnownPropertyIds().stream()
                        .map(String::valueOf)
                        .collect(Collectors.toCollection(TreeSet::new)))
                + ")",
            e);
      } catch (JsonMappingException e) {
        Field field = Field.of(e);
        throw error(
            field.pointer, resource + ": invalid " + field.path + ": " + e.getOriginalMessage(), e);
      } catch (IllegalArgumentException | JsonProcessingException e) {
        throw error(JsonPointer.empty(), "invalid " + resource + ": " + e.getMessage(), e);
      }
      if (converted.getMetadata() == null || name.isEmpty()) {
        throw error(JsonPointer.empty(), "a " + kind + " has no metadata.name");
      }
      // fabric8's own classes keep fields they do not know instead of failing on them
      requireKnown(resource, "metadata", converted.getMetadata().getAdditionalProperties());
      if (converted instanceof Secret secret) {
        requireKnown(resource, null, secret.getAdditionalProperties());
      }
      return converted;
    }

    /** Fields of {@code parent} (null: the top level) that a fabric8 class kept as unknown. */
    private void requireKnown(String resource, String parent, Map<String, Object> unknown)
        throws ManifestException {
      if (unknown != null && !unknown.isEmpty()) {
        String field = new TreeSet<>(unknown.keySet()).first();
        JsonPointer top =
            parent == null ? JsonPointer.empty() : JsonPointer.empty().appendProperty(parent);
        throw error(
            top.appendProperty(field),
            resource + ": unknown field " + (parent == null ? "" : parent + ".") + field);
      }
    }

    ManifestException error(JsonPointer at, String message) {
      return error(at, message, null);
    }

    ManifestException error(JsonPointer at, String message, Throwable cause) {
      return new ManifestException(file + ":" + lineOf(at) + ": " + message, cause);
    }

    /** The line of the value at {@code at} in this document, else the document's first line. */
    private int lineOf(JsonPointer at) {
      if (at.matches()) {
        return line;
      }
      try (JsonParser parser =
          YAML.createParser(Files.newBufferedReader(file, StandardCharsets.UTF_8))) {
        for (int i = 0; parser.nextToken() != null; i++) {
          if (i < index) {
            parser.skipChildren();
            continue;
          }
          int depth = 0;
          JsonToken token = parser.currentToken();
          while (token != null) {
            if (at.equals(parser.getParsingContext().pathAsPointer())) {
              return parser.currentTokenLocation().getLineNr();
            }
            if (token.isStructStart()) {
              depth++;
            } else if (token.isStructEnd()) {
              depth--;
            }
            if (depth == 0) {
              break;
            }
            token = parser.nextToken();
          }
          break;
        }
      } catch (IOException e) {
        // read once already; if it cannot be read again, the document's line will do
      }
      return line;
    }
  }

  /** The field a mapping error is about: as a JSON pointer, and as a path like spec.schedule. */
  private record Field(JsonPointer pointer, String path) {
    static Field of(JsonMappingException e) {
      JsonPointer pointer = JsonPointer.empty();
      StringBuilder path = new StringBuilder();
      for (JsonMappingException.Reference reference : e.getPath()) {
        if (reference.getFieldName() != null) {
          pointer = pointer.appendProperty(reference.getFieldName());
          path.append(path.length() == 0 ? "" : ".").append(reference.getFieldName());
        } else if (reference.getIndex() >= 0) {
          pointer = pointer.appendIndex(reference.getIndex());
          path.append('[').append(reference.getIndex()).append(']');
        }
      }
      return new Field(pointer, path.toString());
    }
  }

  /** A parse error as file:line:column, with the YAML parser's own words where it has them. */
  private static ManifestException notYaml(Path file, JsonProcessingException e) {
    for (Throwable cause = e; cause != null; cause = cause.getCause()) {
      if (cause instanceof MarkedYAMLException marked && marked.getProblemMark() != null) {
        return new ManifestException(
            file
                + ":"
                + (marked.getProblemMark().getLine() + 1)
                + ":"
                + (marked.getProblemMark().getColumn() + 1)
                + ": not valid YAML: "
                + (marked.getContext() == null ? "" : marked.getContext() + ": ")
                + marked.getProblem(),
            e);
      }
    }
    JsonLocation location = e.getLocation();
    String where =
        location == null || location.getLineNr() < 1
            ? ""
            : ":" + location.getLineNr() + ":" + location.getColumnNr();
    return new ManifestException(file + where + ": not valid YAML: " + e.getOriginalMessage(), e);
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
        throw new ManifestException(path + ": no such file or directory");
      }
    }
    return files;
  }
}
