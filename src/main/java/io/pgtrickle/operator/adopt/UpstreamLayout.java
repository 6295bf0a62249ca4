package io.pgtrickle.operator.adopt;

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
import java.util.TreeMap;

/**
 * What the upstream catalog (in {@code pgtrickle}, or parked in {@code pgtrickle_upstream} after an
 * adoption began) says: its stream tables, and the sources they read with their capture mode.
 * Read-only; the schema name is one of our two constants, never user text.
 */
record UpstreamLayout(List<StreamTable> streamTables, Map<Long, Source> sources) {

  /** An upstream stream table. {@code frontierLsn}: source OID → its frontier's LSN, if any. */
  record StreamTable(
      long id,
      String schema,
      String name,
      String query,
      String schedule,
      String refreshMode,
      List<Long> sources,
      Map<Long, String> frontierLsn) {}

  /** A source, keyed by its OID; {@code wal}: captured by the slot {@code pgtrickle_<oid>}. */
  record Source(long oid, boolean wal) {
    String buffer() {
      return "changes_" + oid;
    }

    String slot() {
      return "pgtrickle_" + oid;
    }

    String publication() {
      return "pgtrickle_cdc_" + oid;
    }
  }

  static UpstreamLayout read(Connection connection, String schema) throws SQLException {
    if (!schema.equals("pgtrickle") && !schema.equals(Adoption.PARKED_SCHEMA)) {
      throw new IllegalArgumentException("not an upstream catalog schema: " + schema);
    }
    Map<Long, List<Long>> sourcesOf = new LinkedHashMap<>();
    Map<Long, Source> sources = new TreeMap<>();
    try (Statement statement = connection.createStatement();
        ResultSet rs =
            statement.executeQuery(
                "SELECT pgt_id, source_relid, upper(cdc_mode) FROM "
                    + schema
                    + ".pgt_dependencies WHERE source_type IN ('TABLE', 'FOREIGN_TABLE')"
                    + " ORDER BY pgt_id, source_relid")) {
      while (rs.next()) {
        long oid = rs.getLong(2);
        sourcesOf.computeIfAbsent(rs.getLong(1), k -> new ArrayList<>()).add(oid);
        // One source has one capture: WAL if any stream table reads it through its slot
        // (TRANSITIONING, trigger to WAL, still has its triggers and is taken as TRIGGER).
        boolean wal = "WAL".equals(rs.getString(3));
        sources.merge(oid, new Source(oid, wal), (a, b) -> new Source(oid, a.wal() || b.wal()));
      }
    }
    List<StreamTable> streamTables = new ArrayList<>();
    try (Statement statement = connection.createStatement();
        ResultSet rs =
            statement.executeQuery(
                "SELECT pgt_id, pgt_schema, pgt_name, coalesce(original_query, defining_query),"
                    + " schedule, refresh_mode, frontier -> 'sources' FROM "
                    + schema
                    + ".pgt_stream_tables ORDER BY pgt_id")) {
      while (rs.next()) {
        long id = rs.getLong(1);
        List<Long> read = sourcesOf.getOrDefault(id, List.of());
        streamTables.add(
            new StreamTable(
                id,
                rs.getString(2),
                rs.getString(3),
                rs.getString(4),
                rs.getString(5),
                rs.getString(6),
                List.copyOf(read),
                frontierLsns(connection, rs.getString(7), read)));
      }
    }
    return new UpstreamLayout(List.copyOf(streamTables), sources);
  }

  /** The frontier's LSN per source, from {@code {"<oid>": {"lsn": ...}}}. */
  private static Map<Long, String> frontierLsns(Connection connection, String json, List<Long> read)
      throws SQLException {
    Map<Long, String> lsns = new TreeMap<>();
    if (json == null) {
      return lsns;
    }
    try (PreparedStatement statement =
        connection.prepareStatement("SELECT ?::jsonb -> ? ->> 'lsn'")) {
      for (long oid : read) {
        statement.setString(1, json);
        statement.setString(2, Long.toString(oid));
        try (ResultSet rs = statement.executeQuery()) {
          rs.next();
          Optional.ofNullable(rs.getString(1)).ifPresent(lsn -> lsns.put(oid, lsn));
        }
      }
    }
    return lsns;
  }

  /** The stream tables that read {@code oid}. */
  List<StreamTable> readersOf(long oid) {
    return streamTables.stream().filter(t -> t.sources().contains(oid)).toList();
  }

  /**
   * Moves the upstream change buffers ({@code changes_<oid>}) from one schema to another: parked by
   * an adoption, put back by a release.
   */
  static void moveBuffers(Connection connection, String from, String to) throws SQLException {
    List<String> buffers = new java.util.ArrayList<>();
    try (java.sql.PreparedStatement select =
        connection.prepareStatement(
            "SELECT c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n"
                + " ON n.oid = c.relnamespace WHERE n.nspname = ? AND c.relkind IN ('r', 'p')"
                + " AND c.relname ~ '^changes_(pgt_)?[0-9]{1,10}$' ORDER BY 1")) {
      select.setString(1, from);
      try (java.sql.ResultSet rs = select.executeQuery()) {
        while (rs.next()) {
          buffers.add(rs.getString(1));
        }
      }
    }
    try (java.sql.Statement statement = connection.createStatement()) {
      for (String buffer : buffers) {
        statement.execute(
            "ALTER TABLE "
                + io.pgtrickle.operator.naming.SqlIdentifiers.qualified(from, buffer)
                + " SET SCHEMA "
                + io.pgtrickle.operator.naming.SqlIdentifiers.quote(to));
      }
    }
  }
}
