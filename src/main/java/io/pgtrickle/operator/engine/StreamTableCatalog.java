package io.pgtrickle.operator.engine;

import io.pgtrickle.operator.catalog.Placement;
import io.pgtrickle.operator.naming.StableName;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Reads and writes pgtrickle.pgt_stream_tables and pgt_dependencies in the caller's transaction.
 */
public final class StreamTableCatalog {
  private static final String COLUMNS =
      "id, st_schema, st_name, defining_query, schedule, refresh_mode, st_placement, cdc_mode,"
          + " immutable_pk, deletion_policy, status, frontier::text, owner, last_refresh_at,"
          + " last_refresh_mode, last_refresh_ms, last_refresh_rows, last_error, created_at, placement_spec,"
          + " time_dependent_on, differential_blocker, differential_storage, storage_format,"
          + " last_refresh_reason, auto_full_ms, auto_slow_changes, auto_slow_ms";

  private StreamTableCatalog() {}

  static Optional<StreamTableRecord> find(Connection connection, String schema, String name)
      throws SQLException {
    return one(
        connection,
        "SELECT "
            + COLUMNS
            + " FROM pgtrickle.pgt_stream_tables WHERE st_schema = ? AND st_name = ?",
        schema,
        name);
  }

  /**
   * What {@link StreamTableEngine#refresh} asks before a refresh, in one statement: the stream
   * table's row (empty: none), whether the database and this row's frontier moved to another server
   * ({@link ServerMove}), whether its query still stands on its sources ({@link QueryHealth#of}),
   * and its WAL-captured sources' stable names ({@link Refresher#walSources}).
   */
  record RefreshCheck(
      Optional<StreamTableRecord> record,
      boolean databaseMoved,
      boolean frontierMoved,
      QueryHealth health,
      List<StableName> walSources) {}

  static RefreshCheck checkForRefresh(Connection connection, String schema, String name)
      throws SQLException {
    try (PreparedStatement statement =
        connection.prepareStatement(
            "SELECT "
                + COLUMNS
                + ", (SELECT server FROM pgtrickle.pgt_server) IS DISTINCT FROM c.server,"
                + " st.frontier_server IS DISTINCT FROM c.server, "
                + QueryHealth.checkOf("st.id")
                + ", ARRAY(SELECT t.source_stable_name FROM pgtrickle.pgt_dependencies d"
                + " JOIN pgtrickle.pgt_change_tracking t"
                + " ON t.source_stable_name = d.source_stable_name"
                + " WHERE d.stream_table_id = st.id AND t.cdc_mode = 'wal'"
                + " ORDER BY t.source_stable_name)"
                + " FROM (SELECT "
                + ServerMove.CURRENT
                + " AS server) c LEFT JOIN pgtrickle.pgt_stream_tables st"
                + " ON st.st_schema = ? AND st.st_name = ?")) {
      statement.setString(1, schema);
      statement.setString(2, name);
      try (ResultSet rs = statement.executeQuery()) {
        rs.next();
        int last = rs.getMetaData().getColumnCount();
        boolean databaseMoved = rs.getBoolean(last - 4);
        rs.getLong(1);
        if (rs.wasNull()) {
          return new RefreshCheck(
              Optional.empty(), databaseMoved, false, new QueryHealth(true, List.of()), List.of());
        }
        List<StableName> wal = new ArrayList<>();
        for (String source : (String[]) rs.getArray(last).getArray()) {
          wal.add(new StableName(source));
        }
        return new RefreshCheck(
            Optional.of(read(rs)),
            databaseMoved,
            rs.getBoolean(last - 3),
            QueryHealth.read(rs, last - 2),
            wal);
      }
    }
  }

  /** A stream table's row, locked for a refresh, and its sources by stable name (sorted). */
  /**
   * @param frontierMoved whether the row's frontier was taken on another server than the connected
   *     one ({@link ServerMove})
   */
  record Locked(StreamTableRecord record, List<StableName> sources, boolean frontierMoved) {}

  /**
   * Begins a refresh transaction: makes it REPEATABLE READ ({@link
   * Transactions#runIsolationSetByWork}; so this must be its first statement), then locks the row
   * for a refresh and reads its sources, and whether its frontier was taken on another server, in
   * one round trip. Empty when another engine holds it (it is refreshing now) or there is none
   * (tell them apart with {@link #find}); a row changed since the snapshot raises a serialization
   * failure.
   */
  static Optional<Locked> lockForRefresh(Connection connection, String schema, String name)
      throws SQLException {
    try (PreparedStatement statement =
        connection.prepareStatement(
            "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ;SELECT "
                + COLUMNS
                + ", current_setting('transaction_isolation'),"
                + " st.frontier_server IS DISTINCT FROM "
                + ServerMove.CURRENT
                + ", ARRAY(SELECT d.source_stable_name FROM pgtrickle.pgt_dependencies d"
                + " WHERE d.stream_table_id = st.id ORDER BY d.source_stable_name)"
                + " FROM pgtrickle.pgt_stream_tables st WHERE st_schema = ? AND st_name = ?"
                + " FOR UPDATE OF st SKIP LOCKED")) {
      statement.setString(1, schema);
      statement.setString(2, name);
      try (ResultSet rs = Statements.firstResultSet(statement)) {
        if (!rs.next()) {
          return Optional.empty();
        }
        StreamTableRecord record = read(rs);
        int last = rs.getMetaData().getColumnCount();
        if (!"repeatable read".equals(rs.getString(last - 2))) {
          // The snapshot argument needs one snapshot for the whole transaction.
          throw new IllegalStateException(
              "a refresh transaction runs " + rs.getString(last - 2) + ", not repeatable read");
        }
        List<StableName> sources = new ArrayList<>();
        for (String source : (String[]) rs.getArray(last).getArray()) {
          sources.add(new StableName(source));
        }
        return Optional.of(new Locked(record, sources, rs.getBoolean(last - 1)));
      }
    }
  }

  /** Locks the row, waiting for a running refresh to finish. */
  static Optional<StreamTableRecord> lock(Connection connection, String schema, String name)
      throws SQLException {
    return one(
        connection,
        "SELECT "
            + COLUMNS
            + " FROM pgtrickle.pgt_stream_tables WHERE st_schema = ? AND st_name = ? FOR UPDATE",
        schema,
        name);
  }

  static List<StreamTableRecord> all(Connection connection) throws SQLException {
    List<StreamTableRecord> records = new ArrayList<>();
    try (PreparedStatement statement =
            connection.prepareStatement(
                "SELECT " + COLUMNS + " FROM pgtrickle.pgt_stream_tables ORDER BY id");
        ResultSet rs = statement.executeQuery()) {
      while (rs.next()) {
        records.add(read(rs));
      }
    }
    return records;
  }

  static long insert(Connection connection, StreamTableDefinition definition, String owner)
      throws SQLException {
    try (PreparedStatement statement =
        connection.prepareStatement(
            "INSERT INTO pgtrickle.pgt_stream_tables (st_schema, st_name, defining_query,"
                + " schedule, refresh_mode, placement_spec, cdc_mode, immutable_pk, deletion_policy,"
                + " owner) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id")) {
      bindDefinition(statement, definition);
      statement.setString(10, owner);
      try (ResultSet rs = statement.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }

  /**
   * Records the first declaration of a stream table that had none (registered by an adoption,
   * package {@code adopt}): from then on it is that resource's, as if it had created it.
   */
  static void claim(Connection connection, long id, String owner) throws SQLException {
    try (PreparedStatement statement =
        connection.prepareStatement(
            "UPDATE pgtrickle.pgt_stream_tables SET owner = ? WHERE id = ? AND owner IS NULL")) {
      statement.setString(1, owner);
      statement.setLong(2, id);
      statement.executeUpdate();
    }
  }

  static void updateDefinition(Connection connection, long id, StreamTableDefinition definition)
      throws SQLException {
    try (PreparedStatement statement =
        connection.prepareStatement(
            "UPDATE pgtrickle.pgt_stream_tables SET st_schema = ?, st_name = ?,"
                + " defining_query = ?, schedule = ?, refresh_mode = ?, placement_spec = ?,"
                + " cdc_mode = ?, immutable_pk = ?, deletion_policy = ?, updated_at = now()"
                + " WHERE id = ?")) {
      bindDefinition(statement, definition);
      statement.setLong(10, id);
      statement.executeUpdate();
    }
  }

  /** Records where the storage table was placed (the placement asked for, resolved). */
  /** The clock functions the query reads (empty: none), found when it was defined. */
  static void recordTimeDependence(Connection connection, long id, List<String> clockReads)
      throws SQLException {
    try (PreparedStatement statement =
        connection.prepareStatement(
            "UPDATE pgtrickle.pgt_stream_tables SET time_dependent_on = ? WHERE id = ?")) {
      statement.setArray(1, connection.createArrayOf("text", clockReads.toArray()));
      statement.setLong(2, id);
      statement.executeUpdate();
    }
  }

  static void recordPlacement(Connection connection, long id, Placement placement)
      throws SQLException {
    try (PreparedStatement statement =
        connection.prepareStatement(
            "UPDATE pgtrickle.pgt_stream_tables SET st_placement = ? WHERE id = ?")) {
      statement.setString(1, placement.catalogValue());
      statement.setLong(2, id);
      statement.executeUpdate();
    }
  }

  /**
   * Records a refresh that applied changes (or a load), in the same transaction as the apply: the
   * mode that ran and, when it ran FULL though the stream table could run DIFFERENTIAL, why; what
   * AUTO learned from it; and the frontier: {@code base} with, for each of {@code sources}, node
   * {@code nodeId}'s mark set to this transaction's snapshot and WAL insert position, read by the
   * UPDATE itself, after the apply. {@code after} (statements without parameters) runs after it in
   * the same round trip.
   */
  static void recordRefresh(
      Connection connection,
      long id,
      Frontier base,
      List<StableName> sources,
      int nodeId,
      String mode,
      String reason,
      long durationMillis,
      long rowsChanged,
      AutoHistory history,
      List<String> after)
      throws SQLException {
    StringBuilder sql =
        new StringBuilder(
            "UPDATE pgtrickle.pgt_stream_tables SET frontier = b.base || coalesce((SELECT"
                + " jsonb_object_agg(s.name, coalesce(b.base -> s.name, '{}'::jsonb)"
                + " || jsonb_build_object('"
                + nodeId
                + "', jsonb_build_object('lsn', pg_catalog.pg_current_wal_insert_lsn()::text,"
                + " 'snapshot', pg_catalog.pg_current_snapshot()::text)))"
                + " FROM unnest(b.sources) s(name)), '{}'::jsonb), status = 'ACTIVE',"
                + " last_refresh_at = clock_timestamp(), last_refresh_mode = ?,"
                + " last_refresh_reason = ?, last_refresh_ms = ?, last_refresh_rows = ?,"
                + " last_error = NULL, auto_full_ms = ?, auto_slow_changes = ?,"
                + " auto_slow_ms = ?, updated_at = now(), frontier_server = "
                + ServerMove.CURRENT
                + " FROM (SELECT ?::jsonb AS base, ?::text[] AS sources) b WHERE id = ?");
    for (String statement : after) {
      sql.append(';').append(statement);
    }
    try (PreparedStatement statement = connection.prepareStatement(sql.toString())) {
      statement.setString(1, mode);
      statement.setString(2, reason);
      statement.setLong(3, durationMillis);
      statement.setLong(4, rowsChanged);
      statement.setObject(5, history.fullMillis(), java.sql.Types.BIGINT);
      statement.setObject(6, history.slowChanges(), java.sql.Types.BIGINT);
      statement.setObject(7, history.slowMillis(), java.sql.Types.BIGINT);
      statement.setString(8, base.toJson());
      // Stable names are 16 hex digits: an array literal needs no quoting.
      statement.setString(
          9, "{" + String.join(",", sources.stream().map(StableName::value).toList()) + "}");
      statement.setLong(10, id);
      statement.execute();
    }
  }

  /** Why the refresh just recorded ran as it did (for a load, which records none itself). */
  static void recordRefreshReason(Connection connection, long id, String reason)
      throws SQLException {
    try (PreparedStatement statement =
        connection.prepareStatement(
            "UPDATE pgtrickle.pgt_stream_tables SET last_refresh_reason = ? WHERE id = ?")) {
      statement.setString(1, reason);
      statement.setLong(2, id);
      statement.executeUpdate();
    }
  }

  /**
   * Records how the storage was made: with a differential layout or not, and why the query is not
   * differential ({@code blocker}, null when it is), in the current storage format.
   */
  static void recordDifferential(
      Connection connection, long id, boolean differentialStorage, String blocker)
      throws SQLException {
    try (PreparedStatement statement =
        connection.prepareStatement(
            "UPDATE pgtrickle.pgt_stream_tables SET differential_storage = ?,"
                + " differential_blocker = ?, storage_format = ? WHERE id = ?")) {
      statement.setBoolean(1, differentialStorage);
      statement.setString(2, blocker);
      statement.setInt(3, StreamTableRecord.STORAGE_FORMAT);
      statement.setLong(4, id);
      statement.executeUpdate();
    }
  }

  static void recordError(Connection connection, long id, String error) throws SQLException {
    try (PreparedStatement statement =
        connection.prepareStatement(
            "UPDATE pgtrickle.pgt_stream_tables SET status = 'ERROR', last_error = ?,"
                + " updated_at = now() WHERE id = ?")) {
      statement.setString(1, error);
      statement.setLong(2, id);
      statement.executeUpdate();
    }
  }

  static void delete(Connection connection, long id) throws SQLException {
    try (PreparedStatement statement =
        connection.prepareStatement("DELETE FROM pgtrickle.pgt_stream_tables WHERE id = ?")) {
      statement.setLong(1, id);
      statement.executeUpdate();
    }
  }

  /** The sources of a stream table, by stable name. */
  public static List<StableName> dependencies(Connection connection, long id) throws SQLException {
    List<StableName> names = new ArrayList<>();
    try (PreparedStatement statement =
        connection.prepareStatement(
            "SELECT source_stable_name FROM pgtrickle.pgt_dependencies"
                + " WHERE stream_table_id = ? ORDER BY source_stable_name")) {
      statement.setLong(1, id);
      try (ResultSet rs = statement.executeQuery()) {
        while (rs.next()) {
          names.add(new StableName(rs.getString(1)));
        }
      }
    }
    return names;
  }

  public static void addDependency(
      Connection connection, long id, long relid, StableName source, Placement placement)
      throws SQLException {
    try (PreparedStatement statement =
        connection.prepareStatement(
            "INSERT INTO pgtrickle.pgt_dependencies (stream_table_id, source_relid,"
                + " source_stable_name, source_placement) VALUES (?, ?, ?, ?)"
                + " ON CONFLICT (stream_table_id, source_stable_name)"
                + " DO UPDATE SET source_relid = EXCLUDED.source_relid")) {
      statement.setLong(1, id);
      statement.setLong(2, relid);
      statement.setString(3, source.value());
      statement.setString(4, placement.catalogValue());
      statement.executeUpdate();
    }
  }

  public static void removeDependency(Connection connection, long id, StableName source)
      throws SQLException {
    try (PreparedStatement statement =
        connection.prepareStatement(
            "DELETE FROM pgtrickle.pgt_dependencies WHERE stream_table_id = ?"
                + " AND source_stable_name = ?")) {
      statement.setLong(1, id);
      statement.setString(2, source.value());
      statement.executeUpdate();
    }
  }

  /**
   * Ids of stream tables whose storage table is among {@code relids} and that read, directly or
   * through other stream tables, the stream table {@code id}: reading one of them would be a cycle.
   */
  static List<String> dependentsAmong(Connection connection, long id, Long[] relids)
      throws SQLException {
    List<String> cycle = new ArrayList<>();
    try (PreparedStatement statement =
        connection.prepareStatement(
            "WITH RECURSIVE readers(st_id) AS (SELECT ?::bigint UNION"
                + " SELECT d.stream_table_id FROM readers r"
                + " JOIN pgtrickle.pgt_stream_tables s ON s.id = r.st_id"
                + " JOIN pgtrickle.pgt_dependencies d ON d.source_relid ="
                + "  to_regclass(format('%I.%I', s.st_schema, s.st_name))::oid)"
                + " SELECT format('%I.%I', s.st_schema, s.st_name) FROM readers r"
                + " JOIN pgtrickle.pgt_stream_tables s ON s.id = r.st_id"
                + " WHERE to_regclass(format('%I.%I', s.st_schema, s.st_name))::oid = ANY (?)")) {
      statement.setLong(1, id);
      statement.setArray(2, connection.createArrayOf("oid", relids));
      try (ResultSet rs = statement.executeQuery()) {
        while (rs.next()) {
          cycle.add(rs.getString(1));
        }
      }
    }
    return cycle;
  }

  private static void bindDefinition(PreparedStatement statement, StreamTableDefinition d)
      throws SQLException {
    statement.setString(1, d.schema());
    statement.setString(2, d.name());
    statement.setString(3, d.query());
    statement.setString(4, d.schedule().text());
    statement.setString(5, d.refreshMode().name());
    statement.setString(6, d.placement().name().toLowerCase(Locale.ROOT));
    statement.setString(7, d.cdcMode().name().toLowerCase(Locale.ROOT));
    statement.setBoolean(8, d.immutablePk());
    statement.setString(9, d.deletionPolicy().name());
  }

  private static Optional<StreamTableRecord> one(Connection connection, String sql, Object... args)
      throws SQLException {
    try (PreparedStatement statement = connection.prepareStatement(sql)) {
      for (int i = 0; i < args.length; i++) {
        statement.setObject(i + 1, args[i]);
      }
      try (ResultSet rs = statement.executeQuery()) {
        return rs.next() ? Optional.of(read(rs)) : Optional.empty();
      }
    }
  }

  private static StreamTableRecord read(ResultSet rs) throws SQLException {
    return new StreamTableRecord(
        rs.getLong(1),
        rs.getString(2),
        rs.getString(3),
        rs.getString(4),
        rs.getString(5),
        rs.getString(6),
        rs.getString(7),
        rs.getString(8),
        rs.getBoolean(9),
        rs.getString(10),
        rs.getString(11),
        Frontier.fromJson(rs.getString(12)),
        rs.getString(13),
        rs.getObject(14, OffsetDateTime.class),
        rs.getString(15),
        (Long) rs.getObject(16),
        (Long) rs.getObject(17),
        rs.getString(18),
        rs.getObject(19, OffsetDateTime.class),
        rs.getString(20),
        java.util.Arrays.asList((String[]) rs.getArray(21).getArray()),
        rs.getString(22),
        rs.getBoolean(23),
        rs.getInt(24),
        rs.getString(25),
        new AutoHistory((Long) rs.getObject(26), (Long) rs.getObject(27), (Long) rs.getObject(28)));
  }
}
