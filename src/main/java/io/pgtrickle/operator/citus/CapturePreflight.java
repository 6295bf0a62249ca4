package io.pgtrickle.operator.citus;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * What WAL capture of one source needs on one node, checked before anything is created there: the
 * node's settings (see {@link NodePrerequisites}), the role's right to create slots (REPLICATION)
 * and the publication (ownership of the table), and the table's REPLICA IDENTITY — FULL by default;
 * DEFAULT only when the user declares keys immutable (an update of a key column would otherwise be
 * lost); NOTHING never (updates and deletes would not be decodable).
 */
public final class CapturePreflight {
  private CapturePreflight() {}

  /** The outcome: problems block capture; warnings are reported and capture goes ahead. */
  public record Result(List<String> problems, List<String> warnings) {
    public boolean passed() {
      return problems.isEmpty();
    }
  }

  public static Result check(
      Connection node,
      String nodeName,
      String schema,
      String table,
      boolean immutablePk,
      boolean slotExists,
      boolean citus)
      throws SQLException {
    List<String> problems = new ArrayList<>();
    List<String> warnings = new ArrayList<>();
    for (String missing : NodePrerequisites.missing(node, citus)) {
      if (slotExists && missing.startsWith("a free replication slot")) {
        continue; // the slot this source needs exists already
      }
      problems.add(nodeName + ": " + missing);
    }
    try (PreparedStatement statement =
        node.prepareStatement(
            "SELECT r.rolreplication OR r.rolsuper, c.relreplident::text,"
                + " pg_catalog.pg_has_role(current_user, c.relowner, 'USAGE')"
                + " FROM pg_catalog.pg_roles r, pg_catalog.pg_class c"
                + " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
                + " WHERE r.rolname = current_user AND n.nspname = ? AND c.relname = ?")) {
      statement.setString(1, schema);
      statement.setString(2, table);
      try (ResultSet rs = statement.executeQuery()) {
        if (!rs.next()) {
          problems.add(nodeName + ": table " + schema + "." + table + " does not exist there");
          return new Result(problems, warnings);
        }
        if (!rs.getBoolean(1)) {
          problems.add(
              nodeName
                  + ": the operator's role needs the REPLICATION attribute to create a slot"
                  + " (ALTER ROLE ... REPLICATION)");
        }
        replicaIdentity(
            rs.getString(2), nodeName, schema + "." + table, immutablePk, problems, warnings);
        if (!rs.getBoolean(3)) {
          problems.add(
              nodeName
                  + ": the operator's role must own "
                  + schema
                  + "."
                  + table
                  + " (or be a member of its owner) to publish it");
        }
      }
    }
    return new Result(problems, warnings);
  }

  private static void replicaIdentity(
      String identity,
      String nodeName,
      String table,
      boolean immutablePk,
      List<String> problems,
      List<String> warnings) {
    switch (identity) {
      case "f" -> {}
      case "d", "i" -> {
        if (immutablePk) {
          warnings.add(
              nodeName
                  + ": "
                  + table
                  + " has REPLICA IDENTITY "
                  + (identity.equals("d") ? "DEFAULT" : "USING INDEX")
                  + "; with immutablePk an update that changes a key column would be lost");
        } else {
          problems.add(
              nodeName
                  + ": "
                  + table
                  + " needs REPLICA IDENTITY FULL (ALTER TABLE ... REPLICA IDENTITY FULL),"
                  + " or set immutablePk: true if key columns never change");
        }
      }
      default ->
          problems.add(
              nodeName
                  + ": "
                  + table
                  + " has REPLICA IDENTITY NOTHING; its updates and deletes cannot be captured");
    }
  }
}
