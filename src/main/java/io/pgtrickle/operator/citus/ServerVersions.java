package io.pgtrickle.operator.citus;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/** The PostgreSQL server version and the installed Citus version (null without Citus). */
public record ServerVersions(String postgres, String citus) {
  public static ServerVersions read(Connection connection) throws SQLException {
    try (Statement statement = connection.createStatement();
        ResultSet rs =
            statement.executeQuery(
                "SELECT current_setting('server_version'),"
                    + " (SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'citus')")) {
      rs.next();
      return new ServerVersions(rs.getString(1), rs.getString(2));
    }
  }
}
