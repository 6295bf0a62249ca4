package io.pgtrickle.operator.operator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Decides whether a new status is worth an API write. A change in what matters (conditions,
 * objects, sources) is written at once; progress alone (frontier LSNs, lag, last refresh) at most
 * once per interval per resource, so refresh ticks never cause one write each. Compares with the
 * status the resource carries now, so a restarted operator writes nothing new either.
 */
public final class StatusRecorder {
  private static final ObjectMapper JSON = new ObjectMapper();

  private final Duration progressInterval;
  private final Clock clock;
  private final List<String> progressPaths;
  private final Map<String, Instant> lastWrite = new ConcurrentHashMap<>();

  /**
   * @param progressPaths dotted paths of progress fields; a "[]" segment means every array item
   */
  public StatusRecorder(Duration progressInterval, Clock clock, List<String> progressPaths) {
    this.progressInterval = progressInterval;
    this.clock = clock;
    this.progressPaths = List.copyOf(progressPaths);
  }

  /** Whether {@code next} should replace {@code current} now; records the write if so. */
  public boolean shouldWrite(String resourceUid, Object current, Object next) {
    JsonNode currentTree = current == null ? null : JSON.valueToTree(current);
    JsonNode nextTree = JSON.valueToTree(next);
    if (Objects.equals(currentTree, nextTree)) {
      return false;
    }
    Instant now = clock.instant();
    boolean significant =
        currentTree == null || !withoutProgress(currentTree).equals(withoutProgress(nextTree));
    Instant previous = lastWrite.get(resourceUid);
    boolean due = previous == null || !now.isBefore(previous.plus(progressInterval));
    if (significant || due) {
      lastWrite.put(resourceUid, now);
      return true;
    }
    return false;
  }

  /** Forgets a deleted resource. */
  public void forget(String resourceUid) {
    lastWrite.remove(resourceUid);
  }

  private JsonNode withoutProgress(JsonNode tree) {
    JsonNode copy = tree.deepCopy();
    for (String path : progressPaths) {
      remove(copy, path.split("\\.", -1), 0);
    }
    return copy;
  }

  private static void remove(JsonNode node, String[] path, int index) {
    String segment = path[index];
    boolean each = segment.endsWith("[]");
    String field = each ? segment.substring(0, segment.length() - 2) : segment;
    if (!(node instanceof ObjectNode object)) {
      return;
    }
    if (index == path.length - 1) {
      object.remove(field);
      return;
    }
    JsonNode child = object.get(field);
    if (each && child instanceof ArrayNode array) {
      array.forEach(item -> remove(item, path, index + 1));
    } else if (child != null) {
      remove(child, path, index + 1);
    }
  }
}
