package io.pgtrickle.operator.adopt;

import io.pgtrickle.operator.catalog.CdcMode;
import io.pgtrickle.operator.catalog.ChangeTrackingRegistry;
import io.pgtrickle.operator.catalog.Placement;
import io.pgtrickle.operator.catalog.ResolvedTable;
import io.pgtrickle.operator.catalog.SourceRegistration;
import io.pgtrickle.operator.cdc.ChangeBuffer;
import io.pgtrickle.operator.cdc.TriggerCapture;
import io.pgtrickle.operator.cdc.wal.SlotReader;
import io.pgtrickle.operator.cdc.wal.WalTransaction;
import io.pgtrickle.operator.naming.ObjectNames;
import io.pgtrickle.operator.naming.SqlIdentifiers;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.postgresql.replication.LogSequenceNumber;

/**
 * Moves one source's capture from the upstream's OID-named objects to ours, inside the adoption's
 * transaction (which holds the source's lock, so no write of it is in flight):
 *
 * <ul>
 *   <li>registers the source under its stable name and creates our capture: for triggers, our
 *       buffer, function and triggers; for WAL, our buffer and publication (created here, before
 *       any later change is decoded, because pgoutput looks publications up as of each change's WAL
 *       position), with the node frontier set to the adoption point so nothing before it is ever
 *       taken from the slot again;
 *   <li>disables the upstream triggers (kept, with their functions and buffer, for a release);
 *   <li>converts pending rows of the upstream buffer ({@link PendingRows}) and, for WAL, the
 *       changes still in the upstream slot, read with the upstream publication (the only one that
 *       exists for that WAL) before anything was written.
 * </ul>
 */
final class SourceTakeover {
  private final ChangeTrackingRegistry registry = new ChangeTrackingRegistry();

  /** The changes of a WAL source's slot, read before the transaction wrote anything. */
  static List<WalTransaction> peekUpstreamSlot(Connection connection, UpstreamLayout.Source source)
      throws SQLException {
    if (!slotExists(connection, source.slot())) {
      return List.of();
    }
    return SlotReader.peekUpTo(connection, source.slot(), source.publication(), Integer.MAX_VALUE)
        .transactions();
  }

  /** What was done; the ledger keeps it. */
  record Outcome(long convertedRows, List<String> disabledTriggers) {}

  Outcome take(
      Connection connection,
      ResolvedTable table,
      UpstreamLayout.Source source,
      Optional<String> consumedUpTo,
      List<WalTransaction> slotChanges,
      String adoptionLsn)
      throws SQLException {
    ObjectNames names = new ObjectNames(table.stableName());
    String schema = table.name().schema();
    String name = table.name().table();
    CdcMode mode = source.wal() ? CdcMode.WAL : CdcMode.TRIGGER;
    registry.register(connection, new SourceRegistration(table, Placement.LOCAL, mode));
    List<String> disabled = disableUpstreamTriggers(connection, table, source.oid());
    if (mode == CdcMode.TRIGGER) {
      TriggerCapture.install(connection, schema, name, names);
    } else {
      ChangeBuffer.create(connection, names);
      SlotReader.ensurePublication(connection, schema, name, names);
      recordNodeFrontier(connection, names, adoptionLsn);
    }
    long rows = 0;
    Optional<String> bufferedUpTo = consumedUpTo;
    if (PendingRows.exists(connection, source.buffer())) {
      rows += PendingRows.convert(connection, table, source.buffer(), consumedUpTo, names);
      // The upstream's decoder writes a transaction into its buffer before it confirms the
      // slot: what the buffer holds is not taken from the slot a second time.
      Optional<String> max = PendingRows.maxLsn(connection, source.buffer());
      if (max.isPresent()) {
        bufferedUpTo = max;
      }
    }
    rows += writeSlotChanges(connection, names, slotChanges, bufferedUpTo);
    return new Outcome(rows, disabled);
  }

  /** Disables the upstream's enabled triggers on the table; returns their names. */
  private static List<String> disableUpstreamTriggers(
      Connection connection, ResolvedTable table, long oid) throws SQLException {
    List<String> names = new ArrayList<>();
    try (PreparedStatement select =
        connection.prepareStatement(
            "SELECT tgname FROM pg_catalog.pg_trigger WHERE tgrelid = ? AND NOT tgisinternal"
                + " AND tgenabled <> 'D' AND tgname ~ ('^pg_trickle_cdc_((ins|upd|del|truncate)_)?'"
                + " || ? || '$') ORDER BY tgname")) {
      select.setLong(1, table.oid());
      select.setString(2, Long.toString(oid));
      try (ResultSet rs = select.executeQuery()) {
        while (rs.next()) {
          names.add(rs.getString(1));
        }
      }
    }
    try (Statement statement = connection.createStatement()) {
      for (String trigger : names) {
        statement.execute(
            "ALTER TABLE "
                + table.name().sqlName()
                + " DISABLE TRIGGER "
                + SqlIdentifiers.quote(trigger));
      }
    }
    return names;
  }

  private static long writeSlotChanges(
      Connection connection,
      ObjectNames names,
      List<WalTransaction> transactions,
      Optional<String> bufferedUpTo)
      throws SQLException {
    long above = bufferedUpTo.map(l -> LogSequenceNumber.valueOf(l).asLong()).orElse(-1L);
    long rows = 0;
    try (PreparedStatement insert =
        connection.prepareStatement(
            "INSERT INTO "
                + names.changeBufferQualified()
                + " (xid, lsn, op, origin_node, origin_lsn, row_data) VALUES"
                + " (pg_catalog.pg_current_xact_id()::text::bigint, ?::pg_lsn, ?, 0, ?::pg_lsn,"
                + " ?)")) {
      for (WalTransaction transaction : transactions) {
        if (above != -1 && Long.compareUnsigned(transaction.commitLsn(), above) <= 0) {
          continue;
        }
        String lsn = LogSequenceNumber.valueOf(transaction.commitLsn()).asString();
        for (WalTransaction.RowChange change : transaction.changes()) {
          insert.setString(1, lsn);
          insert.setString(2, String.valueOf(change.op()));
          insert.setString(3, lsn);
          insert.setString(4, change.rowText());
          insert.addBatch();
          rows++;
        }
      }
      insert.executeBatch();
    }
    return rows;
  }

  /**
   * Our slot starts where the adoption was: the consumer skips every transaction committed at or
   * below it (WalConsumer's node frontier), whatever position a handed-over slot is at.
   */
  private static void recordNodeFrontier(Connection connection, ObjectNames names, String lsn)
      throws SQLException {
    try (PreparedStatement update =
        connection.prepareStatement(
            "UPDATE pgtrickle.pgt_change_tracking SET frontier_per_node ="
                + " jsonb_build_object('0', ?::text) WHERE source_stable_name = ?")) {
      update.setString(1, lsn);
      update.setString(2, names.stableName().value());
      update.executeUpdate();
    }
  }

  static boolean slotExists(Connection connection, String slot) throws SQLException {
    try (PreparedStatement select =
        connection.prepareStatement(
            "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_replication_slots WHERE slot_name = ?"
                + " AND database = current_database())")) {
      select.setString(1, slot);
      try (ResultSet rs = select.executeQuery()) {
        rs.next();
        return rs.getBoolean(1);
      }
    }
  }
}
