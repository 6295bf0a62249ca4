package io.pgtrickle.operator.engine;

import io.pgtrickle.operator.api.RefreshMode;
import io.pgtrickle.operator.cdc.ChangeBuffer;
import io.pgtrickle.operator.engine.refresh.ChangeWindow;
import io.pgtrickle.operator.naming.ObjectNames;
import io.pgtrickle.operator.naming.SqlIdentifiers;
import io.pgtrickle.operator.naming.StableName;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * Which mode a refresh runs, decided per refresh from facts it can state: whether the stream table
 * is differential at all, a TRUNCATE or re-sync marker in the window (the change is then
 * "everything"), and for AUTO the size of the change against the sources' and the stream table's
 * estimated rows, and against what the stream table's own refreshes showed ({@link AutoHistory}).
 * The same facts always give the same choice.
 */
record RefreshChoice(boolean differential, Optional<String> reason, OptionalLong changes) {
  /**
   * AUTO refreshes in full when more buffer rows changed than this share of the sources' rows,
   * divided by the number of tables the query reads, plus {@link #AUTO_STREAM_TABLE_FRACTION} of
   * the stream table's: a FULL refresh costs about a scan of the sources plus work per result row,
   * a differential one work per changed row, which is joined with each other table the query reads
   * (docs/benchmarks.md, "Where DIFFERENTIAL stops winning": TPC-H's multi-way joins lose already
   * at 1% of the orders changed, a one-table filter wins up to ~16%).
   */
  static final double AUTO_SOURCE_FRACTION = 0.04;

  /** The stream table's share in AUTO's threshold; see {@link #AUTO_SOURCE_FRACTION}. */
  static final double AUTO_STREAM_TABLE_FRACTION = 0.3;

  /** Below this many changed rows AUTO never recomputes: either mode takes milliseconds. */
  static final long AUTO_DIFFERENTIAL_FLOOR = 100;

  static RefreshChoice full(String reason) {
    return new RefreshChoice(false, Optional.ofNullable(reason), OptionalLong.empty());
  }

  /**
   * The most changed buffer rows AUTO still applies differentially, for the sources' estimated rows
   * (of {@code tables} tables) and the stream table's.
   */
  static long autoLimit(long sourceRows, int tables, long streamTableRows) {
    double limit =
        AUTO_SOURCE_FRACTION * Math.max(sourceRows, 0) / Math.max(tables, 1)
            + AUTO_STREAM_TABLE_FRACTION * Math.max(streamTableRows, 0);
    return Math.max((long) Math.ceil(limit), AUTO_DIFFERENTIAL_FLOOR);
  }

  /**
   * @param sources every source of the stream table
   * @param pending the sources whose window holds buffer rows (the others changed nothing)
   * @param window the windows, with their buffer rows counted up to {@link
   *     ChangeWindow#COUNTED_UP_TO}
   * @param marker whether a window holds a TRUNCATE or re-sync marker
   */
  static RefreshChoice choose(
      Connection connection,
      StreamTableRecord record,
      List<StableName> sources,
      List<StableName> pending,
      ChangeWindow window,
      boolean marker)
      throws SQLException {
    RefreshMode mode = RefreshMode.valueOf(record.refreshMode());
    if (!record.differentialStorage()) {
      return full(mode == RefreshMode.FULL ? null : record.differentialBlocker());
    }
    if (marker) {
      return full("a TRUNCATE or re-sync of a source is among the changes");
    }
    long counted = 0;
    for (StableName source : pending) {
      counted += window.bufferRows().map(rows -> rows.getOrDefault(source, 0L)).orElse(0L);
    }
    // Up to the floor, the windows' first count already says DIFFERENTIAL (and is exact).
    if (mode != RefreshMode.AUTO || counted <= AUTO_DIFFERENTIAL_FLOOR) {
      return new RefreshChoice(
          true,
          Optional.empty(),
          counted <= AUTO_DIFFERENTIAL_FLOOR ? OptionalLong.of(counted) : OptionalLong.empty());
    }
    long sourceRows;
    long streamTableRows;
    try (PreparedStatement statement =
        connection.prepareStatement(
            "SELECT (SELECT coalesce(sum("
                + ESTIMATE
                + "), 0)::bigint FROM pgtrickle.pgt_change_tracking t"
                + " JOIN pg_catalog.pg_class c ON c.oid = t.source_relid"
                + " LEFT JOIN pg_catalog.pg_stat_all_tables s ON s.relid = c.oid"
                + " WHERE t.source_stable_name = ANY (?)),"
                + " coalesce((SELECT "
                + ESTIMATE
                + " FROM pg_catalog.pg_class c"
                + " LEFT JOIN pg_catalog.pg_stat_all_tables s ON s.relid = c.oid"
                + " WHERE c.oid = pg_catalog.to_regclass(?)), 0)::bigint")) {
      statement.setArray(
          1, connection.createArrayOf("text", sources.stream().map(StableName::value).toArray()));
      statement.setString(2, SqlIdentifiers.qualified(record.schema(), record.name()));
      try (ResultSet rs = statement.executeQuery()) {
        rs.next();
        sourceRows = rs.getLong(1);
        streamTableRows = rs.getLong(2);
      }
    }
    long limit = autoLimit(sourceRows, sources.size(), streamTableRows);
    AutoHistory history = record.autoHistory();
    long bound = Math.min(limit, history.limit().orElse(limit));
    long changes = changesUpTo(connection, pending, window.consumedSnapshots(), bound + 1);
    if (changes > bound && bound < limit) {
      return full(history.reason().orElseThrow());
    }
    if (changes > limit) {
      return full(
          String.format(
              Locale.ROOT,
              "more than %d changed rows against about %d source rows in %d tables and %d"
                  + " stream-table rows (AUTO refreshes in full past %.0f%% of the sources' rows"
                  + " divided by their number of tables, plus %.0f%% of the stream table's)",
              limit,
              sourceRows,
              sources.size(),
              streamTableRows,
              AUTO_SOURCE_FRACTION * 100,
              AUTO_STREAM_TABLE_FRACTION * 100));
    }
    return new RefreshChoice(true, Optional.empty(), OptionalLong.of(changes));
  }

  /**
   * A table's rows as the planner estimates them, or as the statistics counters have them when it
   * was never analysed ({@code c}: pg_class, {@code s}: pg_stat_all_tables).
   */
  private static final String ESTIMATE =
      "greatest(c.reltuples::bigint, coalesce(s.n_live_tup, 0), 0)";

  /**
   * The windows' buffer rows, each counted up to {@code cap}, summed in one statement: the sum
   * exceeds {@code cap - 1} exactly when the total does, and the work stays bounded.
   */
  private static long changesUpTo(
      Connection connection, List<StableName> pending, Map<StableName, String> consumed, long cap)
      throws SQLException {
    List<ChangeBuffer.Bound> counts = new ArrayList<>();
    for (StableName source : pending) {
      counts.add(ChangeBuffer.countUpTo(new ObjectNames(source), consumed.get(source), cap));
    }
    try (PreparedStatement statement =
        connection.prepareStatement(
            "SELECT "
                + String.join(" + ", counts.stream().map(ChangeBuffer.Bound::sql).toList()))) {
      int parameter = 1;
      for (ChangeBuffer.Bound count : counts) {
        parameter = count.bind(statement, parameter);
      }
      try (ResultSet rs = statement.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }
}
