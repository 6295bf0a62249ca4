package io.pgtrickle.operator.engine;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.OptionalInt;
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
    return run(dataSource, OptionalInt.of(isolation), work);
  }

  /**
   * Leaves the isolation level to the work, whose first statement sets it ({@code SET TRANSACTION
   * ISOLATION LEVEL ...}; PostgreSQL refuses it after a query), sent with that statement in one
   * round trip. {@link Connection#setTransactionIsolation} costs a round trip of its own ({@code
   * SET SESSION CHARACTERISTICS}), and the pool another to set its default back when the connection
   * returns.
   */
  static <T> T runIsolationSetByWork(DataSource dataSource, Work<T> work)
      throws SQLException, EngineException {
    return run(dataSource, OptionalInt.empty(), work);
  }

  private static <T> T run(DataSource dataSource, OptionalInt isolation, Work<T> work)
      throws SQLException, EngineException {
    for (int attempt = 1; ; attempt++) {
      try (Connection connection = dataSource.getConnection()) {
        connection.setAutoCommit(false);
        if (isolation.isPresent()) {
          connection.setTransactionIsolation(isolation.getAsInt());
        }
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
