package io.pgtrickle.operator.capture;

import io.pgtrickle.operator.catalog.CdcMode;
import io.pgtrickle.operator.catalog.ChangeTrackingRegistry;
import io.pgtrickle.operator.catalog.Placement;
import io.pgtrickle.operator.catalog.TrackedSource;
import io.pgtrickle.operator.cdc.ChangeBuffer;
import io.pgtrickle.operator.cdc.wal.SlotLock;
import io.pgtrickle.operator.cdc.wal.SlotReader;
import io.pgtrickle.operator.cdc.wal.WalConsumer;
import io.pgtrickle.operator.citus.CapturePreflight;
import io.pgtrickle.operator.citus.CitusTopology;
import io.pgtrickle.operator.engine.EngineException;
import io.pgtrickle.operator.engine.Reason;
import io.pgtrickle.operator.engine.SourceTable;
import io.pgtrickle.operator.engine.StreamTableReport.NodeReport;
import io.pgtrickle.operator.naming.ObjectNames;
import io.pgtrickle.operator.naming.StableName;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * WAL capture: a publication and a pgoutput slot per source on every node that holds its data (the
 * local server; for Citus the coordinator for reference tables and each shard-holding node for
 * distributed ones, plus the coordinator for their TRUNCATEs), drained into the coordinator's
 * change buffer that triggers would otherwise fill, so refresh works unchanged and frontiers are
 * kept per node. Slots are not transactional, so they are created before the creating transaction
 * (and dropped again if it fails), drained inside it under the source locks, and advanced or
 * dropped only after it commits.
 */
public final class WalCapture {
  private static final Logger LOG = LoggerFactory.getLogger(WalCapture.class);
  private static final int BATCH = 100_000;

  private final DataSource dataSource;
  private final ChangeTrackingRegistry registry;
  private final CitusTopology topology;
  private final NodeConnector nodes;
  private final TopologyFollower follower;
  private final SlotRemoval removal;

  public WalCapture(
      DataSource dataSource,
      ChangeTrackingRegistry registry,
      CitusTopology topology,
      NodeConnector nodes,
      SlotRemoval removal) {
    this.dataSource = dataSource;
    this.registry = registry;
    this.topology = topology;
    this.nodes = nodes;
    this.follower = new TopologyFollower(nodes);
    this.removal = removal;
  }

  /** A source read from one node's slot; {@code truncatesOnly}: for its TRUNCATEs alone. */
  private record NodeSource(TrackedSource source, boolean truncatesOnly) {}

  /** A slot of one source on one node. */
  public record NodeSlot(StableName source, CaptureNode node) {}

  /** Work to do once the stream table's transaction has committed. */
  public static final class AfterCommit {
    private final Map<NodeSlot, Long> advances = new LinkedHashMap<>();
    private final List<ObjectNames> drops = new ArrayList<>();

    void advance(NodeSlot slot, long lsn) {
      advances.put(slot, lsn);
    }

    void drop(ObjectNames names) {
      drops.add(names);
    }
  }

  /**
   * Before the transaction: checks every node of every WAL source (preflight) and creates the
   * publication and slots that are missing. Returns the slots it created, for {@link #dropSlots}
   * should the transaction fail; on a failed preflight it drops them itself.
   */
  @SuppressWarnings("try") // the slot lock is held by the try block itself
  public List<NodeSlot> prepare(
      List<CapturePlan> plans,
      boolean immutablePk,
      Optional<Long> streamTableId,
      java.util.function.Consumer<String> warnings)
      throws SQLException, EngineException {
    List<NodeSlot> created = new ArrayList<>();
    try (Connection coordinator = dataSource.getConnection()) {
      for (CapturePlan plan : plans) {
        if (plan.mode() != CdcMode.WAL) {
          continue;
        }
        SourceTable source = plan.source();
        Optional<TrackedSource> tracked = registry.find(coordinator, source.table().stableName());
        if (tracked.isPresent()
            && tracked.get().cdcMode() != CdcMode.WAL
            && tracked.get().consumers().stream()
                .anyMatch(c -> !streamTableId.equals(Optional.of(c)))) {
          throw new EngineException(
              Reason.InvalidSpec,
              "source "
                  + source.qualifiedName()
                  + " is already captured by triggers for other stream tables; use cdcMode: trigger"
                  + " (or auto) for this one too");
        }
        try (SlotLock lock = SlotLock.hold(coordinator, source.table().stableName())) {
          prepareNodes(coordinator, plan, immutablePk, warnings, created);
        }
      }
    }
    return created;
  }

  /** The publication and the slot on each of the plan's nodes, under the source's slot lock. */
  private void prepareNodes(
      Connection coordinator,
      CapturePlan plan,
      boolean immutablePk,
      java.util.function.Consumer<String> warnings,
      List<NodeSlot> created)
      throws SQLException, EngineException {
    SourceTable source = plan.source();
    String schema = source.table().name().schema();
    String table = source.table().name().table();
    // A publication made on the Citus coordinator is propagated to every node.
    boolean newPublication =
        SlotReader.ensurePublication(coordinator, schema, table, source.names());
    for (CaptureNode node : plan.nodes()) {
      try (Connection connection = nodes.open(node)) {
        boolean exists = SlotReader.slotExists(connection, source.names());
        CapturePreflight.Result preflight =
            CapturePreflight.check(
                connection,
                node.name(),
                schema,
                table,
                immutablePk,
                exists,
                // a slot read for TRUNCATE alone needs no shard changes renamed by Citus
                plan.placement() != Placement.LOCAL && !plan.topology().truncatesOnly(node));
        if (!preflight.passed()) {
          dropSlots(created);
          if (newPublication) {
            SlotReader.drop(coordinator, source.names());
          }
          throw new EngineException(
              Reason.PrerequisitesMissing, String.join("; ", preflight.problems()));
        }
        preflight.warnings().forEach(warnings);
        if (!exists) {
          SlotReader.ensure(connection, schema, table, source.names());
          created.add(new NodeSlot(source.table().stableName(), node));
        }
      } catch (SQLException e) {
        dropSlots(created);
        throw node.unavailable("failed setting up capture of " + source.qualifiedName(), e);
      }
    }
  }

  /**
   * Inside the stream table's transaction, before its sources' tracking rows are touched: holds
   * their slot locks (in stable-name order) until it ends, so no consumer peeks a slot the
   * transaction drains.
   */
  public static void lockSlots(Connection transaction, List<CapturePlan> plans)
      throws SQLException {
    List<StableName> sources = new ArrayList<>();
    for (CapturePlan plan : plans) {
      if (plan.mode() == CdcMode.WAL) {
        sources.add(plan.source().table().stableName());
      }
    }
    sources.sort(java.util.Comparator.comparing(StableName::value));
    for (StableName source : sources) {
      SlotLock.holdForTransaction(transaction, source);
    }
  }

  /**
   * Inside the transaction, with the sources locked against writers: makes every commit so far
   * decodable on each node, then moves everything the slots hold into the buffers, so the buffers
   * are complete up to the initial load's snapshot.
   */
  public void drain(Connection transaction, List<CapturePlan> plans, AfterCommit afterCommit)
      throws SQLException {
    for (CapturePlan plan : plans) {
      if (plan.mode() != CdcMode.WAL) {
        continue;
      }
      StableName source = plan.source().table().stableName();
      TopologyFollower.recordInitial(transaction, source, plan.topology());
      for (CaptureNode node : plan.nodes()) {
        try (Connection connection = nodes.open(node)) {
          flushWal(connection);
          long end =
              WalConsumer.drainInto(
                  transaction,
                  connection,
                  node.nodeId(),
                  source,
                  plan.topology().truncatesOnly(node));
          if (end != -1) {
            afterCommit.advance(new NodeSlot(source, node), end);
          }
        }
      }
    }
  }

  /**
   * Moves what the slots of these sources hold into their buffers, node by node, with one
   * connection per node for all its sources. A node that cannot be reached fails with
   * ClusterUnavailable naming it; its slot keeps the changes, so nothing is lost and the next
   * refresh after it returns picks them up. Citus sources first follow their topology ({@link
   * TopologyFollower}).
   */
  public void consume(List<TrackedSource> sources) throws SQLException, EngineException {
    consume(sources, false);
  }

  /**
   * As {@link #consume(List)}; with {@code everyCommit}, each node's WAL is flushed first, so that
   * every transaction committed before the call is decoded (one committed with {@code
   * synchronous_commit = off} may not be flushed yet). A write barrier needs that.
   */
  @SuppressWarnings("try") // the slot lock is held by the try block itself
  public void consume(List<TrackedSource> sources, boolean everyCommit)
      throws SQLException, EngineException {
    Map<CaptureNode, List<NodeSource>> byNode = new LinkedHashMap<>();
    try (Connection coordinator = dataSource.getConnection()) {
      for (TrackedSource source : sources) {
        CaptureTopology now = CapturePlan.topologyOf(coordinator, topology, source);
        if (source.placement() == Placement.DISTRIBUTED && now.shards().isEmpty()) {
          // Its changes now go to the coordinator's slot, which is read for TRUNCATE alone: they
          // would be lost without a word.
          throw new EngineException(
              Reason.NotSupported,
              "source "
                  + source.table().name().sqlName()
                  + " was captured as a distributed Citus table and has no shards now (a dump"
                  + " restored without distributing its tables again, or the table undistributed);"
                  + " distribute it again, or delete and re-create the stream tables that read it");
        }
        if (source.placement() != Placement.LOCAL) {
          try (SlotLock lock = SlotLock.hold(coordinator, source.stableName())) {
            follower.follow(coordinator, source, now);
          }
        }
        for (CaptureNode node : now.nodeList()) {
          byNode
              .computeIfAbsent(node, n -> new ArrayList<>())
              .add(new NodeSource(source, now.truncatesOnly(node)));
        }
      }
    }
    WalConsumer consumer = new WalConsumer(dataSource);
    for (Map.Entry<CaptureNode, List<NodeSource>> entry : byNode.entrySet()) {
      CaptureNode node = entry.getKey();
      String unreachable =
          "holding "
              + String.join(
                  ", ",
                  entry.getValue().stream().map(t -> t.source().table().name().sqlName()).toList())
              + " is unreachable";
      Connection opened;
      try {
        opened = nodes.open(node);
      } catch (SQLException e) {
        throw node.unavailable(unreachable, e);
      }
      try (Connection connection = opened;
          Connection coordinator = dataSource.getConnection()) {
        try {
          if (everyCommit) {
            if (entry.getValue().stream()
                .anyMatch(t -> t.source().placement() != Placement.LOCAL)) {
              awaitPreparedTransactions(connection, node);
            }
            flushWal(connection);
          }
          for (NodeSource nodeSource : entry.getValue()) {
            TrackedSource source = nodeSource.source();
            try (SlotLock lock = SlotLock.hold(coordinator, source.stableName())) {
              SlotReader.SlotState state =
                  SlotReader.state(connection, new ObjectNames(source.stableName()));
              if (state == SlotReader.SlotState.MISSING) {
                recreateLostSlot(coordinator, connection, node, nodeSource);
              } else if (state == SlotReader.SlotState.CAUGHT_UP) {
                continue; // nothing flushed past the slot: nothing to decode or release
              }
              WalConsumer.Consumed consumed;
              do {
                consumed =
                    consumer.consumeLocked(
                        coordinator,
                        connection,
                        node.nodeId(),
                        source.stableName(),
                        BATCH,
                        nodeSource.truncatesOnly());
              } while (consumed.rows() >= BATCH);
            }
          }
        } catch (SQLException e) {
          // A pooled connection to a node that went down fails on first use, not when opened.
          if (!connection.isValid(2)) {
            throw node.unavailable(unreachable, e);
          }
          throw e;
        }
      }
    }
  }

  /**
   * A slot that vanished (dropped by hand, lost in a failover) lost the changes since its last
   * position. It is made again, and a re-sync marker (op R) in the buffer makes every consumer
   * refresh in full, which reads the source itself and so misses nothing.
   */
  private static void recreateLostSlot(
      Connection coordinator, Connection node, CaptureNode where, NodeSource nodeSource)
      throws SQLException {
    TrackedSource source = nodeSource.source();
    ObjectNames names = new ObjectNames(source.stableName());
    if (nodeSource.truncatesOnly()) {
      // Also the first refresh after an upgrade from a version without this slot, when a TRUNCATE
      // may have been missed: the re-sync repairs that too.
      LOG.warn(
          "replication slot {} on the coordinator {}, which captures TRUNCATE of distributed table"
              + " {}, is missing (dropped, or never made by an older operator); creating it and"
              + " re-syncing the stream tables that read {} in full",
          names.replicationSlot(),
          where.name(),
          source.table().name().sqlName(),
          source.table().name().sqlName());
    } else {
      LOG.warn(
          "replication slot {} on {} is gone; re-creating it and re-syncing the stream tables that"
              + " read {} in full",
          names.replicationSlot(),
          where.name(),
          source.table().name().sqlName());
    }
    SlotReader.ensure(node, source.table().name().schema(), source.table().name().table(), names);
    ChangeBuffer.markResync(coordinator, names, where.nodeId());
  }

  /**
   * Per node of a WAL source: its frontier (last applied commit LSN) and the WAL its slot holds.
   */
  public List<NodeReport> report(Connection coordinator, TrackedSource source) throws SQLException {
    Map<String, String> frontiers = frontiers(coordinator, source.stableName());
    List<NodeReport> reports = new ArrayList<>();
    for (CaptureNode node : CapturePlan.topologyOf(coordinator, topology, source).nodeList()) {
      long lag;
      try (Connection connection = nodes.open(node)) {
        lag = slotLag(connection, new ObjectNames(source.stableName()));
      } catch (SQLException e) {
        lag = -1; // unreachable: unknown
      }
      reports.add(
          new NodeReport(
              node.nodeId(), node.name(), frontiers.get(Integer.toString(node.nodeId())), lag));
    }
    return reports;
  }

  /** After commit: advances drained slots and drops those whose last consumer went. */
  @SuppressWarnings("try") // the slot lock is held by the try block itself
  public void finish(AfterCommit afterCommit) {
    try (Connection coordinator = dataSource.getConnection()) {
      for (Map.Entry<NodeSlot, Long> advance : afterCommit.advances.entrySet()) {
        NodeSlot slot = advance.getKey();
        try (SlotLock lock = SlotLock.hold(coordinator, slot.source());
            Connection connection = nodes.open(slot.node())) {
          SlotReader.advance(connection, new ObjectNames(slot.source()), advance.getValue());
        } catch (SQLException e) {
          // Harmless: the slot stays behind and the node frontier skips what was applied.
          LOG.warn("could not advance a slot after commit: {}", e.getMessage());
        }
      }
      for (ObjectNames names : afterCommit.drops) {
        try (SlotLock lock = SlotLock.hold(coordinator, names.stableName())) {
          removal.dropEverywhere(coordinator, names);
        }
      }
    } catch (SQLException e) {
      LOG.error(
          "could not finish capture changes after commit (a slot may be left behind and hold"
              + " back WAL; the log above names it): {}",
          e.getMessage());
    }
  }

  /** Drops created slots (a failed creation). */
  public void dropSlots(List<NodeSlot> slots) {
    removal.dropCreated(slots);
  }

  private static Map<String, String> frontiers(Connection coordinator, StableName source)
      throws SQLException {
    Map<String, String> frontiers = new LinkedHashMap<>();
    try (PreparedStatement statement =
        coordinator.prepareStatement(
            "SELECT key, value FROM pgtrickle.pgt_change_tracking,"
                + " jsonb_each_text(coalesce(frontier_per_node, '{}'::jsonb))"
                + " WHERE source_stable_name = ?")) {
      statement.setString(1, source.value());
      try (ResultSet rs = statement.executeQuery()) {
        while (rs.next()) {
          frontiers.put(rs.getString(1), rs.getString(2));
        }
      }
    }
    return frontiers;
  }

  /** Bytes of WAL the source's slot holds back on the node (its lag), or 0 without a slot. */
  static long slotLag(Connection connection, ObjectNames names) throws SQLException {
    try (PreparedStatement statement =
        connection.prepareStatement(
            "SELECT pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_insert_lsn(),"
                + " confirmed_flush_lsn) FROM pg_catalog.pg_replication_slots WHERE slot_name = ?")) {
      statement.setString(1, names.replicationSlot());
      try (ResultSet rs = statement.executeQuery()) {
        return rs.next() ? Math.max(0, rs.getLong(1)) : 0;
      }
    }
  }

  /**
   * Makes every commit so far decodable: decoding over SQL reads only flushed WAL, and commits made
   * with synchronous_commit off may not be flushed yet. A tiny transaction committed with
   * synchronous_commit on flushes the WAL up to its own commit record, so past all earlier ones —
   * if it wrote WAL before its commit record: PostgreSQL does not flush the commit of a transaction
   * that wrote nothing else (an id taken with pg_current_xact_id() alone is not enough), hence the
   * logical message (which pgoutput does not pass on).
   */
  /** How long a barrier waits for two-phase commits that are half done. */
  private static final long PREPARED_WAIT_MILLIS = 2_000;

  /**
   * Waits until no prepared (two-phase) transaction is left in the node's database. Citus commits a
   * write to several nodes in two phases: the coordinator commits and lets its locks go, then each
   * node's prepared part is committed. A write barrier's locks do not wait for those parts, so one
   * may still commit after the drain, and a refresh reading that node would see a change the slot
   * has not delivered. New ones cannot start while the barrier holds the tables' locks.
   */
  private static void awaitPreparedTransactions(Connection node, CaptureNode where)
      throws SQLException, EngineException {
    long deadline = System.nanoTime() + PREPARED_WAIT_MILLIS * 1_000_000L;
    try (Statement statement = node.createStatement()) {
      while (true) {
        try (ResultSet rs =
            statement.executeQuery(
                "SELECT count(*) FROM pg_catalog.pg_prepared_xacts"
                    + " WHERE database = pg_catalog.current_database()")) {
          rs.next();
          if (rs.getLong(1) == 0) {
            return;
          }
        }
        if (System.nanoTime() > deadline) {
          throw new EngineException(
              Reason.RefreshFailed,
              "a two-phase (prepared) transaction on node "
                  + where.name()
                  + " has not committed within "
                  + PREPARED_WAIT_MILLIS
                  + " ms; a refresh behind a write barrier waits for it, the next one tries again");
        }
        try {
          Thread.sleep(10);
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new SQLException("interrupted while waiting for prepared transactions", e);
        }
      }
    }
  }

  /** Makes every transaction committed on the node so far decodable (its commit flushed). */
  public static void flushWal(Connection node) throws SQLException {
    boolean autoCommit = node.getAutoCommit();
    node.setAutoCommit(false);
    try (Statement statement = node.createStatement()) {
      statement.execute("SET LOCAL synchronous_commit = on");
      statement.execute("SELECT pg_catalog.pg_logical_emit_message(true, 'pgtrickle', '')");
      node.commit();
    } finally {
      node.setAutoCommit(autoCommit);
    }
  }
}
