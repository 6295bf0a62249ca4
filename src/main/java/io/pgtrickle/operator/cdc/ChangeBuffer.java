package io.pgtrickle.operator.cdc;

import io.pgtrickle.operator.naming.ObjectNames;
import io.pgtrickle.operator.naming.SqlIdentifiers;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

/**
 * Reads and trims one source's change buffer. "Unconsumed" is judged against a consumer's MVCC
 * snapshot (text form of pg_snapshot), never against an LSN or a sequence number.
 */
public final class ChangeBuffer {
  private ChangeBuffer() {}

  /**
   * Creates the buffer if it does not exist. Lean on purpose: every captured row is written twice
   * (source and buffer), so each byte here is paid on every write. No identity column or B-tree:
   * the writing transaction's id is stored as bigint under a BRIN index, which costs next to
   * nothing to maintain and still finds the unconsumed tail; the row is kept in its text form. WAL
   * capture writes the same shape, with the origin node and LSN of each change.
   */
  public static void create(Connection connection, ObjectNames names) throws SQLException {
    try (Statement statement = connection.createStatement()) {
      statement.execute(
          "CREATE TABLE IF NOT EXISTS "
              + names.changeBufferQualified()
              + " (xid bigint NOT NULL,"
              + " lsn pg_lsn NOT NULL,"
              + " op \"char\" NOT NULL CHECK (op IN ('I', 'D', 'T', 'R')),"
              + " origin_node integer NOT NULL DEFAULT 0,"
              + " origin_lsn pg_lsn,"
              + " row_data text)");
      statement.execute(
          "CREATE INDEX IF NOT EXISTS "
              + SqlIdentifiers.quote(names.changeBufferIndex("xid"))
              + " ON "
              + names.changeBufferQualified()
              + " USING brin (xid) WITH (autosummarize = on)");
      // Markers (TRUNCATE, re-sync) are rare: a partial index holds only them, so a refresh asks
      // whether its window has one without reading the window.
      statement.execute(
          "CREATE INDEX IF NOT EXISTS "
              + SqlIdentifiers.quote(names.changeBufferIndex("markers"))
              + " ON "
              + names.changeBufferQualified()
              + " (xid) WHERE op IN ('T', 'R')");
    }
  }

  /**
   * A piece of SQL with {@code ?} parameters and their values, in order: statements made of such
   * pieces keep the same text from one refresh to the next, so the driver prepares them once.
   */
  public record Bound(String sql, List<String> parameters) {
    public Bound {
      parameters = List.copyOf(parameters);
    }

    /** Binds the parameters from {@code first} on; returns the next free index. */
    public int bind(PreparedStatement statement, int first) throws SQLException {
      int index = first;
      for (String parameter : parameters) {
        statement.setString(index++, parameter);
      }
      return index;
    }
  }

  /** {@link #unconsumed} with the snapshot as parameters. */
  public static Bound unconsumedBound(String alias, String consumedSnapshot) {
    if (consumedSnapshot == null) {
      return new Bound("true", List.of());
    }
    return new Bound(
        outside(alias, "?::pg_catalog.pg_snapshot"), List.of(consumedSnapshot, consumedSnapshot));
  }

  /** A boolean SQL expression: whether the window holds any buffer row. */
  public static Bound anyUnconsumed(ObjectNames names, String consumedSnapshot) {
    Bound window = unconsumedBound("b", consumedSnapshot);
    return new Bound(
        "EXISTS (SELECT 1 FROM " + names.changeBufferQualified() + " b WHERE " + window.sql() + ")",
        window.parameters());
  }

  /**
   * A boolean SQL expression: whether the window holds a TRUNCATE or re-sync marker. Answered from
   * the markers' partial index, not by reading the window.
   */
  public static Bound anyMarker(ObjectNames names, String consumedSnapshot) {
    Bound window = unconsumedBound("b", consumedSnapshot);
    return new Bound(
        "EXISTS (SELECT 1 FROM "
            + names.changeBufferQualified()
            + " b WHERE b.op IN ('T', 'R') AND "
            + window.sql()
            + ")",
        window.parameters());
  }

  /**
   * A bigint SQL expression: the window's buffer rows, counted up to {@code cap} (the work stays
   * bounded).
   */
  public static Bound countUpTo(ObjectNames names, String consumedSnapshot, long cap) {
    Bound window = unconsumedBound("b", consumedSnapshot);
    return new Bound(
        "(SELECT count(*) FROM (SELECT 1 FROM "
            + names.changeBufferQualified()
            + " b WHERE "
            + window.sql()
            + " LIMIT "
            + Math.max(cap, 0)
            + ") x)",
        window.parameters());
  }

  /**
   * Writes a re-sync marker (op R) in the caller's transaction: changes of the source may have been
   * missed (a lost slot, a moved shard), so every consumer's next refresh must read the source in
   * full rather than trust the buffer.
   */
  public static void markResync(Connection connection, ObjectNames names, int originNode)
      throws SQLException {
    try (PreparedStatement marker =
        connection.prepareStatement(
            "INSERT INTO "
                + names.changeBufferQualified()
                + " (xid, lsn, op, origin_node) VALUES"
                + " (pg_catalog.pg_current_xact_id()::text::bigint,"
                + " pg_catalog.pg_current_wal_insert_lsn(), 'R', ?)")) {
      marker.setInt(1, originNode);
      marker.executeUpdate();
    }
  }

  /**
   * Whether the buffer holds changes of transactions not visible in {@code consumedSnapshot} (null:
   * the consumer has consumed nothing), as seen by the caller's snapshot.
   */
  public static boolean hasUnconsumed(
      Connection connection, ObjectNames names, String consumedSnapshot) throws SQLException {
    String sql =
        consumedSnapshot == null
            ? "SELECT EXISTS (SELECT 1 FROM " + names.changeBufferQualified() + ")"
            : "SELECT EXISTS (SELECT 1 FROM "
                + names.changeBufferQualified()
                + " WHERE xid >= pg_catalog.pg_snapshot_xmin(?::pg_snapshot)::text::bigint"
                + " AND NOT pg_catalog.pg_visible_in_snapshot(xid::text::xid8, ?::pg_snapshot))";
    try (PreparedStatement statement = connection.prepareStatement(sql)) {
      if (consumedSnapshot != null) {
        statement.setString(1, consumedSnapshot);
        statement.setString(2, consumedSnapshot);
      }
      try (ResultSet rs = statement.executeQuery()) {
        rs.next();
        return rs.getBoolean(1);
      }
    }
  }

  /**
   * A condition on buffer rows (alias {@code b}) selecting the window after {@code
   * consumedSnapshot} (null: everything), as {@link #hasUnconsumed} judges it. The snapshot is our
   * own catalog's value, checked against pg_snapshot's text form before it is inlined (statements
   * such as CREATE TABLE AS take no parameters).
   */
  public static String unconsumed(String alias, String consumedSnapshot) {
    if (consumedSnapshot == null) {
      return "true";
    }
    if (!SNAPSHOT.matcher(consumedSnapshot).matches()) {
      throw new IllegalArgumentException("not a snapshot: " + consumedSnapshot);
    }
    return outside(alias, "'" + consumedSnapshot + "'::pg_catalog.pg_snapshot");
  }

  /** Buffer rows of transactions that {@code snapshot} (an expression) does not see. */
  private static String outside(String alias, String snapshot) {
    return alias
        + ".xid >= pg_catalog.pg_snapshot_xmin("
        + snapshot
        + ")::text::bigint AND NOT pg_catalog.pg_visible_in_snapshot("
        + alias
        + ".xid::text::xid8, "
        + snapshot
        + ")";
  }

  /**
   * The same condition with the snapshot read from a setting of the transaction ({@link
   * #windowSetting}), so that the statement's text does not change from one refresh to the next:
   * the driver then keeps it prepared on the server and PostgreSQL reuses its plan (a statement
   * without parameters always gets its generic plan), where a literal made every refresh parse and
   * plan it again (~0.8 ms of a 3 ms one-row refresh, docs/benchmarks.md).
   */
  public static String unconsumedBySetting(String alias, String settingName) {
    if (!SETTING.matcher(settingName).matches()) {
      throw new IllegalArgumentException("not a setting name: " + settingName);
    }
    return outside(
        alias, "pg_catalog.current_setting('" + settingName + "')::pg_catalog.pg_snapshot");
  }

  /**
   * The {@code SET LOCAL} that gives {@link #unconsumedBySetting} its snapshot, checked as {@link
   * #unconsumed} checks it before it is inlined.
   */
  public static String windowSetting(String settingName, String consumedSnapshot) {
    if (!SETTING.matcher(settingName).matches()) {
      throw new IllegalArgumentException("not a setting name: " + settingName);
    }
    if (!SNAPSHOT.matcher(consumedSnapshot).matches()) {
      throw new IllegalArgumentException("not a snapshot: " + consumedSnapshot);
    }
    return "SET LOCAL " + settingName + " = '" + consumedSnapshot + "'";
  }

  private static final java.util.regex.Pattern SETTING =
      java.util.regex.Pattern.compile("pgtrickle\\.[a-z0-9_]+");

  private static final java.util.regex.Pattern SNAPSHOT =
      java.util.regex.Pattern.compile("\\d+:\\d+:[\\d,]*");

  /**
   * Deletes rows every consumer has passed: those whose transaction id is below the smallest xmin
   * of the consumers' snapshots (such a transaction is visible to all, or aborted). Returns the
   * number of rows deleted.
   */
  public static int compactBelow(Connection connection, ObjectNames names, long minXmin)
      throws SQLException {
    try (PreparedStatement statement =
        connection.prepareStatement(
            "DELETE FROM " + names.changeBufferQualified() + " WHERE xid < ?")) {
      statement.setLong(1, minXmin);
      return statement.executeUpdate();
    }
  }
}
