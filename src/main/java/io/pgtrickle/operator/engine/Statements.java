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
}
