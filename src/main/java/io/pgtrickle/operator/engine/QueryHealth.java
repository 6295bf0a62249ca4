package io.pgtrickle.operator.engine;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Arrays;
import java.util.List;

/**
 * Whether a stream table's query still stands on its sources. A source dropped with CASCADE takes
 * the query view with it (and its triggers, and its place in a publication); a column dropped with
 * CASCADE takes the view; a renamed source leaves the view reading the renamed table while the
 * query names the old one; a source re-created under its name is another table. In each case the
 * stream table is re-applied from its stored definition: that fails with SourceMissing until the
 * sources are back, then re-establishes capture and re-syncs in full.
 */
record QueryHealth(boolean viewPresent, List<String> sourcesNotAsCaptured) {
  /**
   * Two columns for the stream table whose id is the SQL expression {@code id}: whether its query
   * view exists, and the sources not as captured ({@link #read}).
   */
  static String checkOf(String id) {
    return "to_regclass(format('%I.%I', 'pgtrickle', 'pgt_query_' || "
        + id
        + ")) IS NOT NULL, ARRAY(SELECT format('%I.%I', t.source_schema,"
        + " t.source_table) FROM pgtrickle.pgt_dependencies d"
        + " JOIN pgtrickle.pgt_change_tracking t USING (source_stable_name)"
        + " WHERE d.stream_table_id = "
        + id
        + " AND to_regclass(format('%I.%I', t.source_schema,"
        + " t.source_table)) IS DISTINCT FROM d.source_relid::regclass ORDER BY 1)";
  }

  private static final String CHECK = "SELECT " + checkOf("?::bigint");

  static QueryHealth of(Connection connection, long streamTableId) throws SQLException {
    try (PreparedStatement statement = connection.prepareStatement(CHECK)) {
      statement.setLong(1, streamTableId);
      statement.setLong(2, streamTableId);
      try (ResultSet rs = statement.executeQuery()) {
        rs.next();
        return read(rs, 1);
      }
    }
  }

  /** The two columns of {@link #checkOf} from {@code first} on. */
  static QueryHealth read(ResultSet rs, int first) throws SQLException {
    Array moved = rs.getArray(first + 1);
    return new QueryHealth(rs.getBoolean(first), Arrays.asList((String[]) moved.getArray()));
  }

  boolean healthy() {
    return viewPresent && sourcesNotAsCaptured.isEmpty();
  }

  /** Why the query no longer stands, for a SourceMissing message. */
  String describe() {
    if (!sourcesNotAsCaptured.isEmpty()) {
      return "source "
          + String.join(", ", sourcesNotAsCaptured)
          + " was dropped, renamed or re-created since capture began";
    }
    return "the query's view is gone: a source table or a column it reads was dropped";
  }
}
