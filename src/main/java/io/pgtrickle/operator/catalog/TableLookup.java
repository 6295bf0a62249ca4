package io.pgtrickle.operator.catalog;

import io.pgtrickle.operator.naming.QualifiedTable;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Optional;

/** Reads a table's raw catalog names from the node a connection points at. */
public final class TableLookup {
  private static final String BY_OID =
      "SELECT c.oid, current_database(), n.nspname, c.relname FROM pg_catalog.pg_class c"
          + " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = ?";
  private static final String BY_NAME =
      "SELECT c.oid, current_database(), n.nspname, c.relname FROM pg_catalog.pg_class c"
          + " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
          + " WHERE n.nspname = ? AND c.relname = ?";

  private TableLookup() {}

  public static Optional<ResolvedTable> byOid(Connection connection, long oid) throws SQLException {
    try (PreparedStatement statement = connection.prepareStatement(BY_OID)) {
      statement.setLong(1, oid);
      return single(statement);
    }
  }

  /** By raw catalog names (no case folding, no search_path). */
  public static Optional<ResolvedTable> byName(Connection connection, String schema, String table)
      throws SQLException {
    try (PreparedStatement statement = connection.prepareStatement(BY_NAME)) {
      statement.setString(1, schema);
      statement.setString(2, table);
      return single(statement);
    }
  }

  private static Optional<ResolvedTable> single(PreparedStatement statement) throws SQLException {
    try (ResultSet rs = statement.executeQuery()) {
      if (!rs.next()) {
        return Optional.empty();
      }
      return Optional.of(
          new ResolvedTable(
              rs.getLong(1),
              new QualifiedTable(rs.getString(2), rs.getString(3), rs.getString(4))));
    }
  }
}
