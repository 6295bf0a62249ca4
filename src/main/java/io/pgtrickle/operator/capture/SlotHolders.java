package io.pgtrickle.operator.capture;

import io.pgtrickle.operator.catalog.Placement;
import io.pgtrickle.operator.catalog.TrackedSource;
import io.pgtrickle.operator.citus.CitusNode;
import io.pgtrickle.operator.citus.CitusTopology;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The nodes that may hold a WAL source's slots, for removing them: where its data is now, the
 * topology recorded in pgt_change_tracking, and every primary worker of the cluster. Neither of the
 * first two is a full list of the slots: a server move (a failover's new timeline, a restore)
 * forgets the record, a source captured before it existed has none, and a source whose shards are
 * gone (undistributed) fails every refresh before the record is made again, while its old workers
 * keep their slots. Slots are named by the source's stable name, so a worker without one costs one
 * query.
 */
final class SlotHolders {
  private SlotHolders() {}

  /** In node-id order; the coordinator once, whether as the local node or under its Citus id. */
  static List<CaptureNode> of(Connection coordinator, CitusTopology topology, TrackedSource source)
      throws SQLException {
    Map<Integer, CaptureNode> holders =
        new TreeMap<>(CapturePlan.topologyOf(coordinator, topology, source).nodes());
    TopologyFollower.recorded(coordinator, source.stableName())
        .ifPresent(t -> t.nodes().forEach(holders::putIfAbsent));
    // A source captured as a local table never had a worker's slot (a source whose kind of table
    // changed is refused before any slot is made), so a worker out of reach does not hold up its
    // removal.
    if (source.placement() != Placement.LOCAL) {
      for (CitusNode worker : topology.workerNodes(coordinator)) {
        holders.putIfAbsent(worker.nodeId(), CaptureNode.of(worker));
      }
    }
    List<CaptureNode> nodes = new ArrayList<>();
    boolean local = false;
    for (CaptureNode node : holders.values()) {
      if (!node.local() || !local) {
        nodes.add(node);
      }
      local |= node.local();
    }
    return nodes;
  }
}
