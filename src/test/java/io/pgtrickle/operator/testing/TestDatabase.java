package io.pgtrickle.operator.testing;

import io.pgtrickle.operator.embedded.PostgresServer;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import javax.sql.DataSource;

/** One database on a test server, with small helpers for test set-up and checks. */
public record TestDatabase(PostgresServer server, String name) {
  public DataSource dataSource() {
    return server.dataSource(name);
  }

  public Connection connect() throws SQLException {
    return dataSource().getConnection();
  }

  public String jdbcUrl() {
    return server.jdbcUrl(name);
  }

  /** Runs statements in one autocommit session. */
  public void execute(String... sql) throws SQLException {
    try (Connection connection = connect();
        Statement statement = connection.createStatement()) {
      for (String each : sql) {
        statement.execute(each);
      }
    }
  }

  /** Drops this database's replication slots (a WAL test's clean-up: slots outlive it). */
  public void dropReplicationSlots() throws SQLException {
    execute(
        "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots"
            + " WHERE database = current_database()");
  }

  /** The first column of the first row, as a long. */
  public long queryLong(String sql) throws SQLException {
    try (Connection connection = connect();
        Statement statement = connection.createStatement();
        ResultSet rs = statement.executeQuery(sql)) {
      if (!rs.next()) {
        throw new IllegalStateException("no row from: " + sql);
      }
      return rs.getLong(1);
    }
  }

  /** The first column of the first row, as text. */
  public String queryString(String sql) throws SQLException {
    try (Connection connection = connect();
        Statement statement = connection.createStatement();
        ResultSet rs = statement.executeQuery(sql)) {
      if (!rs.next()) {
        throw new IllegalStateException("no row from: " + sql);
      }
      return rs.getString(1);
    }
  }
}
