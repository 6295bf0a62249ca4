package io.pgtrickle.operator.engine;

import io.pgtrickle.operator.catalog.CdcMode;
import io.pgtrickle.operator.catalog.ChangeTrackingRegistry;
import io.pgtrickle.operator.catalog.TrackedSource;
import io.pgtrickle.operator.cdc.wal.SlotReader;
import io.pgtrickle.operator.cdc.wal.WalConsumer;
import io.pgtrickle.operator.citus.CapturePreflight;
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
 * WAL capture of local sources: a publication and a pgoutput slot on the server we connect to (node
 * 0), drained into the same change buffer that triggers would fill, so refresh and frontiers work
 * unchanged. Slots are not transactional, so they are created before the creating transaction (and
 * dropped again if it fails), drained inside it under the source locks, and advanced or dropped
 * only after it commits.
 */
final class WalCapture {
  static final int LOCAL_NODE = 0;
  private static final Logger LOG = LoggerFactory.getLogger(WalCapture.class);
  private static final int BATCH = 100_000;

  private final DataSource dataSource;
  private final ChangeTrackingRegistry registry;

  WalCapture(DataSource dataSource, ChangeTrackingRegistry registry) {
    this.dataSource = dataSource;
    this.registry = registry;
  }

  /** Work to do once the stream table's transaction has committed. */
  static final class AfterCommit {
    private final Map<StableName, Long> advances = new LinkedHashMap<>();
    private final List<ObjectNames> drops = new ArrayList<>();

    void advance(StableName source, long lsn) {
      advances.put(source, lsn);
    }

    void drop(ObjectNames names) {
      drops.add(names);
    }
  }

  /**
   * Before the transaction: checks each source (preflight) and creates its publication and slot if
   * missing. Returns the slots it created, for {@link #dropSlots} should the transaction fail.
   */
  List<ObjectNames> prepare(List<SourceTable> sources, boolean immutablePk)
      throws SQLException, EngineException {
    List<ObjectNames> created = new ArrayList<>();
    try (Connection node = dataSource.getConnection()) {
      for (SourceTable source : sources) {
        Optional<TrackedSource> tracked = registry.find(node, source.table().stableName());
        if (tracked.isPresent() && tracked.get().cdcMode() != CdcMode.WAL) {
          throw new EngineException(
              Reason.InvalidSpec,
              "source "
                  + source.qualifiedName()
                  + " is already captured by triggers for other stream tables; use cdcMode: trigger"
                  + " (or auto) for this one too");
        }
        ObjectNames names = source.names();
        boolean slotExists = slotExists(node, names);
        CapturePreflight.Result preflight =
            CapturePreflight.check(
                node,
                "coordinator",
                source.table().name().schema(),
                source.table().name().table(),
                immutablePk,
                slotExists,
                false);
        if (!preflight.passed()) {
          dropSlots(created);
          throw new EngineException(
              Reason.PrerequisitesMissing, String.join("; ", preflight.problems()));
        }
        preflight.warnings().forEach(w -> LOG.warn("{}", w));
        if (!slotExists) {
          SlotReader.ensure(
              node, source.table().name().schema(), source.table().name().table(), names);
          created.add(names);
        }
      }
    }
    return created;
  }

  /**
   * Inside the transaction, with the sources locked against writers: waits until every commit so
   * far is flushed (decoding reads flushed WAL only), then moves everything the slots hold into the
   * buffers, so the buffers are complete up to the initial load's snapshot.
   */
  void drain(Connection transaction, List<SourceTable> sources, AfterCommit afterCommit)
      throws SQLException {
    try (Connection node = dataSource.getConnection()) {
      flushWal(node);
      for (SourceTable source : sources) {
        long end =
            WalConsumer.drainInto(transaction, node, LOCAL_NODE, source.table().stableName());
        if (end != -1) {
          afterCommit.advance(source.table().stableName(), end);
        }
      }
    }
  }

  /** Moves what the slots of these sources hold into their buffers, each in its own commit. */
  void consume(List<StableName> sources) throws SQLException {
    WalConsumer consumer = new WalConsumer(dataSource);
    try (Connection node = dataSource.getConnection()) {
      for (StableName source : sources) {
        WalConsumer.Consumed consumed;
        do {
          consumed = consumer.consume(node, LOCAL_NODE, source, BATCH);
        } while (consumed.rows() >= BATCH);
      }
    }
  }

  /** After commit: advances drained slots and drops those whose last consumer went. */
  void finish(AfterCommit afterCommit) {
    try (Connection node = dataSource.getConnection()) {
      for (Map.Entry<StableName, Long> advance : afterCommit.advances.entrySet()) {
        SlotReader.advance(node, new ObjectNames(advance.getKey()), advance.getValue());
      }
    } catch (SQLException e) {
      // Harmless: the slot stays behind and the frontier skips what was already applied.
      LOG.warn("could not advance a slot after commit: {}", e.getMessage());
    }
    dropSlots(afterCommit.drops);
  }

  /** Drops slots and publications; a failure is logged, as a left-over slot pins WAL. */
  void dropSlots(List<ObjectNames> slots) {
    if (slots.isEmpty()) {
      return;
    }
    try (Connection node = dataSource.getConnection()) {
      for (ObjectNames names : slots) {
        SlotReader.drop(node, names);
      }
    } catch (SQLException e) {
      LOG.error(
          "could not drop replication slot(s) {}; drop them by hand, they hold back WAL: {}",
          slots.stream().map(ObjectNames::replicationSlot).toList(),
          e.getMessage());
    }
  }

  /** Bytes of WAL the source's slot holds back on node 0 (its lag), or 0 without a slot. */
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

  private static boolean slotExists(Connection node, ObjectNames names) throws SQLException {
    try (PreparedStatement statement =
        node.prepareStatement(
            "SELECT 1 FROM pg_catalog.pg_replication_slots WHERE slot_name = ?")) {
      statement.setString(1, names.replicationSlot());
      try (ResultSet rs = statement.executeQuery()) {
        return rs.next();
      }
    }
  }

  /**
   * Makes every commit so far decodable: decoding over SQL reads only flushed WAL, and commits made
   * with synchronous_commit off may not be flushed yet. A tiny transaction committed with
   * synchronous_commit on flushes the WAL up to its own commit record, so past all earlier ones.
   */
  private static void flushWal(Connection node) throws SQLException {
    boolean autoCommit = node.getAutoCommit();
    node.setAutoCommit(false);
    try (Statement statement = node.createStatement()) {
      statement.execute("SET LOCAL synchronous_commit = on");
      statement.execute("SELECT pg_catalog.pg_current_xact_id()");
      node.commit();
    } finally {
      node.setAutoCommit(autoCommit);
    }
  }
}
