package io.pgtrickle.operator.engine;

import io.pgtrickle.operator.naming.ObjectNames;
import io.pgtrickle.operator.naming.StableName;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Notices that the database now runs on another server than the one its frontiers were taken on —
 * restored from a dump, upgraded by dump and restore, or a failover or point-in-time recovery that
 * began a new timeline — and makes that safe. Frontiers are MVCC snapshots and LSNs of one server;
 * on a server whose xid counter is below a recorded snapshot, fresh changes would look consumed and
 * be skipped for good, and old buffer rows whose xids lie above the new counter would look pending
 * and be applied twice. A server is named by its system identifier and timeline.
 *
 * <p>Once per move ({@link #forgetOldServer}): every change buffer is emptied and every frontier
 * forgotten, in one transaction that also records the new server. Then each stream table, whose
 * frontier names the old server, is re-synced in full once before it refreshes again (capture
 * re-established: slots, which a dump never carries, triggers and publications if absent); its new
 * frontier names the new server. What was written in between is in the sources, which the re-sync
 * reads, so nothing is lost, and nothing is applied twice.
 */
public final class ServerMove {
  private static final Logger LOG = LoggerFactory.getLogger(ServerMove.class);

  /** The connected server, as frontiers record it: '<system identifier>/<timeline>'. */
  static final String CURRENT =
      "(SELECT s.system_identifier || '/' || c.timeline_id"
          + " FROM pg_catalog.pg_control_system() s, pg_catalog.pg_control_checkpoint() c)";

  /** Serialises the once-per-move step between engines (an advisory lock key: "pgtmove"). */
  private static final long LOCK = 0x7067746d6f7665L;

  private ServerMove() {}

  /** The server this database's catalog last worked on, when it is not the connected one. */
  static Optional<String> oldServer(Connection connection) throws SQLException {
    try (Statement statement = connection.createStatement();
        ResultSet rs =
            statement.executeQuery(
                "SELECT (SELECT server FROM pgtrickle.pgt_server), " + CURRENT)) {
      rs.next();
      String recorded = rs.getString(1);
      return recorded != null && recorded.equals(rs.getString(2))
          ? Optional.empty()
          : Optional.of(
              recorded == null ? "(not recorded: catalog from before version 7)" : recorded);
    }
  }

  /** Whether the stream table's frontier was taken on another server (it needs a re-sync). */
  static boolean frontierFromAnotherServer(Connection connection, long streamTableId)
      throws SQLException {
    try (PreparedStatement statement =
        connection.prepareStatement(
            "SELECT frontier_server IS DISTINCT FROM "
                + CURRENT
                + " FROM pgtrickle.pgt_stream_tables WHERE id = ?")) {
      statement.setLong(1, streamTableId);
      try (ResultSet rs = statement.executeQuery()) {
        return rs.next() && rs.getBoolean(1);
      }
    }
  }

  /**
   * If the database moved to another server: empties every change buffer, forgets every frontier
   * (per stream table and per node) and the recorded Citus topology, and records the new server, in
   * one transaction. Returns the old server's name, if it moved.
   */
  static Optional<String> forgetOldServer(DataSource dataSource)
      throws SQLException, EngineException {
    try (Connection probe = dataSource.getConnection()) {
      if (oldServer(probe).isEmpty()) {
        return Optional.empty();
      }
    }
    return Transactions.run(
        dataSource,
        Connection.TRANSACTION_READ_COMMITTED,
        connection -> {
          try (Statement statement = connection.createStatement()) {
            statement.execute("SELECT pg_catalog.pg_advisory_xact_lock(" + LOCK + ")");
          }
          Optional<String> old = oldServer(connection); // another engine may have done it
          if (old.isEmpty()) {
            return old;
          }
          if (nothingTaken(connection)) {
            // A new catalog (or one with no frontier yet): nothing to forget, just the server.
            recordServer(connection);
            return Optional.empty();
          }
          List<String> buffers = new ArrayList<>();
          try (Statement statement = connection.createStatement();
              ResultSet rs =
                  statement.executeQuery(
                      "SELECT source_stable_name FROM pgtrickle.pgt_change_tracking"
                          + " WHERE to_regclass('pgtrickle_changes.changes_' ||"
                          + " source_stable_name) IS NOT NULL ORDER BY 1")) {
            while (rs.next()) {
              buffers.add(new ObjectNames(new StableName(rs.getString(1))).changeBufferQualified());
            }
          }
          try (Statement statement = connection.createStatement()) {
            if (!buffers.isEmpty()) {
              statement.execute("TRUNCATE " + String.join(", ", buffers));
            }
            statement.execute("UPDATE pgtrickle.pgt_stream_tables SET frontier = '{}'::jsonb");
            statement.execute(
                "UPDATE pgtrickle.pgt_change_tracking SET frontier_per_node = NULL,"
                    + " capture_topology = NULL");
          }
          recordServer(connection);
          LOG.warn(
              "this database's frontiers were taken on server {} (system identifier/timeline),"
                  + " not on this one: change buffers emptied; every stream table is re-synced in"
                  + " full before it refreshes again",
              old.get());
          return old;
        });
  }

  /**
   * Whether no frontier names a server yet: no server recorded, no stream table with a frontier (so
   * not a catalog from before version 7 with stream tables that refreshed). The first start on a
   * database is then not a move, and says nothing.
   */
  private static boolean nothingTaken(Connection connection) throws SQLException {
    try (Statement statement = connection.createStatement();
        ResultSet rs =
            statement.executeQuery(
                "SELECT NOT EXISTS (SELECT 1 FROM pgtrickle.pgt_server)"
                    + " AND NOT EXISTS (SELECT 1 FROM pgtrickle.pgt_stream_tables"
                    + " WHERE frontier <> '{}'::jsonb)"
                    + " AND NOT EXISTS (SELECT 1 FROM pgtrickle.pgt_change_tracking"
                    + " WHERE frontier_per_node IS NOT NULL)")) {
      rs.next();
      return rs.getBoolean(1);
    }
  }

  /**
   * Records the connected server for a catalog created inside another transaction (an adoption,
   * package {@code adopt}, creates ours and fills its buffers and frontiers at once): they are this
   * server's, and the first connection must not take them for a moved database's. Keeps a server
   * already recorded.
   */
  public static void recordServerOfNewCatalog(Connection connection) throws SQLException {
    try (Statement statement = connection.createStatement()) {
      statement.execute(
          "INSERT INTO pgtrickle.pgt_server (server) SELECT "
              + CURRENT
              + " ON CONFLICT (only_row) DO NOTHING");
    }
  }

  private static void recordServer(Connection connection) throws SQLException {
    try (Statement statement = connection.createStatement()) {
      statement.execute(
          "INSERT INTO pgtrickle.pgt_server (server) SELECT "
              + CURRENT
              + " ON CONFLICT (only_row) DO UPDATE SET server = excluded.server, since = now()");
    }
  }

  /** Why a stream table ran FULL after a move, for status (lastRefresh.reason). */
  static String resyncReason() {
    return "re-synced in full: the database runs on another server than the one its frontier was"
        + " taken on (restored from a dump, upgraded, or a new timeline); capture re-established";
  }
}
