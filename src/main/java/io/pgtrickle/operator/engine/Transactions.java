package io.pgtrickle.operator.engine;

import java.sql.Connection;
import java.sql.SQLException;
import javax.sql.DataSource;

/** Runs work in one transaction on a fresh connection; retries what PostgreSQL asks us to retry. */
final class Transactions {
  /** serialization_failure, deadlock_detected: the transaction had no effect; run it again. */
  private static final int MAX_ATTEMPTS = 5;

  private Transactions() {}

  interface Work<T> {
    T run(Connection connection) throws SQLException, EngineException;
  }

  static <T> T run(DataSource dataSource, int isolation, Work<T> work)
      throws SQLException, EngineException {
    for (int attempt = 1; ; attempt++) {
      try (Connection connection = dataSource.getConnection()) {
        connection.setAutoCommit(false);
        connection.setTransactionIsolation(isolation);
        try {
          T result = work.run(connection);
          connection.commit();
          return result;
        } catch (SQLException | EngineException | RuntimeException e) {
          connection.rollback();
          throw e;
        }
      } catch (SQLException e) {
        if (attempt >= MAX_ATTEMPTS || !isRetryable(e)) {
          throw e;
        }
      }
    }
  }

  static boolean isRetryable(SQLException e) {
    String state = e.getSQLState();
    return "40001".equals(state) || "40P01".equals(state);
  }
}
