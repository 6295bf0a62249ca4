package io.pgtrickle.operator.testing;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Set;
import java.util.TreeSet;

/**
 * Every user-visible object of a database — relations, functions, triggers, outside the system
 * schemas — so a test can assert that a failed or dropped stream table left nothing behind.
 */
public final class DatabaseObjects {
  private static final String OBJECTS =
      "SELECT 'relation ' || n.nspname || '.' || c.relname FROM pg_class c"
          + " JOIN pg_namespace n ON n.oid = c.relnamespace"
          + " WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')"
          + " AND n.nspname NOT LIKE 'pg_temp%' AND n.nspname NOT LIKE 'pg_toast_temp%'"
          + " UNION ALL SELECT 'function ' || n.nspname || '.' || p.proname FROM pg_proc p"
          + " JOIN pg_namespace n ON n.oid = p.pronamespace"
          + " WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')"
          + " UNION ALL SELECT 'trigger ' || t.tgname || ' on ' || t.tgrelid::regclass"
          + " FROM pg_trigger t WHERE NOT t.tgisinternal";

  private DatabaseObjects() {}

  public static Set<String> of(TestDatabase db) throws SQLException {
    Set<String> objects = new TreeSet<>();
    try (Connection connection = db.connect();
        Statement statement = connection.createStatement();
        ResultSet rs = statement.executeQuery(OBJECTS)) {
      while (rs.next()) {
        objects.add(rs.getString(1));
      }
    }
    return objects;
  }
}
