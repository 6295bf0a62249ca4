package io.pgtrickle.operator.embedded;

import io.pgtrickle.operator.naming.SqlIdentifiers;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import javax.sql.DataSource;
import org.postgresql.ds.PGSimpleDataSource;

/** A PostgreSQL server this process started on loopback, reachable as user postgres. */
public interface PostgresServer extends AutoCloseable {
  String SUPERUSER = "postgres";

  int port();

  default String jdbcUrl(String database) {
    return "jdbc:postgresql://127.0.0.1:" + port() + "/" + database;
  }

  default DataSource dataSource(String database) {
    PGSimpleDataSource dataSource = new PGSimpleDataSource();
    dataSource.setServerNames(new String[] {"127.0.0.1"});
    dataSource.setPortNumbers(new int[] {port()});
    dataSource.setDatabaseName(database);
    dataSource.setUser(SUPERUSER);
    return dataSource;
  }

  /** Creates an empty database; the name is quoted, so any text is safe. */
  default void createDatabase(String database) throws SQLException {
    try (Connection connection = dataSource("postgres").getConnection();
        Statement statement = connection.createStatement()) {
      statement.execute("CREATE DATABASE " + SqlIdentifiers.quote(database));
    }
  }

  @Override
  void close();
}
