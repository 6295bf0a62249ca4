package io.pgtrickle.operator.testing;

import io.pgtrickle.operator.citus.CitusNode;
import io.pgtrickle.operator.citus.CitusTopology;
import io.pgtrickle.operator.citus.ShardPlacement;
import io.pgtrickle.operator.citus.TablePlacement;
import io.pgtrickle.operator.embedded.PostgresServer;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A Citus topology the test supplies, for plain PostgreSQL servers standing in for Citus nodes
 * (test (a) of the Citus issue): the coordinator is node 0 (the engine's own database), worker
 * {@code i} is node {@code i} at localhost:its port, and one named table is "distributed" with
 * shards the test places and moves between workers.
 */
public final class ScriptedTopology extends CitusTopology {
  private final List<PostgresServer> workers;
  private final String distributedTable;
  private final Map<Long, Integer> shards = new ConcurrentHashMap<>();
  private volatile boolean undistributed;

  public ScriptedTopology(List<PostgresServer> workers, String distributedTable) {
    this.workers = List.copyOf(workers);
    this.distributedTable = distributedTable;
  }

  /** Places (or moves) a shard on worker node {@code nodeId} (1-based). */
  public void place(long shardId, int nodeId) {
    shards.put(shardId, nodeId);
  }

  /** The table made plain again, as undistribute_table does: no shards, placement local. */
  public void undistribute() {
    undistributed = true;
  }

  @Override
  public boolean isCitusLoaded(Connection connection) {
    return true;
  }

  @Override
  public TablePlacement placement(Connection connection, String schema, String table) {
    return table.equals(distributedTable) && !undistributed
        ? TablePlacement.distributed(java.util.Optional.of("id"))
        : TablePlacement.local();
  }

  @Override
  public List<CitusNode> nodes(Connection connection) {
    List<CitusNode> nodes = new ArrayList<>();
    nodes.add(new CitusNode(0, 0, "coordinator", 0, "primary", true, false));
    for (int i = 1; i <= workers.size(); i++) {
      nodes.add(worker(i));
    }
    return nodes;
  }

  @Override
  public List<ShardPlacement> shardPlacements(Connection connection, String schema, String table) {
    if (!table.equals(distributedTable) || undistributed) {
      return List.of();
    }
    Map<Integer, List<Long>> byNode = new TreeMap<>();
    new TreeMap<>(shards)
        .forEach((shard, node) -> byNode.computeIfAbsent(node, n -> new ArrayList<>()).add(shard));
    List<ShardPlacement> placements = new ArrayList<>();
    byNode.forEach((node, ids) -> placements.add(new ShardPlacement(worker(node), ids)));
    return placements;
  }

  private CitusNode worker(int nodeId) {
    return new CitusNode(
        nodeId, nodeId, "localhost", workers.get(nodeId - 1).port(), "primary", true, true);
  }
}
