package io.pgtrickle.operator.cdc.wal;

import io.pgtrickle.operator.naming.ObjectNames;
import io.pgtrickle.operator.naming.StableName;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import javax.sql.DataSource;
import org.postgresql.replication.LogSequenceNumber;

/**
 * Moves one node's committed changes of one source from its slot into the coordinator's change
 * buffer, exactly once. In one coordinator transaction it locks the source's tracking row, skips
 * transactions at or below the node's recorded frontier, writes the rest (with origin node and LSN)
 * and records the node's new frontier; only after that commits does the slot advance. A crash
 * before the commit leaves nothing and the slot where it was; a crash after it leaves the slot
 * behind, and the re-read transactions are skipped by the frontier. No LSN of one node is ever
 * compared with another node's.
 */
public final class WalConsumer {
  private static final String NODE_FRONTIER =
      "SELECT frontier_per_node ->> ? FROM pgtrickle.pgt_change_tracking"
          + " WHERE source_stable_name = ? FOR UPDATE";
  private static final String RECORD_FRONTIER =
      "UPDATE pgtrickle.pgt_change_tracking SET frontier_per_node ="
          + " jsonb_set(coalesce(frontier_per_node, '{}'::jsonb), ARRAY[?], to_jsonb(?::text))"
          + " WHERE source_stable_name = ?";

  private final DataSource coordinator;
  private final StepHook hook;

  /** The points between reading and releasing; tests fail or kill the consumer at each. */
  public enum Step {
    READ,
    BUFFERED,
    COMMITTED
  }

  /** Test seam, called at each step. */
  public interface StepHook {
    StepHook NONE = step -> {};

    void at(Step step) throws SQLException;
  }

  /** What one call moved. */
  public record Consumed(int transactions, int skipped, long rows, long frontierLsn) {}

  public WalConsumer(DataSource coordinator) {
    this(coordinator, StepHook.NONE);
  }

  public WalConsumer(DataSource coordinator, StepHook hook) {
    this.coordinator = coordinator;
    this.hook = hook;
  }

  /**
   * Moves up to {@code maxChanges} changes (whole transactions) of one node's slot into the buffer,
   * holding the source's {@link SlotLock} from the peek to the advance, so concurrent consumers of
   * the slot take turns instead of failing on an active slot.
   */
  @SuppressWarnings("try") // the slot lock is held by the try block itself
  public Consumed consume(Connection node, int nodeId, StableName source, int maxChanges)
      throws SQLException {
    try (Connection connection = coordinator.getConnection();
        SlotLock lock = SlotLock.hold(connection, source)) {
      return consumeLocked(connection, node, nodeId, source, maxChanges);
    }
  }

  /**
   * As {@link #consume(Connection, int, StableName, int)}, on a coordinator connection (in
   * auto-commit mode) whose session already holds the source's {@link SlotLock}.
   */
  public Consumed consumeLocked(
      Connection coordinatorSession, Connection node, int nodeId, StableName source, int maxChanges)
      throws SQLException {
    return consumeLocked(coordinatorSession, node, nodeId, source, maxChanges, false);
  }

  /**
   * As {@link #consumeLocked(Connection, Connection, int, StableName, int)}; with {@code
   * truncatesOnly} only the slot's TRUNCATEs go into the buffer (the Citus coordinator of a
   * distributed table whose shards it does not hold: any rows it decodes are not the table's), and
   * the frontier still moves past every transaction read.
   */
  public Consumed consumeLocked(
      Connection coordinatorSession,
      Connection node,
      int nodeId,
      StableName source,
      int maxChanges,
      boolean truncatesOnly)
      throws SQLException {
    ObjectNames names = new ObjectNames(source);
    // An idle source must not pin the WAL other tables write: when the peek decodes to the end,
    // nothing of this source committed below the flush position read before it, so the slot
    // may move up to there too (a transaction still open then commits later and is decoded
    // later: its commit is what counts).
    long flushed = SlotReader.flushedLsn(node);
    SlotReader.Peeked peeked = SlotReader.peekUpTo(node, names, maxChanges);
    List<WalTransaction> transactions =
        truncatesOnly ? truncates(peeked.transactions()) : peeked.transactions();
    long releasable = peeked.reachedEnd() ? flushed : -1;
    if (transactions.isEmpty()) {
      if (releasable != -1) {
        SlotReader.advance(node, names, releasable);
      }
      return new Consumed(0, 0, 0, -1);
    }
    hook.at(Step.READ);
    Consumed consumed;
    coordinatorSession.setAutoCommit(false);
    try {
      consumed = apply(coordinatorSession, nodeId, source, transactions);
      hook.at(Step.BUFFERED);
      coordinatorSession.commit();
    } catch (SQLException | RuntimeException e) {
      coordinatorSession.rollback();
      throw e;
    } finally {
      coordinatorSession.setAutoCommit(true);
    }
    hook.at(Step.COMMITTED);
    long end = transactions.get(transactions.size() - 1).endLsn();
    SlotReader.advance(
        node,
        names,
        Long.compareUnsigned(releasable, end) > 0 && releasable != -1 ? releasable : end);
    return consumed;
  }

  /**
   * Reads everything the slot holds and applies it inside the caller's coordinator transaction
   * (used while creating a stream table, under its source locks), which must hold the source's
   * {@link SlotLock#holdForTransaction}. The caller advances the slot to the returned LSN after its
   * commit, under the lock again; -1 when there was nothing.
   */
  public static long drainInto(
      Connection coordinatorTransaction, Connection node, int nodeId, StableName source)
      throws SQLException {
    return drainInto(coordinatorTransaction, node, nodeId, source, false);
  }

  /** As {@link #drainInto(Connection, Connection, int, StableName)}, TRUNCATEs alone if asked. */
  public static long drainInto(
      Connection coordinatorTransaction,
      Connection node,
      int nodeId,
      StableName source,
      boolean truncatesOnly)
      throws SQLException {
    List<WalTransaction> transactions =
        SlotReader.peek(node, new ObjectNames(source), Integer.MAX_VALUE);
    if (truncatesOnly) {
      transactions = truncates(transactions);
    }
    if (transactions.isEmpty()) {
      return -1;
    }
    apply(coordinatorTransaction, nodeId, source, transactions);
    return transactions.get(transactions.size() - 1).endLsn();
  }

  /**
   * Writes the transactions above the node's frontier into the buffer and records the new frontier,
   * in the caller's transaction. Locks the source's tracking row first, so two consumers of one
   * slot take turns and the second skips what the first applied.
   */
  private static Consumed apply(
      Connection connection, int nodeId, StableName source, List<WalTransaction> transactions)
      throws SQLException {
    ObjectNames names = new ObjectNames(source);
    int applied = 0;
    int skipped = 0;
    long rows = 0;
    long frontier = nodeFrontier(connection, nodeId, source);
    try (PreparedStatement insert =
        connection.prepareStatement(
            "INSERT INTO "
                + names.changeBufferQualified()
                + " (xid, lsn, op, origin_node, origin_lsn, row_data) VALUES"
                + " (pg_catalog.pg_current_xact_id()::text::bigint, ?::pg_lsn, ?, ?,"
                + " ?::pg_lsn, ?)")) {
      for (WalTransaction transaction : transactions) {
        if (frontier != -1 && Long.compareUnsigned(transaction.commitLsn(), frontier) <= 0) {
          skipped++;
          continue;
        }
        String lsn = LogSequenceNumber.valueOf(transaction.commitLsn()).asString();
        for (WalTransaction.RowChange change : transaction.changes()) {
          insert.setString(1, lsn);
          insert.setString(2, String.valueOf(change.op()));
          insert.setInt(3, nodeId);
          insert.setString(4, lsn);
          insert.setString(5, change.rowText());
          insert.addBatch();
          rows++;
        }
        frontier = transaction.commitLsn();
        applied++;
      }
      insert.executeBatch();
    }
    if (applied > 0) {
      try (PreparedStatement record = connection.prepareStatement(RECORD_FRONTIER)) {
        record.setString(1, Integer.toString(nodeId));
        record.setString(2, LogSequenceNumber.valueOf(frontier).asString());
        record.setString(3, source.value());
        record.executeUpdate();
      }
    }
    return new Consumed(applied, skipped, rows, frontier);
  }

  /** The transactions with their TRUNCATEs alone (each kept, so the frontier passes it). */
  private static List<WalTransaction> truncates(List<WalTransaction> transactions) {
    return transactions.stream()
        .map(
            t ->
                new WalTransaction(
                    t.commitLsn(),
                    t.endLsn(),
                    t.changes().stream().filter(c -> c.op() == 'T').toList()))
        .toList();
  }

  /** The node's recorded frontier, or -1 when nothing from it was ever recorded. */
  private static long nodeFrontier(Connection connection, int nodeId, StableName source)
      throws SQLException {
    try (PreparedStatement select = connection.prepareStatement(NODE_FRONTIER)) {
      select.setString(1, Integer.toString(nodeId));
      select.setString(2, source.value());
      try (ResultSet rs = select.executeQuery()) {
        if (!rs.next()) {
          throw new SQLException("source " + source + " is not tracked on the coordinator");
        }
        String lsn = rs.getString(1);
        return lsn == null ? -1 : LogSequenceNumber.valueOf(lsn).asLong();
      }
    }
  }
}
