package io.pgtrickle.operator.adopt;

import io.pgtrickle.operator.catalog.ResolvedTable;
import io.pgtrickle.operator.cdc.ChangeBuffer;
import io.pgtrickle.operator.naming.ObjectNames;
import io.pgtrickle.operator.naming.SqlIdentifiers;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * Converts the rows of an upstream change buffer that its stream tables have not consumed (LSN
 * above the smallest of their frontiers) into rows of ours, in the adoption's transaction (whose
 * {@code xid} they carry, as a WAL drain's rows do). Upstream rows hold typed {@code new_<col>} and
 * {@code old_<col>} columns and an action I/U/D/T; ours hold the row's record text and I/D/T, an
 * update being the old row out and the new one in. The text is built as our trigger builds it:
 * {@code ROW(...)::<source>::text} under the pinned output settings.
 */
final class PendingRows {
  private PendingRows() {}

  /**
   * Returns the rows written. When the buffer lacks a column of the source (the upstream did not
   * capture it), the rows cannot be rebuilt: a re-sync marker is written instead, so every consumer
   * reads the source in full once (returns 0).
   */
  static long convert(
      Connection connection,
      ResolvedTable source,
      String upstreamBuffer,
      Optional<String> consumedUpTo,
      ObjectNames ours)
      throws SQLException {
    String buffer = SqlIdentifiers.qualified(Adoption.PARKED_SCHEMA, upstreamBuffer);
    List<String> columns = sourceColumns(connection, source.oid());
    List<String> bufferColumns = bufferColumns(connection, buffer);
    boolean complete =
        columns.stream()
            .allMatch(
                c -> bufferColumns.contains("new_" + c) && bufferColumns.contains("old_" + c));
    if (!complete) {
      if (hasPending(connection, buffer, consumedUpTo)) {
        ChangeBuffer.markResync(connection, ours, 0);
      }
      return 0;
    }
    String type = source.name().sqlName();
    String newRow = rowOf(columns, "new_", type);
    String oldRow = rowOf(columns, "old_", type);
    // Per upstream row, in change_id order: the old row out (U, D), the new row in (I, U), or a
    // TRUNCATE marker. v.keep drops the VALUES entries an action does not have.
    String sql =
        "INSERT INTO "
            + ours.changeBufferQualified()
            + " (xid, lsn, op, row_data)"
            + " SELECT pg_catalog.pg_current_xact_id()::text::bigint, b.lsn, v.op, v.row_data"
            + " FROM "
            + buffer
            + " b CROSS JOIN LATERAL (VALUES"
            + " (1, 'D'::\"char\", b.action IN ('U', 'D'), CASE WHEN b.action IN ('U', 'D') THEN "
            + oldRow
            + " END),"
            + " (2, 'I'::\"char\", b.action IN ('I', 'U'), CASE WHEN b.action IN ('I', 'U') THEN "
            + newRow
            + " END),"
            + " (3, 'T'::\"char\", b.action = 'T', NULL::text)) v(ord, op, keep, row_data)"
            + " WHERE v.keep AND (?::pg_lsn IS NULL OR b.lsn > ?::pg_lsn)"
            + " ORDER BY b.change_id, v.ord";
    try (PreparedStatement insert = connection.prepareStatement(sql)) {
      insert.setString(1, consumedUpTo.orElse(null));
      insert.setString(2, consumedUpTo.orElse(null));
      return insert.executeUpdate();
    }
  }

  /**
   * The upstream buffer's largest LSN (its WAL decoder writes there before confirming the slot).
   */
  static Optional<String> maxLsn(Connection connection, String upstreamBuffer) throws SQLException {
    String buffer = SqlIdentifiers.qualified(Adoption.PARKED_SCHEMA, upstreamBuffer);
    try (PreparedStatement select =
        connection.prepareStatement("SELECT max(lsn)::text FROM " + buffer)) {
      try (ResultSet rs = select.executeQuery()) {
        rs.next();
        return Optional.ofNullable(rs.getString(1));
      }
    }
  }

  static boolean exists(Connection connection, String upstreamBuffer) throws SQLException {
    try (PreparedStatement select =
        connection.prepareStatement("SELECT to_regclass(?) IS NOT NULL")) {
      select.setString(1, SqlIdentifiers.qualified(Adoption.PARKED_SCHEMA, upstreamBuffer));
      try (ResultSet rs = select.executeQuery()) {
        rs.next();
        return rs.getBoolean(1);
      }
    }
  }

  private static boolean hasPending(
      Connection connection, String buffer, Optional<String> consumedUpTo) throws SQLException {
    try (PreparedStatement select =
        connection.prepareStatement(
            "SELECT EXISTS (SELECT 1 FROM "
                + buffer
                + " b WHERE ?::pg_lsn IS NULL OR b.lsn > ?::pg_lsn)")) {
      select.setString(1, consumedUpTo.orElse(null));
      select.setString(2, consumedUpTo.orElse(null));
      try (ResultSet rs = select.executeQuery()) {
        rs.next();
        return rs.getBoolean(1);
      }
    }
  }

  private static String rowOf(List<String> columns, String prefix, String type) {
    return "ROW("
        + columns.stream()
            .map(c -> "b." + SqlIdentifiers.quote(prefix + c))
            .collect(Collectors.joining(", "))
        + ")::"
        + type
        + "::text";
  }

  private static List<String> sourceColumns(Connection connection, long oid) throws SQLException {
    List<String> columns = new ArrayList<>();
    try (PreparedStatement select =
        connection.prepareStatement(
            "SELECT attname FROM pg_catalog.pg_attribute WHERE attrelid = ? AND attnum > 0"
                + " AND NOT attisdropped ORDER BY attnum")) {
      select.setLong(1, oid);
      try (ResultSet rs = select.executeQuery()) {
        while (rs.next()) {
          columns.add(rs.getString(1));
        }
      }
    }
    return columns;
  }

  private static List<String> bufferColumns(Connection connection, String buffer)
      throws SQLException {
    List<String> columns = new ArrayList<>();
    try (PreparedStatement select =
        connection.prepareStatement(
            "SELECT attname FROM pg_catalog.pg_attribute WHERE attrelid = ?::regclass"
                + " AND attnum > 0 AND NOT attisdropped")) {
      select.setString(1, buffer);
      try (ResultSet rs = select.executeQuery()) {
        while (rs.next()) {
          columns.add(rs.getString(1));
        }
      }
    }
    return columns;
  }
}
