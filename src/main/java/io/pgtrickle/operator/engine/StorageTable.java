package io.pgtrickle.operator.engine;

import io.pgtrickle.operator.api.PlacementMode;
import io.pgtrickle.operator.capture.CapturePlan;
import io.pgtrickle.operator.catalog.Placement;
import io.pgtrickle.operator.citus.CitusTopology;
import io.pgtrickle.operator.naming.SqlIdentifiers;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The table that holds a stream table's rows. Local storage is a plain table on the coordinator.
 * Reference and distributed storage are Citus tables with one more column, {@value #ROW_ID}: a uuid
 * derived from the row's contents and its copy number, which a distributed table is distributed on
 * and which lets a refresh delete and insert by key (Citus cannot address rows by ctid across
 * shards or replicas).
 */
final class StorageTable {
  /** The row-id column of reference and distributed storage. */
  static final String ROW_ID = "pgt_row_id";

  private StorageTable() {}

  /**
   * The placement to apply: as asked, where {@code auto} is distributed when Citus is loaded and
   * every source is distributed, else local. Reference and distributed need Citus.
   */
  static Placement choose(
      Connection connection,
      CitusTopology topology,
      PlacementMode requested,
      List<CapturePlan> sources)
      throws SQLException, EngineException {
    boolean citus = topology.isCitusLoaded(connection);
    if (requested == PlacementMode.LOCAL) {
      return Placement.LOCAL;
    }
    if (requested == PlacementMode.AUTO) {
      boolean allDistributed =
          !sources.isEmpty()
              && sources.stream().allMatch(p -> p.placement() == Placement.DISTRIBUTED);
      return citus && allDistributed ? Placement.DISTRIBUTED : Placement.LOCAL;
    }
    if (!citus) {
      throw new EngineException(
          Reason.InvalidSpec,
          "placement "
              + requested.name().toLowerCase(Locale.ROOT)
              + " needs the citus extension in the database; use auto or local");
    }
    return requested == PlacementMode.REFERENCE ? Placement.REFERENCE : Placement.DISTRIBUTED;
  }

  /**
   * Creates the empty storage for the query held in {@code view}, placed as asked. {@code
   * groupState}: the view is a differential state view with groups, whose own {@code pgt_row_id}
   * (the group's) is then the key of Citus storage.
   */
  static void create(
      Connection connection, String qualified, String view, Placement placement, boolean groupState)
      throws SQLException {
    try (Statement statement = connection.createStatement()) {
      statement.execute(
          "CREATE TABLE " + qualified + " AS SELECT * FROM " + view + " WITH NO DATA");
      if (placement == Placement.LOCAL) {
        return;
      }
      String rowId = SqlIdentifiers.quote(ROW_ID);
      statement.execute(
          groupState
              ? "ALTER TABLE " + qualified + " ADD PRIMARY KEY (" + rowId + ")"
              : "ALTER TABLE " + qualified + " ADD COLUMN " + rowId + " uuid NOT NULL PRIMARY KEY");
    }
    String function =
        placement == Placement.REFERENCE
            ? "SELECT create_reference_table(?::regclass)"
            : "SELECT create_distributed_table(?::regclass, '" + ROW_ID + "')";
    try (PreparedStatement distribute = connection.prepareStatement(function)) {
      distribute.setString(1, qualified);
      distribute.execute();
    }
  }

  /** The storage's columns that hold the query's values (the row id is not one). */
  static QueryColumns columns(Connection connection, String qualified) throws SQLException {
    QueryColumns all = QueryColumns.of(connection, qualified);
    List<String> names = new ArrayList<>();
    List<String> types = new ArrayList<>();
    for (int i = 0; i < all.names().size(); i++) {
      if (!all.names().get(i).equals(ROW_ID)) {
        names.add(all.names().get(i));
        types.add(all.types().get(i));
      }
    }
    return new QueryColumns(names, types);
  }
}
