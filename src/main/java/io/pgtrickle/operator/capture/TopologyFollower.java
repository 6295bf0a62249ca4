package io.pgtrickle.operator.capture;

import io.pgtrickle.operator.catalog.TrackedSource;
import io.pgtrickle.operator.cdc.ChangeBuffer;
import io.pgtrickle.operator.cdc.wal.SlotReader;
import io.pgtrickle.operator.engine.EngineException;
import io.pgtrickle.operator.engine.StreamTableReport;
import io.pgtrickle.operator.naming.ObjectNames;
import io.pgtrickle.operator.naming.StableName;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps a WAL source's slots on the nodes that hold its data. When the nodes or shard placements
 * differ from those recorded (a node added or removed, a shard moved by the rebalancer), changes
 * may have bypassed every slot — a shard's rows arrive on a node without one, or leave through a
 * move that logical decoding does not report — so the source is re-synced: slots are made on new
 * nodes, dropped on nodes that left, and a re-sync marker makes every consumer refresh in full. The
 * change is recorded for status (condition TopologyChanged). Never silent wrong results.
 */
public final class TopologyFollower {
  private static final Logger LOG = LoggerFactory.getLogger(TopologyFollower.class);

  private final NodeConnector nodes;

  TopologyFollower(NodeConnector nodes) {
    this.nodes = nodes;
  }

  /** When capture begins, in the creating transaction: the topology the slots were made for. */
  static void recordInitial(Connection transaction, StableName source, CaptureTopology topology)
      throws SQLException {
    try (PreparedStatement update =
        transaction.prepareStatement(
            "UPDATE pgtrickle.pgt_change_tracking SET capture_topology = ?::jsonb"
                + " WHERE source_stable_name = ? AND capture_topology IS NULL")) {
      update.setString(1, topology.toJson());
      update.setString(2, source.value());
      update.executeUpdate();
    }
  }

  /**
   * Compares the source's topology now with the recorded one and, if it moved, re-syncs it. Runs on
   * a coordinator session (auto-commit) holding the source's slot lock. A new node that cannot be
   * reached fails with ClusterUnavailable and nothing is recorded, so the next refresh tries again.
   */
  void follow(Connection coordinator, TrackedSource source, CaptureTopology now)
      throws SQLException, EngineException {
    Optional<CaptureTopology> recorded = recorded(coordinator, source.stableName());
    if (recorded.isEmpty()) {
      recordInitial(coordinator, source.stableName(), now);
      return;
    }
    String changes = now.changesSince(recorded.get());
    if (changes.isEmpty()) {
      return;
    }
    String table = source.table().name().schema() + "." + source.table().name().table();
    LOG.warn(
        "the nodes holding {} changed ({}); re-syncing its stream tables in full", table, changes);
    ObjectNames names = new ObjectNames(source.stableName());
    for (CaptureNode node : now.nodeList()) {
      if (!recorded.get().nodes().containsKey(node.nodeId())) {
        createSlot(node, source, names);
      }
    }
    List<String> gone = new ArrayList<>();
    List<String> leftBehind = new ArrayList<>();
    for (CaptureNode node : recorded.get().nodeList()) {
      if (!now.nodes().containsKey(node.nodeId())) {
        dropSlot(node, names).ifPresent(leftBehind::add);
        gone.add(Integer.toString(node.nodeId()));
      }
    }
    // The node is forgotten all the same (it may be gone for good, and waiting for it would stop
    // the source's refreshes), so status says what to drop by hand.
    String recordedChange = table + ": " + changes + String.join("", leftBehind);
    coordinator.setAutoCommit(false);
    try {
      ChangeBuffer.markResync(coordinator, names, CaptureNode.LOCAL.nodeId());
      try (PreparedStatement update =
          coordinator.prepareStatement(
              "UPDATE pgtrickle.pgt_change_tracking SET capture_topology = ?::jsonb,"
                  + " topology_changed_at = clock_timestamp(), topology_change = ?,"
                  + " frontier_per_node = frontier_per_node - ?::text[]"
                  + " WHERE source_stable_name = ?")) {
        update.setString(1, now.toJson());
        update.setString(2, recordedChange);
        update.setArray(3, coordinator.createArrayOf("text", gone.toArray()));
        update.setString(4, source.stableName().value());
        update.executeUpdate();
      }
      coordinator.commit();
    } catch (SQLException | RuntimeException e) {
      coordinator.rollback();
      throw e;
    } finally {
      coordinator.setAutoCommit(true);
    }
  }

  /** The last topology change recorded for the source, if any. */
  public static Optional<StreamTableReport.TopologyChange> lastChange(
      Connection coordinator, StableName source) throws SQLException {
    try (PreparedStatement select =
        coordinator.prepareStatement(
            "SELECT topology_change, topology_changed_at FROM pgtrickle.pgt_change_tracking"
                + " WHERE source_stable_name = ? AND topology_changed_at IS NOT NULL")) {
      select.setString(1, source.value());
      try (ResultSet rs = select.executeQuery()) {
        return rs.next()
            ? Optional.of(
                new StreamTableReport.TopologyChange(
                    rs.getString(1), rs.getObject(2, OffsetDateTime.class)))
            : Optional.empty();
      }
    }
  }

  /** The topology recorded for the source, if any. */
  static Optional<CaptureTopology> recorded(Connection coordinator, StableName source)
      throws SQLException {
    try (PreparedStatement select =
        coordinator.prepareStatement(
            "SELECT capture_topology::text FROM pgtrickle.pgt_change_tracking"
                + " WHERE source_stable_name = ?")) {
      select.setString(1, source.value());
      try (ResultSet rs = select.executeQuery()) {
        return rs.next() && rs.getString(1) != null
            ? Optional.of(CaptureTopology.fromJson(rs.getString(1)))
            : Optional.empty();
      }
    }
  }

  private void createSlot(CaptureNode node, TrackedSource source, ObjectNames names)
      throws EngineException {
    try (Connection connection = nodes.open(node)) {
      SlotReader.ensure(
          connection, source.table().name().schema(), source.table().name().table(), names);
    } catch (SQLException e) {
      throw node.unavailable(
          "now holds data of "
              + source.table().name().sqlName()
              + " but its capture slot cannot be created",
          e);
    }
  }

  /**
   * A node that left may be gone for good: a failure is logged and returned for status (its slot,
   * if the server still runs, holds back its WAL).
   */
  private Optional<String> dropSlot(CaptureNode node, ObjectNames names) {
    try (Connection connection = nodes.open(node)) {
      SlotReader.dropSlot(connection, names);
      return Optional.empty();
    } catch (SQLException e) {
      LOG.error(
          "node {} no longer holds data of the source but its slot {} could not be dropped;"
              + " if the node still runs, drop the slot by hand, it holds back WAL: {}",
          node.name(),
          names.replicationSlot(),
          e.getMessage());
      return Optional.of(
          "; the replication slot "
              + names.replicationSlot()
              + " on "
              + node.label()
              + ", which left, could not be dropped ("
              + e.getMessage()
              + "): if that server still runs, drop the slot there by hand"
              + " (SELECT pg_drop_replication_slot('"
              + names.replicationSlot()
              + "')), it holds back WAL");
    }
  }
}
