package io.pgtrickle.operator.capture;

import io.pgtrickle.operator.catalog.CdcMode;
import io.pgtrickle.operator.catalog.ChangeTrackingRegistry;
import io.pgtrickle.operator.catalog.TrackedSource;
import io.pgtrickle.operator.cdc.wal.SlotLock;
import io.pgtrickle.operator.cdc.wal.SlotReader;
import io.pgtrickle.operator.citus.CitusNode;
import io.pgtrickle.operator.citus.CitusTopology;
import io.pgtrickle.operator.engine.EngineException;
import io.pgtrickle.operator.engine.StreamTableCatalog;
import io.pgtrickle.operator.naming.ObjectNames;
import io.pgtrickle.operator.naming.StableName;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Removes WAL capture slots and publications: before a stream table that is a source's last reader
 * is dropped or stops reading it (waiting for nodes that cannot be reached), after that commits,
 * and after a creation that failed. A slot left behind holds back its node's WAL for good, so every
 * failure is either refused or logged with the slot's name.
 */
public final class SlotRemoval {
  private static final Logger LOG = LoggerFactory.getLogger(SlotRemoval.class);

  private final DataSource dataSource;
  private final ChangeTrackingRegistry registry;
  private final CitusTopology topology;
  private final NodeConnector nodes;

  public SlotRemoval(
      DataSource dataSource,
      ChangeTrackingRegistry registry,
      CitusTopology topology,
      NodeConnector nodes) {
    this.dataSource = dataSource;
    this.registry = registry;
    this.topology = topology;
    this.nodes = nodes;
  }

  /**
   * Before stream table {@code streamTableId} is dropped: drops the slots of the WAL sources it is
   * the last consumer of, on every node that holds or held their data ({@link SlotHolders}). A node
   * that cannot be reached fails the deletion with ClusterUnavailable and nothing else is dropped:
   * a slot left behind would pin that node's WAL for good, so deletion waits (the finalizer stays)
   * and is retried. Should the drop itself fail afterwards, the sources are still tracked, and the
   * next refresh makes their slots again and re-syncs in full.
   */
  public void releaseBeforeDrop(long streamTableId) throws SQLException, EngineException {
    release(streamTableId, Set.of(), "deletion");
  }

  /**
   * Before an update of stream table {@code streamTableId} whose query reads only {@code kept}: as
   * {@link #releaseBeforeDrop}, for the WAL sources it stops reading, so the update waits for a
   * node that cannot be reached rather than leave its slot behind.
   */
  public void releaseAllBut(long streamTableId, Set<StableName> kept)
      throws SQLException, EngineException {
    release(streamTableId, kept, "the query change");
  }

  @SuppressWarnings("try") // the slot lock is held by the try block itself
  private void release(long streamTableId, Set<StableName> kept, String waiting)
      throws SQLException, EngineException {
    try (Connection coordinator = dataSource.getConnection()) {
      for (StableName stableName : StreamTableCatalog.dependencies(coordinator, streamTableId)) {
        Optional<TrackedSource> tracked = registry.find(coordinator, stableName);
        if (kept.contains(stableName)
            || tracked.isEmpty()
            || tracked.get().cdcMode() != CdcMode.WAL
            || !tracked.get().consumers().equals(List.of(streamTableId))) {
          continue;
        }
        List<CaptureNode> holders = SlotHolders.of(coordinator, topology, tracked.get());
        try (SlotLock lock = SlotLock.hold(coordinator, stableName)) {
          dropOnEvery(holders, new ObjectNames(stableName), waiting);
        }
      }
    }
  }

  /** Every node reached before any slot goes, so an unreachable one leaves all in place. */
  private void dropOnEvery(List<CaptureNode> holders, ObjectNames names, String waiting)
      throws SQLException, EngineException {
    List<Connection> open = new ArrayList<>();
    try {
      for (CaptureNode node : holders) {
        try {
          open.add(nodes.open(node));
        } catch (SQLException e) {
          throw node.unavailable(
              "cannot be reached to drop replication slot "
                  + names.replicationSlot()
                  + " ("
                  + waiting
                  + " waits for it, as the slot would hold back its WAL)",
              e);
        }
      }
      int i = 0;
      for (CaptureNode node : holders) {
        try {
          SlotReader.dropSlot(open.get(i++), names);
        } catch (SQLException e) {
          throw node.unavailable(
              "failed to drop replication slot "
                  + names.replicationSlot()
                  + " ("
                  + waiting
                  + " waits for it, as the slot would hold back its WAL)",
              e);
        }
      }
    } finally {
      for (Connection connection : open) {
        connection.close();
      }
    }
  }

  /** Drops slots made for a creation that failed. */
  void dropCreated(List<WalCapture.NodeSlot> slots) {
    for (WalCapture.NodeSlot slot : slots) {
      dropOn(slot.node(), new ObjectNames(slot.source()));
    }
  }

  /** The slot on every node of the cluster where it exists, then the publication. */
  void dropEverywhere(Connection coordinator, ObjectNames names) {
    List<CaptureNode> all = new ArrayList<>(List.of(CaptureNode.LOCAL));
    try {
      for (CitusNode node : topology.nodes(coordinator)) {
        if (!node.isCoordinator()) {
          all.add(CaptureNode.of(node));
        }
      }
    } catch (SQLException e) {
      LOG.warn(
          "could not list the nodes to drop slot {}: {}", names.replicationSlot(), e.getMessage());
    }
    for (CaptureNode node : all) {
      dropOn(node, names);
    }
  }

  /**
   * Drops a slot and publication on one node; a failure to drop the slot is logged as an error, as
   * a left-over slot pins WAL. A Citus worker refuses to drop a publication Citus propagated to it
   * ("operation is not allowed on this node"): the coordinator's drop removes it there, so that is
   * no failure.
   */
  private void dropOn(CaptureNode node, ObjectNames names) {
    try (Connection connection = nodes.open(node)) {
      try {
        SlotReader.dropSlot(connection, names);
      } catch (SQLException e) {
        LOG.error(
            "could not drop replication slot {} on {}; drop it by hand, it holds back WAL: {}",
            names.replicationSlot(),
            node.name(),
            e.getMessage());
        return;
      }
      try {
        SlotReader.dropPublication(connection, names);
      } catch (SQLException e) {
        if (node.local()) {
          LOG.warn("could not drop publication {}: {}", names.publication(), e.getMessage());
        } else {
          LOG.debug(
              "publication {} left on {} to Citus: {}",
              names.publication(),
              node.name(),
              e.getMessage());
        }
      }
    } catch (SQLException e) {
      LOG.error(
          "could not reach {} to drop replication slot {}; drop it by hand, it holds back WAL: {}",
          node.name(),
          names.replicationSlot(),
          e.getMessage());
    }
  }
}
