package io.pgtrickle.operator.engine;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.pgtrickle.operator.naming.StableName;
import java.util.Collections;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * A stream table's progress: per source (by stable name, never OID) and per node, a {@link
 * NodeMark}. Marks of different sources or nodes are never compared with each other. Immutable.
 */
public final class Frontier {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final TypeReference<Map<String, Map<Integer, NodeMark>>> SHAPE =
      new TypeReference<>() {};

  private final Map<String, Map<Integer, NodeMark>> sources;

  private Frontier(Map<String, Map<Integer, NodeMark>> sources) {
    this.sources = sources;
  }

  public static Frontier empty() {
    return new Frontier(Map.of());
  }

  public static Frontier fromJson(String json) {
    if (json == null || json.isBlank()) {
      return empty();
    }
    try {
      return new Frontier(copy(JSON.readValue(json, SHAPE)));
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("unreadable frontier in catalog: " + e.getMessage(), e);
    }
  }

  public String toJson() {
    try {
      return JSON.writeValueAsString(sources);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  public Optional<NodeMark> mark(StableName source, int nodeId) {
    return Optional.ofNullable(sources.getOrDefault(source.value(), Map.of()).get(nodeId));
  }

  /** Marks of one source, by node id. */
  public Map<Integer, NodeMark> marks(StableName source) {
    return Collections.unmodifiableMap(sources.getOrDefault(source.value(), Map.of()));
  }

  public Frontier with(StableName source, int nodeId, NodeMark mark) {
    Map<String, Map<Integer, NodeMark>> next = copy(sources);
    next.computeIfAbsent(source.value(), k -> new TreeMap<>()).put(nodeId, mark);
    return new Frontier(next);
  }

  /** Keeps only the given sources (after a query change dropped some). */
  public Frontier retainOnly(java.util.Collection<StableName> keep) {
    Map<String, Map<Integer, NodeMark>> next = copy(sources);
    next.keySet().retainAll(keep.stream().map(StableName::value).toList());
    return new Frontier(next);
  }

  private static Map<String, Map<Integer, NodeMark>> copy(
      Map<String, Map<Integer, NodeMark>> from) {
    Map<String, Map<Integer, NodeMark>> to = new TreeMap<>();
    from.forEach((k, v) -> to.put(k, new TreeMap<>(v)));
    return to;
  }

  @Override
  public boolean equals(Object other) {
    return other instanceof Frontier f && f.sources.equals(sources);
  }

  @Override
  public int hashCode() {
    return sources.hashCode();
  }

  @Override
  public String toString() {
    return toJson();
  }
}
