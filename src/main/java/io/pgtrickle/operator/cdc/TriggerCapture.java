package io.pgtrickle.operator.cdc;

import io.pgtrickle.operator.naming.ObjectNames;
import io.pgtrickle.operator.naming.ObjectNames.CaptureEvent;
import io.pgtrickle.operator.naming.SqlIdentifiers;
import io.pgtrickle.operator.naming.StableName;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/**
 * Change capture for a plain local table: statement-level AFTER triggers with transition tables
 * write changed rows into the source's change buffer. One buffer per source, shared by every stream
 * table that reads it. Works in the caller's transaction; every name comes from {@link
 * ObjectNames}.
 *
 * <p>Each buffer row records the writing transaction's id ({@code xid}): a consumer applies exactly
 * the rows whose transaction is visible in its refresh snapshot and was not in its previous one, so
 * a transaction that commits late is never skipped (an LSN or sequence bound would skip it). The
 * row itself is kept in PostgreSQL's record text form ({@code row_data::<source table>} reads it
 * back).
 */
public final class TriggerCapture {
  static final String TRANSITION_NEW = "pgt_new";
  static final String TRANSITION_OLD = "pgt_old";

  private TriggerCapture() {}

  /**
   * Marks the function body's version: functions of an older body are replaced on connect ({@link
   * #upgradeFunctions}). v2 pins the output settings ({@link ChangeText}) and survives source
   * columns named like the function's variables or aliases.
   */
  static final String BODY_VERSION = "-- pg-trickle capture function v2";

  /** Creates whatever part of the capture is missing; repairs drift such as a dropped trigger. */
  public static void install(Connection connection, String schema, String table, ObjectNames names)
      throws SQLException {
    String function = SqlIdentifiers.qualified(ObjectNames.CATALOG_SCHEMA, names.triggerFunction());
    String source = SqlIdentifiers.qualified(schema, table);
    try (Statement statement = connection.createStatement()) {
      ChangeBuffer.create(connection, names);
      createFunction(connection, names);
      for (CaptureEvent event : CaptureEvent.values()) {
        statement.execute(
            "CREATE OR REPLACE TRIGGER "
                + SqlIdentifiers.quote(names.trigger(event))
                + " AFTER "
                + event.name()
                + " ON "
                + source
                + transitionTables(event)
                + " FOR EACH STATEMENT EXECUTE FUNCTION "
                + function
                + "()");
      }
    }
  }

  /**
   * The trigger function writing the source's changed rows into its buffer. SECURITY DEFINER:
   * writers of the source need no privilege on the buffer. A fixed search_path and the pinned
   * output settings keep a writer's session out of it: the row text is the same whoever writes. The
   * transaction id and WAL position are read once per statement, not once per row.
   */
  private static void createFunction(Connection connection, ObjectNames names) throws SQLException {
    String buffer = names.changeBufferQualified();
    String function = SqlIdentifiers.qualified(ObjectNames.CATALOG_SCHEMA, names.triggerFunction());
    String insert = "    INSERT INTO " + buffer + " (xid, lsn, op, row_data) ";
    try (Statement statement = connection.createStatement()) {
      statement.execute(
          "CREATE OR REPLACE FUNCTION "
              + function
              + "() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER"
              + " SET search_path = pg_catalog, pg_temp"
              + ChangeText.FUNCTION_SETTINGS
              + " AS $pgt$\n"
              // The source's columns share the statements' scope with the variables and aliases:
              // variables win over a column of the same name, and a whole row is ROW(alias.*),
              // never a bare alias, which a column named like it would shadow.
              + "#variable_conflict use_variable\n"
              + BODY_VERSION
              + "\n"
              + "DECLARE\n"
              + "  x bigint := pg_current_xact_id()::text::bigint;\n"
              + "  l pg_lsn := pg_current_wal_insert_lsn();\n"
              + "BEGIN\n"
              + "  IF TG_OP = 'INSERT' THEN\n"
              + insert
              + "SELECT x, l, 'I', ROW(n.*)::text FROM pgt_new n;\n"
              + "  ELSIF TG_OP = 'UPDATE' THEN\n"
              + insert
              + "SELECT x, l, 'D', ROW(o.*)::text FROM pgt_old o"
              + " UNION ALL SELECT x, l, 'I', ROW(n.*)::text FROM pgt_new n;\n"
              + "  ELSIF TG_OP = 'DELETE' THEN\n"
              + insert
              + "SELECT x, l, 'D', ROW(o.*)::text FROM pgt_old o;\n"
              + "  ELSE\n"
              + insert
              + "VALUES (x, l, 'T', NULL);\n"
              + "  END IF;\n"
              + "  RETURN NULL;\n"
              + "END\n$pgt$");
    }
  }

  /**
   * Replaces every trigger function in the database whose body is older than {@link #BODY_VERSION}
   * (made by an earlier version of the operator); returns how many. The triggers call the function
   * by name, so they need no change.
   */
  public static int upgradeFunctions(Connection connection) throws SQLException {
    List<String> stale = new ArrayList<>();
    try (PreparedStatement statement =
        connection.prepareStatement(
            "SELECT substring(p.proname FROM '[0-9a-f]{16}$') FROM pg_catalog.pg_proc p"
                + " WHERE p.pronamespace = to_regnamespace(?)"
                + " AND p.proname ~ '^pg_trickle_cdc_fn_[0-9a-f]{16}$'"
                + " AND strpos(p.prosrc, ?) = 0")) {
      statement.setString(1, ObjectNames.CATALOG_SCHEMA);
      statement.setString(2, BODY_VERSION);
      try (ResultSet rs = statement.executeQuery()) {
        while (rs.next()) {
          stale.add(rs.getString(1));
        }
      }
    }
    for (String stableName : stale) {
      createFunction(connection, new ObjectNames(new StableName(stableName)));
    }
    return stale.size();
  }

  /** The capture objects of this source that do not exist (empty when fully installed). */
  public static List<String> missingObjects(
      Connection connection, String schema, String table, ObjectNames names) throws SQLException {
    List<String> missing = new ArrayList<>();
    try (PreparedStatement statement =
        connection.prepareStatement(
            "SELECT to_regclass(?) IS NOT NULL, to_regprocedure(?) IS NOT NULL")) {
      statement.setString(1, names.changeBufferQualified());
      statement.setString(
          2, SqlIdentifiers.qualified(ObjectNames.CATALOG_SCHEMA, names.triggerFunction()) + "()");
      try (ResultSet rs = statement.executeQuery()) {
        rs.next();
        if (!rs.getBoolean(1)) {
          missing.add(ObjectNames.CHANGES_SCHEMA + "." + names.changeBuffer());
        }
        if (!rs.getBoolean(2)) {
          missing.add(ObjectNames.CATALOG_SCHEMA + "." + names.triggerFunction() + "()");
        }
      }
    }
    try (PreparedStatement statement =
        connection.prepareStatement(
            "SELECT 1 FROM pg_catalog.pg_trigger WHERE tgname = ? AND tgrelid = to_regclass(?)")) {
      for (CaptureEvent event : CaptureEvent.values()) {
        statement.setString(1, names.trigger(event));
        statement.setString(2, SqlIdentifiers.qualified(schema, table));
        try (ResultSet rs = statement.executeQuery()) {
          if (!rs.next()) {
            missing.add(names.trigger(event));
          }
        }
      }
    }
    return missing;
  }

  /**
   * Drops the triggers (found by name, wherever the table now is), the function and the buffer.
   * Safe to repeat, and when the source table itself is gone.
   */
  public static void uninstall(Connection connection, ObjectNames names) throws SQLException {
    try (Statement statement = connection.createStatement()) {
      for (CaptureEvent event : CaptureEvent.values()) {
        for (String table : tablesWithTrigger(connection, names.trigger(event))) {
          statement.execute(
              "DROP TRIGGER IF EXISTS "
                  + SqlIdentifiers.quote(names.trigger(event))
                  + " ON "
                  + table);
        }
      }
      statement.execute(
          "DROP FUNCTION IF EXISTS "
              + SqlIdentifiers.qualified(ObjectNames.CATALOG_SCHEMA, names.triggerFunction())
              + "()");
      statement.execute("DROP TABLE IF EXISTS " + names.changeBufferQualified());
    }
  }

  private static List<String> tablesWithTrigger(Connection connection, String trigger)
      throws SQLException {
    List<String> tables = new ArrayList<>();
    try (PreparedStatement statement =
        connection.prepareStatement(
            "SELECT n.nspname, c.relname FROM pg_catalog.pg_trigger t"
                + " JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid"
                + " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE t.tgname = ?")) {
      statement.setString(1, trigger);
      try (ResultSet rs = statement.executeQuery()) {
        while (rs.next()) {
          tables.add(SqlIdentifiers.qualified(rs.getString(1), rs.getString(2)));
        }
      }
    }
    return tables;
  }

  private static String transitionTables(CaptureEvent event) {
    return switch (event) {
      case INSERT -> " REFERENCING NEW TABLE AS " + TRANSITION_NEW;
      case UPDATE ->
          " REFERENCING OLD TABLE AS " + TRANSITION_OLD + " NEW TABLE AS " + TRANSITION_NEW;
      case DELETE -> " REFERENCING OLD TABLE AS " + TRANSITION_OLD;
      case TRUNCATE -> "";
    };
  }
}
