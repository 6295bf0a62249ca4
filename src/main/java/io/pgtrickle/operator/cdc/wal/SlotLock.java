package io.pgtrickle.operator.cdc.wal;

import io.pgtrickle.operator.naming.StableName;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;

/**
 * One user of a source's slots at a time, across engines and operator replicas: PostgreSQL refuses
 * a second session on an active slot ("replication slot ... is active"), so peeking, advancing and
 * dropping take this coordinator advisory lock first. Taken before the source's tracking row, in
 * every path, so the two locks never wait on each other in opposite orders.
 */
public final class SlotLock implements AutoCloseable {
  /** "pgtr": keeps our keys apart from other applications' advisory locks. */
  private static final int LOCK_CLASS = 0x70677472;

  private final Connection coordinator;
  private final int key;

  private SlotLock(Connection coordinator, int key) {
    this.coordinator = coordinator;
    this.key = key;
  }

  /** Waits for the lock in the connection's session; {@link #close} releases it. */
  public static SlotLock hold(Connection coordinator, StableName source) throws SQLException {
    int key = keyOf(source);
    call(coordinator, "SELECT pg_catalog.pg_advisory_lock(?, ?)", key);
    return new SlotLock(coordinator, key);
  }

  /** Waits for the lock until the connection's transaction ends. */
  public static void holdForTransaction(Connection transaction, StableName source)
      throws SQLException {
    call(transaction, "SELECT pg_catalog.pg_advisory_xact_lock(?, ?)", keyOf(source));
  }

  @Override
  public void close() throws SQLException {
    call(coordinator, "SELECT pg_catalog.pg_advisory_unlock(?, ?)", key);
  }

  /** Folds the 64-bit stable name into the lock's 32-bit key; a collision only serializes more. */
  static int keyOf(StableName source) {
    long hash = Long.parseUnsignedLong(source.value(), 16);
    return (int) (hash ^ (hash >>> 32));
  }

  private static void call(Connection connection, String sql, int key) throws SQLException {
    try (PreparedStatement statement = connection.prepareStatement(sql)) {
      statement.setInt(1, LOCK_CLASS);
      statement.setInt(2, key);
      statement.execute();
    }
  }
}
