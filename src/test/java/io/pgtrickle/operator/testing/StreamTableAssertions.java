package io.pgtrickle.operator.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * Multiset equality of a stream table's storage and its query, in both directions. Rows are
 * compared by their text form, over the storage's columns without the operator's own (prefix {@code
 * pgt_}: the row id, a differential layout's hidden state), named (Citus loses the column names of
 * a whole-row reference to a distributed query).
 */
public final class StreamTableAssertions {
  private StreamTableAssertions() {}

  public static void assertMatchesQuery(TestDatabase db, String storage, String query)
      throws SQLException {
    String columns = columns(db, storage);
    assertThat(count(db, queryRows(query), storageRows(storage, columns)))
        .as("rows of the query missing from " + storage)
        .isZero();
    assertThat(count(db, storageRows(storage, columns), queryRows(query)))
        .as("rows of " + storage + " not in the query")
        .isZero();
  }

  /** Rows in one and not the other, counted with multiplicity. */
  public static long differences(TestDatabase db, String storage, String query)
      throws SQLException {
    try (Connection connection = db.connect()) {
      return differences(connection, storage, query);
    }
  }

  /**
   * As {@link #differences(TestDatabase, String, String)}, on a connection the caller keeps (the
   * corpus harnesses check thousands of tables).
   */
  public static long differences(Connection connection, String storage, String query)
      throws SQLException {
    String columns = columns(connection, storage);
    return count(connection, queryRows(query), storageRows(storage, columns))
        + count(connection, storageRows(storage, columns), queryRows(query));
  }

  private static long count(TestDatabase db, String rows, String minus) throws SQLException {
    return db.queryLong(countSql(rows, minus));
  }

  private static long count(Connection connection, String rows, String minus) throws SQLException {
    try (Statement statement = connection.createStatement();
        ResultSet rs = statement.executeQuery(countSql(rows, minus))) {
      rs.next();
      return rs.getLong(1);
    }
  }

  private static String countSql(String rows, String minus) {
    return "SELECT count(*) FROM (" + rows + " EXCEPT ALL " + minus + ") d";
  }

  private static String queryRows(String query) {
    return "SELECT ROW(q.*)::text FROM (" + query + ") q";
  }

  private static String storageRows(String storage, String columns) {
    return "SELECT ROW(" + columns + ")::text FROM " + storage + " s";
  }

  private static String columns(TestDatabase db, String storage) throws SQLException {
    return db.queryString(columnsSql(storage));
  }

  private static String columns(Connection connection, String storage) throws SQLException {
    try (Statement statement = connection.createStatement();
        ResultSet rs = statement.executeQuery(columnsSql(storage))) {
      rs.next();
      return rs.getString(1);
    }
  }

  private static String columnsSql(String storage) {
    return "SELECT string_agg('s.' || quote_ident(attname), ', ' ORDER BY attnum)"
        + " FROM pg_attribute WHERE attrelid = '"
        + storage
        + "'::regclass AND attnum > 0 AND NOT attisdropped AND attname NOT LIKE 'pgt\\_%'";
  }
}
