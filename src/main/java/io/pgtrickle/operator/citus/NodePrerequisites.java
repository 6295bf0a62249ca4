package io.pgtrickle.operator.citus;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

/**
 * What WAL capture needs on one node, and what it lacks: wal_level=logical, a free replication
 * slot, and on Citus nodes change-data-capture, so that worker slots name the distributed table.
 */
public final class NodePrerequisites {
  private NodePrerequisites() {}

  /** The unmet prerequisites of the node behind {@code connection}; empty when all are met. */
  public static List<String> missing(Connection connection, boolean citus) throws SQLException {
    List<String> missing = new ArrayList<>();
    try (Statement statement = connection.createStatement();
        ResultSet rs =
            statement.executeQuery(
                "SELECT current_setting('wal_level'),"
                    + " current_setting('max_replication_slots')::int,"
                    + " (SELECT count(*) FROM pg_catalog.pg_replication_slots)::int,"
                    + " current_setting('citus.enable_change_data_capture', true)")) {
      rs.next();
      if (!"logical".equals(rs.getString(1))) {
        missing.add("wal_level=logical (is " + rs.getString(1) + ")");
      }
      int slots = rs.getInt(2);
      int used = rs.getInt(3);
      if (used >= slots) {
        missing.add(
            "a free replication slot (" + used + " of max_replication_slots=" + slots + " in use)");
      }
      String cdc = rs.getString(4);
      if (citus && !"on".equals(cdc)) {
        missing.add(
            "citus.enable_change_data_capture=on (is "
                + (cdc == null ? "unset" : cdc)
                + "; also set dynamic_library_path to include $libdir/citus_decoders)");
      }
    }
    return missing;
  }
}
