package io.pgtrickle.operator.engine;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

/**
 * Statements sent together: pgjdbc sends the commands of one statement text (split at top-level
 * semicolons) in one round trip, each run in order, the rest skipped after an error.
 */
final class Statements {
  private Statements() {}

  /** Runs {@code statement}; returns the first result set, after the commands before it. */
  static ResultSet firstResultSet(PreparedStatement statement) throws SQLException {
    boolean resultSet = statement.execute();
    while (!resultSet) {
      if (statement.getUpdateCount() == -1) {
        throw new IllegalStateException("the statement returned no rows");
      }
      resultSet = statement.getMoreResults();
    }
    return statement.getResultSet();
  }

  /**
   * Commands (without parameters) to send ahead of a statement, in its round trip. No space after
   * the semicolons: pgjdbc drops every server-prepared statement of the connection when a SET whose
   * text names search_path differs from the last such text, and {@code " SET LOCAL search_path =
   * x"} differs from {@code "SET LOCAL search_path = x"} sent elsewhere.
   */
  static String ahead(java.util.List<String> commands) {
    StringBuilder text = new StringBuilder();
    for (String command : commands) {
      text.append(command).append(';');
    }
    return text.toString();
  }
}
