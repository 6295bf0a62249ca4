package io.pgtrickle.operator.engine;

import io.pgtrickle.operator.catalog.Placement;
import io.pgtrickle.operator.catalog.TrackedSource;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import javax.sql.DataSource;

/**
 * A moment with no writes to a stream table's WAL-captured sources, so that a FULL refresh, or a
 * differential one that reads the sources' state (a join, a sublink, ...), reads exactly what the
 * slots have delivered. Without it such a refresh reads the tables as they are, which may hold
 * commits the slots deliver only later: a FULL's would be applied a second time by the DIFFERENTIAL
 * refreshes that follow, a join's counted once through the other table's change and again through
 * their own ({@code WalDifferentialIT}).
 *
 * <p>Held in a transaction of its own: SHARE locks on the sources (writers wait, and the lock waits
 * for writers already running), then the slots are drained, then the refresh's transaction takes
 * its snapshot, then the barrier is released, before the FULL itself runs. Writers wait for a drain
 * and one statement, not for the refresh. On Citus, the lock on a distributed or reference table is
 * taken on the coordinator and Citus takes it on every node with its metadata, where each write to
 * the table locks it too; two-phase commits half done are waited for before the drain ({@code
 * WalCapture}); and the barrier is held until the refresh commits (no snapshot spans the nodes).
 */
final class WriteBarrier implements AutoCloseable {
  /** How long to wait for running writers; past it this refresh fails and the next retries. */
  static final String WAIT = "2s";

  private final Connection connection;
  private final boolean untilCommit;
  private boolean held;

  private WriteBarrier(Connection connection, boolean untilCommit) {
    this.connection = connection;
    this.untilCommit = untilCommit;
    this.held = true;
  }

  /**
   * Holds the barrier. On one server it is released once the refresh's snapshot is taken: that
   * snapshot reads the tables as they were then. Citus has no snapshot across nodes: a refresh that
   * reads distributed or reference tables reads each node when it gets to it, so the barrier is
   * held until the refresh has committed ({@code untilCommit}).
   */
  static WriteBarrier hold(DataSource dataSource, List<TrackedSource> sources)
      throws SQLException, EngineException {
    String tables =
        String.join(", ", sources.stream().map(s -> s.table().name().sqlName()).toList());
    Connection connection = dataSource.getConnection();
    try {
      connection.setAutoCommit(false);
      try (Statement statement = connection.createStatement()) {
        statement.execute("SET LOCAL lock_timeout = '" + WAIT + "'");
        statement.execute("LOCK TABLE " + tables + " IN SHARE MODE");
      }
      return new WriteBarrier(
          connection, sources.stream().anyMatch(s -> s.placement() != Placement.LOCAL));
    } catch (SQLException e) {
      connection.rollback();
      connection.close();
      if ("55P03".equals(e.getSQLState())) { // lock_not_available
        throw new EngineException(
            Reason.RefreshFailed,
            "a refresh over WAL-captured sources (a FULL one, or one that reads their state)"
                + " waits for a moment without writers to "
                + tables
                + "; writers held their locks longer than "
                + WAIT
                + ", the next refresh tries again",
            e);
      }
      throw e;
    }
  }

  /**
   * Lets writers go on once the refresh's snapshot is taken, unless the barrier is held until the
   * refresh commits (Citus), when {@link #close} releases it.
   */
  void releaseAfterSnapshot() throws SQLException {
    if (!untilCommit) {
      release();
    }
  }

  /** Whether it is held until the refresh commits (Citus sources). */
  boolean untilCommit() {
    return untilCommit;
  }

  /** Lets writers go on (idempotent). */
  void release() throws SQLException {
    if (held) {
      held = false;
      connection.commit();
    }
  }

  boolean held() {
    return held;
  }

  @Override
  public void close() throws SQLException {
    try {
      if (held) {
        held = false;
        connection.rollback();
      }
    } finally {
      connection.close();
    }
  }
}
