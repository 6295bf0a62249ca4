package io.pgtrickle.operator.capture;

import io.pgtrickle.operator.catalog.CdcMode;
import io.pgtrickle.operator.catalog.Placement;
import io.pgtrickle.operator.catalog.TrackedSource;
import io.pgtrickle.operator.citus.CitusNode;
import io.pgtrickle.operator.citus.CitusTopology;
import io.pgtrickle.operator.citus.ShardPlacement;
import io.pgtrickle.operator.citus.TablePlacement;
import io.pgtrickle.operator.engine.EngineException;
import io.pgtrickle.operator.engine.Reason;
import io.pgtrickle.operator.engine.SourceTable;
import io.pgtrickle.operator.engine.StreamTableDefinition;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * How one source is captured: its Citus placement, trigger or WAL, and on which nodes. Local tables
 * use triggers unless WAL is asked for; reference and distributed tables can only be captured from
 * WAL (Citus refuses triggers on them): a reference table on the coordinator, a distributed table
 * on every node that holds its shards and, for its TRUNCATEs, on the coordinator.
 */
public record CapturePlan(
    SourceTable source, Placement placement, CdcMode mode, CaptureTopology topology) {

  public static List<CapturePlan> of(
      Connection coordinator,
      CitusTopology topology,
      List<SourceTable> sources,
      StreamTableDefinition definition)
      throws SQLException, EngineException {
    List<CapturePlan> plans = new ArrayList<>();
    for (SourceTable source : sources) {
      String schema = source.table().name().schema();
      String table = source.table().name().table();
      TablePlacement placement = topology.placement(coordinator, schema, table);
      if (placement.kind() == Placement.LOCAL) {
        plans.add(
            new CapturePlan(
                source,
                Placement.LOCAL,
                definition.effectiveCdcMode(),
                topologyFor(coordinator, topology, Placement.LOCAL, schema, table)));
        continue;
      }
      if (definition.cdcMode() == io.pgtrickle.operator.api.CdcModeSpec.TRIGGER) {
        throw new EngineException(
            Reason.NotSupported,
            "source "
                + source.qualifiedName()
                + " is a "
                + placement.kind().catalogValue()
                + " Citus table; Citus refuses triggers on it, so use cdcMode: wal or auto");
      }
      plans.add(
          new CapturePlan(
              source,
              placement.kind(),
              CdcMode.WAL,
              topologyFor(coordinator, topology, placement.kind(), schema, table)));
    }
    return plans;
  }

  /** The nodes that get a slot, in node-id order. */
  List<CaptureNode> nodes() {
    return topology.nodeList();
  }

  /** Where a tracked WAL source's data lives now. */
  static CaptureTopology topologyOf(
      Connection coordinator, CitusTopology topology, TrackedSource source) throws SQLException {
    return topologyFor(
        coordinator,
        topology,
        source.placement(),
        source.table().name().schema(),
        source.table().name().table());
  }

  /**
   * The nodes whose slots see a table's changes: the local node for a plain table, the coordinator
   * for a reference table (only its slot decodes reference-table changes), and every node holding
   * shards of a distributed table, with which shards each holds, plus the coordinator for its
   * TRUNCATEs.
   */
  static CaptureTopology topologyFor(
      Connection coordinator,
      CitusTopology topology,
      Placement placement,
      String schema,
      String table)
      throws SQLException {
    if (placement == Placement.LOCAL) {
      return CaptureTopology.of(List.of(CaptureNode.LOCAL), Map.of());
    }
    if (placement == Placement.REFERENCE) {
      return CaptureTopology.of(List.of(coordinatorNode(coordinator, topology)), Map.of());
    }
    List<CaptureNode> nodes = new ArrayList<>();
    Map<Long, Integer> shards = new HashMap<>();
    for (ShardPlacement placed : topology.shardPlacements(coordinator, schema, table)) {
      nodes.add(CaptureNode.of(placed.node()));
      placed.shardIds().forEach(shard -> shards.put(shard, placed.node().nodeId()));
    }
    // TRUNCATE of a distributed table reaches the workers' slots only under shard names, which the
    // publication does not hold, so they drop it; the coordinator truncates the table's shell,
    // which the publication holds, and its slot emits that. So the coordinator gets a slot too,
    // read for TRUNCATE alone unless it holds shards itself.
    CaptureNode coordinatorNode = coordinatorNode(coordinator, topology);
    if (nodes.stream().noneMatch(n -> n.nodeId() == coordinatorNode.nodeId())) {
      nodes.add(coordinatorNode);
      return CaptureTopology.of(nodes, shards, Set.of(coordinatorNode.nodeId()));
    }
    return CaptureTopology.of(nodes, shards);
  }

  /** The coordinator as pg_dist_node lists it, or the local node when it is not listed. */
  private static CaptureNode coordinatorNode(Connection coordinator, CitusTopology topology)
      throws SQLException {
    for (CitusNode node : topology.nodes(coordinator)) {
      if (node.isCoordinator()) {
        return CaptureNode.of(node);
      }
    }
    return CaptureNode.LOCAL;
  }
}
