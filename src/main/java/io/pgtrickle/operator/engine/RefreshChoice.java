package io.pgtrickle.operator.engine;

import io.pgtrickle.operator.api.RefreshMode;
import io.pgtrickle.operator.catalog.ChangeTrackingRegistry;
import io.pgtrickle.operator.catalog.TrackedSource;
import io.pgtrickle.operator.cdc.ChangeBuffer;
import io.pgtrickle.operator.naming.ObjectNames;
import io.pgtrickle.operator.naming.StableName;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Which mode a refresh runs, decided per refresh from facts it can state: whether the stream table
 * is differential at all, a TRUNCATE or re-sync marker in the window (the change is then
 * "everything"), and for AUTO the size of the change against the sources' estimated rows. The same
 * facts always give the same choice.
 */
record RefreshChoice(boolean differential, Optional<String> reason) {
  /**
   * AUTO refreshes in full when more rows changed than this share of the sources' rows: past it, a
   * recompute is as cheap as applying the change (measured in docs/benchmarks.md).
   */
  static final double AUTO_FULL_FRACTION = 0.15;

  /** Below this many changed rows AUTO never recomputes: either mode takes milliseconds. */
  static final long AUTO_DIFFERENTIAL_FLOOR = 100;

  static RefreshChoice full(String reason) {
    return new RefreshChoice(false, Optional.ofNullable(reason));
  }

  static RefreshChoice choose(
      Connection connection,
      StreamTableRecord record,
      List<StableName> sources,
      Map<StableName, String> consumed)
      throws SQLException {
    RefreshMode mode = RefreshMode.valueOf(record.refreshMode());
    if (!record.differentialStorage()) {
      return full(mode == RefreshMode.FULL ? null : record.differentialBlocker());
    }
    for (StableName source : sources) {
      if (hasMarker(connection, source, consumed.get(source))) {
        return full("a TRUNCATE or re-sync of a source is among the changes");
      }
    }
    if (mode == RefreshMode.AUTO) {
      long estimated = estimatedRows(connection, sources);
      long limit =
          Math.max((long) Math.ceil(AUTO_FULL_FRACTION * estimated), AUTO_DIFFERENTIAL_FLOOR);
      long changes = 0;
      for (StableName source : sources) {
        changes += changesUpTo(connection, source, consumed.get(source), limit + 1 - changes);
        if (changes > limit) {
          return full(
              "more than "
                  + limit
                  + " changed rows against about "
                  + estimated
                  + " source rows (AUTO refreshes in full past "
                  + Math.round(AUTO_FULL_FRACTION * 100)
                  + "%)");
        }
      }
    }
    return new RefreshChoice(true, Optional.empty());
  }

  private static boolean hasMarker(Connection connection, StableName source, String consumed)
      throws SQLException {
    try (Statement statement = connection.createStatement();
        ResultSet rs =
            statement.executeQuery(
                "SELECT EXISTS (SELECT 1 FROM "
                    + new ObjectNames(source).changeBufferQualified()
                    + " b WHERE b.op IN ('T', 'R') AND "
                    + ChangeBuffer.unconsumed("b", consumed)
                    + ")")) {
      rs.next();
      return rs.getBoolean(1);
    }
  }

  /** The window's buffer rows, counted up to {@code cap}: the work stays bounded. */
  private static long changesUpTo(
      Connection connection, StableName source, String consumed, long cap) throws SQLException {
    try (Statement statement = connection.createStatement();
        ResultSet rs =
            statement.executeQuery(
                "SELECT count(*) FROM (SELECT 1 FROM "
                    + new ObjectNames(source).changeBufferQualified()
                    + " b WHERE "
                    + ChangeBuffer.unconsumed("b", consumed)
                    + " LIMIT "
                    + Math.max(cap, 0)
                    + ") x")) {
      rs.next();
      return rs.getLong(1);
    }
  }

  /**
   * The sources' rows as the planner estimates them, or as the statistics counters have them when a
   * table was never analysed.
   */
  private static long estimatedRows(Connection connection, List<StableName> sources)
      throws SQLException {
    ChangeTrackingRegistry registry = new ChangeTrackingRegistry();
    long total = 0;
    for (StableName source : sources) {
      Optional<TrackedSource> tracked = registry.find(connection, source);
      if (tracked.isEmpty()) {
        continue;
      }
      try (PreparedStatement statement =
          connection.prepareStatement(
              "SELECT greatest(c.reltuples::bigint, coalesce(s.n_live_tup, 0), 0)"
                  + " FROM pg_catalog.pg_class c LEFT JOIN pg_catalog.pg_stat_all_tables s"
                  + " ON s.relid = c.oid WHERE c.oid = ?")) {
        statement.setLong(1, tracked.get().table().oid());
        try (ResultSet rs = statement.executeQuery()) {
          if (rs.next()) {
            total += rs.getLong(1);
          }
        }
      }
    }
    return total;
  }
}
