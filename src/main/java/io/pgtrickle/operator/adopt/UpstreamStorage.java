package io.pgtrickle.operator.adopt;

import io.pgtrickle.operator.naming.SqlIdentifiers;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/**
 * An upstream stream table's storage, parked by an adoption, checked against its query for a
 * release. Besides the query's columns the upstream keeps hidden ones, all named {@code __pgt_*}:
 * the row id {@code __pgt_row_id} (a hash of the key its query parser picks), group counts and
 * aggregate auxiliaries. Only the upstream computes them, so a release fills the query's columns
 * and leaves the hidden ones empty (NULL, or their default); the stream table is marked {@code
 * needs_reinit} and the upstream rebuilds it in full on its next cycle.
 */
final class UpstreamStorage {
  static final String HIDDEN_PREFIX = "__pgt_";

  private final List<String> queryColumns;

  private UpstreamStorage(List<String> queryColumns) {
    this.queryColumns = List.copyOf(queryColumns);
  }

  /**
   * Reads the parked storage's columns and the query's; refuses (changing nothing) what a refill
   * could not fill: a query column the storage lacks, a column neither the query's nor hidden, or a
   * hidden column that may not be left empty.
   */
  static UpstreamStorage check(
      Connection connection, String parked, String query, String streamTable)
      throws SQLException, AdoptionException {
    List<String> fromQuery = queryColumns(connection, query);
    List<String> missing = new ArrayList<>(fromQuery);
    List<String> foreign = new ArrayList<>();
    List<String> required = new ArrayList<>();
    try (PreparedStatement select =
        connection.prepareStatement(
            "SELECT attname, attnotnull AND NOT atthasdef FROM pg_catalog.pg_attribute"
                + " WHERE attrelid = ?::regclass AND attnum > 0 AND NOT attisdropped"
                + " ORDER BY attnum")) {
      select.setString(1, parked);
      try (ResultSet rs = select.executeQuery()) {
        while (rs.next()) {
          String column = rs.getString(1);
          if (missing.remove(column)) {
            continue;
          }
          if (!column.startsWith(HIDDEN_PREFIX)) {
            foreign.add(column);
          } else if (rs.getBoolean(2)) {
            required.add(column);
          }
        }
      }
    }
    String refused = "nothing was released: the upstream storage of " + streamTable;
    if (!missing.isEmpty()) {
      throw new AdoptionException(refused + " lacks its query's columns " + missing);
    }
    if (!foreign.isEmpty()) {
      throw new AdoptionException(
          refused + " has the columns " + foreign + ", neither its query's nor the upstream's");
    }
    if (!required.isEmpty()) {
      throw new AdoptionException(
          refused
              + " has hidden columns "
              + required
              + " that need a value and have no default; only the upstream can compute them");
    }
    return new UpstreamStorage(fromQuery);
  }

  /**
   * Empties {@code qualified} and fills the query's columns with its current result. The upstream's
   * guard triggers refuse writes to its storage unless {@code pg_trickle.internal_refresh} is on
   * (for this transaction only).
   */
  void refill(Connection connection, String qualified, String query) throws SQLException {
    String columns =
        queryColumns.stream().map(SqlIdentifiers::quote).collect(Collectors.joining(", "));
    try (Statement statement = connection.createStatement()) {
      statement.execute("SET LOCAL pg_trickle.internal_refresh = 'true'");
      statement.execute("TRUNCATE " + qualified);
      // The defining query is the stream table's own SQL, run as its storage is filled.
      statement.execute(
          "INSERT INTO "
              + qualified
              + " ("
              + columns
              + ") SELECT "
              + columns
              + " FROM ("
              + query
              + ") q");
    }
  }

  private static List<String> queryColumns(Connection connection, String query)
      throws SQLException {
    List<String> columns = new ArrayList<>();
    try (Statement statement = connection.createStatement();
        ResultSet rs = statement.executeQuery("SELECT * FROM (" + query + ") q LIMIT 0")) {
      ResultSetMetaData meta = rs.getMetaData();
      for (int i = 1; i <= meta.getColumnCount(); i++) {
        columns.add(meta.getColumnName(i));
      }
    }
    return columns;
  }
}
