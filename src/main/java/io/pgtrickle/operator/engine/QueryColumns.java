package io.pgtrickle.operator.engine;

import io.pgtrickle.operator.naming.SqlIdentifiers;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/** Column names and types of a relation, in order, to compare a query's shape with storage. */
record QueryColumns(List<String> names, List<String> types) {
  static QueryColumns of(Connection connection, String qualifiedRelation) throws SQLException {
    List<String> names = new ArrayList<>();
    List<String> types = new ArrayList<>();
    try (PreparedStatement statement =
        connection.prepareStatement(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_catalog.pg_attribute"
                + " WHERE attrelid = to_regclass(?) AND attnum > 0 AND NOT attisdropped"
                + " ORDER BY attnum")) {
      statement.setString(1, qualifiedRelation);
      try (ResultSet rs = statement.executeQuery()) {
        while (rs.next()) {
          names.add(rs.getString(1));
          types.add(rs.getString(2));
        }
      }
    }
    return new QueryColumns(names, types);
  }

  List<String> quotedNames() {
    return names.stream().map(SqlIdentifiers::quote).toList();
  }
}
