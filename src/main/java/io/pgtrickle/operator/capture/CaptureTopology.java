package io.pgtrickle.operator.capture;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;

/**
 * Where a WAL-captured source's data lives: the nodes with its slots (by Citus node id) and, for a
 * distributed table, which node holds each shard. Recorded in pgt_change_tracking when capture
 * begins and compared at every refresh: a node that joined or left the source, or a shard that
 * moved, means changes may have bypassed the slots, so the source is re-synced in full.
 *
 * <p>{@code truncateOnlyNodes}: nodes whose slot is there for TRUNCATE alone — the Citus
 * coordinator of a distributed table whose shards it does not hold. A TRUNCATE of a distributed
 * table reaches the worker slots only under shard names outside the publication, so no worker slot
 * emits it; the coordinator's truncate of the table's shell is in the publication, and its slot
 * emits it. Such a node holds none of the data, so it is no part of the comparison (a topology
 * recorded before it existed does not differ for lacking it).
 */
record CaptureTopology(
    Map<Integer, CaptureNode> nodes, Map<Long, Integer> shards, Set<Integer> truncateOnlyNodes) {
  private static final ObjectMapper JSON = new ObjectMapper();

  CaptureTopology {
    nodes = Map.copyOf(nodes);
    shards = Map.copyOf(shards);
    // Absent from topologies recorded before TRUNCATE of distributed tables was captured.
    truncateOnlyNodes = truncateOnlyNodes == null ? Set.of() : Set.copyOf(truncateOnlyNodes);
  }

  static CaptureTopology of(List<CaptureNode> nodes, Map<Long, Integer> shards) {
    return of(nodes, shards, Set.of());
  }

  static CaptureTopology of(
      List<CaptureNode> nodes, Map<Long, Integer> shards, Set<Integer> truncateOnlyNodes) {
    Map<Integer, CaptureNode> byId = new HashMap<>();
    nodes.forEach(n -> byId.put(n.nodeId(), n));
    return new CaptureTopology(byId, shards, truncateOnlyNodes);
  }

  /** Whether the node's slot is read for TRUNCATE only (it holds none of the source's rows). */
  boolean truncatesOnly(CaptureNode node) {
    return truncateOnlyNodes.contains(node.nodeId());
  }

  /** The nodes in node-id order (the maps themselves keep none). */
  List<CaptureNode> nodeList() {
    return new TreeMap<>(nodes).values().stream().toList();
  }

  /**
   * What differs from {@code before}, for people ("node w3:5432 (id 4) added; shard 102009 moved
   * from node 1 to node 4"); empty when nothing does. Node names may change (an endpoint override)
   * without the data moving, so only ids count.
   */
  String changesSince(CaptureTopology before) {
    List<String> changes = new ArrayList<>();
    nodes.forEach(
        (id, node) -> {
          if (!before.nodes.containsKey(id) && !truncateOnly(id, before)) {
            changes.add("node " + node.name() + " (id " + id + ") added");
          }
        });
    before.nodes.forEach(
        (id, node) -> {
          if (!nodes.containsKey(id) && !truncateOnly(id, before)) {
            changes.add("node " + node.name() + " (id " + id + ") removed");
          }
        });
    List<String> moved = new ArrayList<>();
    shards.forEach(
        (shard, node) -> {
          Integer was = before.shards.get(shard);
          if (was != null && !Objects.equals(was, node)) {
            moved.add("shard " + shard + " moved from node " + was + " to node " + node);
          }
        });
    if (moved.size() > 3) {
      changes.add(
          moved.size() + " shards moved (" + String.join(", ", moved.subList(0, 3)) + ", …)");
    } else {
      changes.addAll(moved);
    }
    if (!shards.keySet().equals(before.shards.keySet())) {
      String counts = " (" + before.shards.size() + " → " + shards.size() + ")";
      if (!before.shards.isEmpty() && disjoint(shards.keySet(), before.shards.keySet())) {
        // New shard ids throughout: the table was dropped and created again, or undistributed
        // and distributed again (seen on Citus 13 as "32 → 32"), not split or merged.
        changes.add("every shard replaced" + counts);
      } else {
        changes.add("shards split or merged" + counts);
      }
    }
    return String.join("; ", changes);
  }

  /** A node whose slot is for TRUNCATE alone, now or before: it holds none of the data. */
  private boolean truncateOnly(int id, CaptureTopology before) {
    return truncateOnlyNodes.contains(id) || before.truncateOnlyNodes.contains(id);
  }

  private static boolean disjoint(Set<Long> a, Set<Long> b) {
    return a.stream().noneMatch(b::contains);
  }

  String toJson() {
    try {
      return JSON.writeValueAsString(this);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("cannot write a capture topology: " + e.getMessage(), e);
    }
  }

  static CaptureTopology fromJson(String json) {
    try {
      return JSON.readValue(json, CaptureTopology.class);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(
          "unreadable capture topology in catalog: " + e.getMessage(), e);
    }
  }
}
