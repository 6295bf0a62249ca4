package io.pgtrickle.operator.engine;

import io.pgtrickle.operator.naming.ObjectNames;
import io.pgtrickle.operator.naming.SqlIdentifiers;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * Hands a stream table's query view to the cluster's query role. PostgreSQL checks a view's tables
 * with its owner's privileges, so a stream table then reads only what that role may read, whatever
 * the operator's own role may do: defence in depth behind {@link SingleQuery}.
 */
final class QueryViewOwner {
  private QueryViewOwner() {}

  /** Makes {@code role} the owner of {@code view} (qualified), in the caller's transaction. */
  static void assign(Connection connection, String view, String role)
      throws SQLException, EngineException {
    String quotedRole = SqlIdentifiers.quote(role);
    String schema = SqlIdentifiers.quote(ObjectNames.CATALOG_SCHEMA);
    try (Statement statement = connection.createStatement()) {
      statement.execute("SAVEPOINT pgt_query_role");
      // ALTER ... OWNER TO wants the new owner to hold CREATE on the view's schema. The operator
      // owns that schema and grants CREATE only around the one statement, so the query role never
      // keeps it (unless it had it before).
      boolean grant = !hasCreate(connection, role);
      if (grant) {
        statement.execute("GRANT CREATE ON SCHEMA " + schema + " TO " + quotedRole);
      }
      statement.execute("ALTER VIEW " + view + " OWNER TO " + quotedRole);
      if (grant) {
        statement.execute("REVOKE CREATE ON SCHEMA " + schema + " FROM " + quotedRole);
      }
      statement.execute("RELEASE SAVEPOINT pgt_query_role");
    } catch (SQLException e) {
      try (Statement statement = connection.createStatement()) {
        statement.execute("ROLLBACK TO SAVEPOINT pgt_query_role");
      }
      String state = e.getSQLState() == null ? "" : e.getSQLState();
      if ("42704".equals(state)) {
        throw new EngineException(
            Reason.PrerequisitesMissing,
            "the CitusCluster's queryRole " + quotedRole + " does not exist; create it first",
            e);
      }
      if ("42501".equals(state)) {
        throw new EngineException(
            Reason.PrerequisitesMissing,
            "the operator's role may not hand query views to queryRole "
                + quotedRole
                + ": make it a member (GRANT "
                + quotedRole
                + " TO <operator role>); "
                + e.getMessage(),
            e);
      }
      throw e;
    }
  }

  /** Whether {@code view} (qualified) is owned by {@code role}. */
  static boolean ownedBy(Connection connection, String view, String role) throws SQLException {
    try (PreparedStatement statement =
        connection.prepareStatement(
            "SELECT pg_catalog.pg_get_userbyid(relowner) = ? FROM pg_catalog.pg_class"
                + " WHERE oid = to_regclass(?)")) {
      statement.setString(1, role);
      statement.setString(2, view);
      try (ResultSet rs = statement.executeQuery()) {
        return rs.next() && rs.getBoolean(1);
      }
    }
  }

  private static boolean hasCreate(Connection connection, String role) throws SQLException {
    try (PreparedStatement statement =
        connection.prepareStatement(
            "SELECT pg_catalog.has_schema_privilege(?, ?, 'CREATE')"
                + " FROM pg_catalog.pg_roles WHERE rolname = ?")) {
      statement.setString(1, role);
      statement.setString(2, ObjectNames.CATALOG_SCHEMA);
      statement.setString(3, role);
      try (ResultSet rs = statement.executeQuery()) {
        return rs.next() && rs.getBoolean(1);
      }
    }
  }
}
