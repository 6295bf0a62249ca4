package io.pgtrickle.operator.cdc.wal;

import io.pgtrickle.operator.cdc.ChangeText;
import io.pgtrickle.operator.cdc.wal.PgOutputMessage.Value;
import io.pgtrickle.operator.cdc.wal.WalTransaction.RowChange;
import io.pgtrickle.operator.naming.ObjectNames;
import io.pgtrickle.operator.naming.SqlIdentifiers;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.postgresql.replication.LogSequenceNumber;

/**
 * A source's publication and pgoutput slot on one node, read over SQL. Reading only peeks: the slot
 * moves (advance) only after what was read has been committed on the coordinator, so a crash in
 * between re-reads changes, which the recorded node frontier then skips.
 */
public final class SlotReader {
  private SlotReader() {}

  /** Creates the publication for the table and the slot, if missing. */
  public static void ensure(Connection node, String schema, String table, ObjectNames names)
      throws SQLException {
    ensurePublication(node, schema, table, names);
    if (!slotExists(node, names)) {
      try (PreparedStatement create =
          node.prepareStatement(
              "SELECT pg_catalog.pg_create_logical_replication_slot(?, 'pgoutput')")) {
        create.setString(1, names.replicationSlot());
        create.execute();
      }
    }
  }

  /**
   * Creates the publication for the table, if missing (on Citus: on the coordinator, which
   * propagates it), and puts the table back in it if it is not there (a table dropped and
   * re-created under its name leaves the publication empty). Returns whether it created it.
   */
  public static boolean ensurePublication(
      Connection node, String schema, String table, ObjectNames names) throws SQLException {
    try (PreparedStatement exists =
        node.prepareStatement(
            "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_publication_rel r"
                + " WHERE r.prpubid = p.oid AND r.prrelid = to_regclass(?))"
                + " FROM pg_catalog.pg_publication p WHERE p.pubname = ?")) {
      exists.setString(1, SqlIdentifiers.qualified(schema, table));
      exists.setString(2, names.publication());
      try (ResultSet rs = exists.executeQuery()) {
        if (rs.next()) {
          if (!rs.getBoolean(1)) {
            try (Statement statement = node.createStatement()) {
              statement.execute(
                  "ALTER PUBLICATION "
                      + SqlIdentifiers.quote(names.publication())
                      + " ADD TABLE "
                      + SqlIdentifiers.qualified(schema, table));
            }
          }
          return false;
        }
      }
    }
    try (Statement statement = node.createStatement()) {
      statement.execute(
          "CREATE PUBLICATION "
              + SqlIdentifiers.quote(names.publication())
              + " FOR TABLE "
              + SqlIdentifiers.qualified(schema, table));
    }
    return true;
  }

  public static boolean slotExists(Connection node, ObjectNames names) throws SQLException {
    return state(node, names) != SlotState.MISSING;
  }

  /** What {@link #state} found. */
  public enum SlotState {
    MISSING,
    /** Its confirmed position is at or past the node's flushed WAL: a peek would decode nothing. */
    CAUGHT_UP,
    BEHIND
  }

  /**
   * Whether the slot exists, and if so whether it has caught up. One round trip, asked on every
   * tick before a peek and an advance, which set up a decoding context each: an idle source's tick
   * went from four round trips to one.
   */
  public static SlotState state(Connection node, ObjectNames names) throws SQLException {
    try (PreparedStatement state =
        node.prepareStatement(
            "SELECT s.confirmed_flush_lsn IS NOT NULL"
                + " AND s.confirmed_flush_lsn >= pg_catalog.pg_current_wal_flush_lsn()"
                + " FROM pg_catalog.pg_replication_slots s WHERE s.slot_name = ?")) {
      state.setString(1, names.replicationSlot());
      try (ResultSet rs = state.executeQuery()) {
        if (!rs.next()) {
          return SlotState.MISSING;
        }
        return rs.getBoolean(1) ? SlotState.CAUGHT_UP : SlotState.BEHIND;
      }
    }
  }

  /** Drops the slot and the publication, if present. */
  public static void drop(Connection node, ObjectNames names) throws SQLException {
    dropSlot(node, names);
    dropPublication(node, names);
  }

  public static void dropPublication(Connection node, ObjectNames names) throws SQLException {
    try (Statement statement = node.createStatement()) {
      statement.execute("DROP PUBLICATION IF EXISTS " + SqlIdentifiers.quote(names.publication()));
    }
  }

  /**
   * Drops only the slot, if present: a Citus node that no longer holds a source's shards keeps the
   * publication Citus propagated to it.
   */
  public static void dropSlot(Connection node, ObjectNames names) throws SQLException {
    try (PreparedStatement drop =
        node.prepareStatement(
            "SELECT pg_catalog.pg_drop_replication_slot(slot_name)"
                + " FROM pg_catalog.pg_replication_slots WHERE slot_name = ?")) {
      drop.setString(1, names.replicationSlot());
      drop.execute();
    }
  }

  /**
   * Whole committed transactions after the slot's position (the publication holds only this source,
   * so every change is one of its rows; Relation messages need no bookkeeping), up to about {@code
   * maxChanges} changes (PostgreSQL stops after the transaction that crosses the limit). Nothing is
   * consumed.
   */
  public static List<WalTransaction> peek(Connection node, ObjectNames names, int maxChanges)
      throws SQLException {
    return peekUpTo(node, names, maxChanges).transactions();
  }

  /**
   * What one peek read: the whole transactions, and whether it decoded to the end of the WAL that
   * was flushed when it ran (it returned fewer messages than its limit).
   */
  public record Peeked(List<WalTransaction> transactions, boolean reachedEnd) {}

  /**
   * As {@link #peek}, also telling whether the peek reached the end of the flushed WAL. Rows are
   * printed under {@link ChangeText}'s settings, as trigger capture prints them, in a transaction
   * of their own (or the caller's, if it has one).
   */
  public static Peeked peekUpTo(Connection node, ObjectNames names, int maxChanges)
      throws SQLException {
    return peekUpTo(node, names.replicationSlot(), names.publication(), maxChanges);
  }

  /**
   * As {@link #peekUpTo(Connection, ObjectNames, int)}, for a slot and publication named otherwise
   * (the upstream extension's {@code pgtrickle_<oid>} and {@code pgtrickle_cdc_<oid>}, read once
   * when they are adopted).
   */
  public static Peeked peekUpTo(Connection node, String slot, String publication, int maxChanges)
      throws SQLException {
    boolean autoCommit = node.getAutoCommit();
    node.setAutoCommit(false);
    try {
      ChangeText.pinForTransaction(node);
      Peeked peeked = decode(node, slot, publication, maxChanges);
      if (autoCommit) {
        node.commit();
      }
      return peeked;
    } catch (SQLException | RuntimeException e) {
      if (autoCommit) {
        node.rollback();
      }
      throw e;
    } finally {
      node.setAutoCommit(autoCommit);
    }
  }

  private static Peeked decode(Connection node, String slot, String publication, int maxChanges)
      throws SQLException {
    List<WalTransaction> transactions = new ArrayList<>();
    long messages = 0;
    List<RowChange> changes = new ArrayList<>();
    try (PreparedStatement peek =
        node.prepareStatement(
            "SELECT data FROM pg_catalog.pg_logical_slot_peek_binary_changes(?, NULL, ?,"
                + " 'proto_version', '1', 'publication_names', ?)")) {
      peek.setString(1, slot);
      peek.setInt(2, maxChanges);
      peek.setString(3, publication);
      try (ResultSet rs = peek.executeQuery()) {
        while (rs.next()) {
          messages++;
          PgOutputMessage message = PgOutputDecoder.decode(rs.getBytes(1));
          if (message instanceof PgOutputMessage.Begin) {
            changes = new ArrayList<>();
          } else if (message instanceof PgOutputMessage.Insert insert) {
            changes.add(new RowChange('I', RecordText.of(insert.newRow())));
          } else if (message instanceof PgOutputMessage.Update update) {
            if (update.oldRow() != null) {
              changes.add(new RowChange('D', RecordText.of(update.oldRow())));
            }
            changes.add(new RowChange('I', RecordText.of(filledIn(update))));
          } else if (message instanceof PgOutputMessage.Delete delete) {
            changes.add(new RowChange('D', RecordText.of(delete.oldRow())));
          } else if (message instanceof PgOutputMessage.Truncate) {
            changes.add(new RowChange('T', null));
          } else if (message instanceof PgOutputMessage.Commit commit) {
            transactions.add(new WalTransaction(commit.commitLsn(), commit.endLsn(), changes));
            changes = new ArrayList<>();
          }
        }
      }
    }
    return new Peeked(transactions, messages < maxChanges);
  }

  /**
   * The node's flushed WAL position: read before a peek that then reaches the end, every commit
   * below it that concerns the source was among what the peek returned.
   */
  public static long flushedLsn(Connection node) throws SQLException {
    try (Statement statement = node.createStatement();
        ResultSet rs =
            statement.executeQuery("SELECT pg_catalog.pg_current_wal_flush_lsn()::text")) {
      rs.next();
      return LogSequenceNumber.valueOf(rs.getString(1)).asLong();
    }
  }

  /**
   * Moves the slot past {@code lsn}: the changes before it are released on that node. A slot that
   * another consumer already moved further is left alone (moving a slot back is an error).
   */
  public static void advance(Connection node, ObjectNames names, long lsn) throws SQLException {
    advance(node, names.replicationSlot(), lsn);
  }

  /** As above, for a slot by name (no further than the WAL flushed: flush first to go there). */
  public static void advance(Connection node, String slot, long lsn) throws SQLException {
    try (PreparedStatement advance =
        node.prepareStatement(
            "SELECT pg_catalog.pg_replication_slot_advance(slot_name, ?::pg_lsn)"
                + " FROM pg_catalog.pg_replication_slots"
                + " WHERE slot_name = ? AND confirmed_flush_lsn < ?::pg_lsn")) {
      String target = LogSequenceNumber.valueOf(lsn).asString();
      advance.setString(1, target);
      advance.setString(2, slot);
      advance.setString(3, target);
      advance.execute();
    }
  }

  /** An unchanged TOASTed column is not resent; take it from the old row when there is one. */
  private static List<Value> filledIn(PgOutputMessage.Update update) {
    List<Value> row = new ArrayList<>(update.newRow());
    for (int i = 0; i < row.size(); i++) {
      if (row.get(i).kind() == Value.Kind.UNCHANGED_TOAST
          && update.oldRow() != null
          && i < update.oldRow().size()) {
        row.set(i, update.oldRow().get(i));
      }
    }
    return row;
  }
}
