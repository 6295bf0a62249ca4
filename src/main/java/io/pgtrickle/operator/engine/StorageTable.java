package io.pgtrickle.operator.engine;

import io.pgtrickle.operator.api.PlacementMode;
import io.pgtrickle.operator.capture.CapturePlan;
import io.pgtrickle.operator.catalog.Placement;
import io.pgtrickle.operator.citus.CitusTopology;
import io.pgtrickle.operator.differential.plan.Layout;
import io.pgtrickle.operator.differential.sql.ApplySql;
import io.pgtrickle.operator.naming.SqlIdentifiers;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

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
   * Creates the empty storage for the query held in {@code view}, placed as asked. With a
   * differential {@code layout} the view is its state view, which has {@code pgt_row_id}; in Citus
   * storage that is the key of groups, and a bag numbers its copies ({@code pgt_copy}) to make one.
   */
  static void create(
      Connection connection,
      String qualified,
      String view,
      Placement placement,
      Optional<Layout> layout)
      throws SQLException {
    try (Statement statement = connection.createStatement()) {
      statement.execute(
          "CREATE TABLE " + qualified + " AS SELECT * FROM " + view + " WITH NO DATA");
      if (placement == Placement.LOCAL) {
        return;
      }
      String rowId = SqlIdentifiers.quote(ROW_ID);
      if (layout.isEmpty()) {
        statement.execute(
            "ALTER TABLE " + qualified + " ADD COLUMN " + rowId + " uuid NOT NULL PRIMARY KEY");
      } else if (layout.get() == Layout.BAG) {
        String copy = SqlIdentifiers.quote(ApplySql.COPY);
        statement.execute(
            "ALTER TABLE "
                + qualified
                + " ALTER COLUMN "
                + rowId
                + " SET NOT NULL, ADD COLUMN "
                + copy
                + " bigint NOT NULL, ADD PRIMARY KEY ("
                + rowId
                + ", "
                + copy
                + ")");
      } else {
        statement.execute("ALTER TABLE " + qualified + " ADD PRIMARY KEY (" + rowId + ")");
      }
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

  /** The storage's columns that hold the query's values (row id and copy number are not). */
  static QueryColumns columns(Connection connection, String qualified) throws SQLException {
    QueryColumns all = QueryColumns.of(connection, qualified);
    List<String> names = new ArrayList<>();
    List<String> types = new ArrayList<>();
    for (int i = 0; i < all.names().size(); i++) {
      if (!all.names().get(i).equals(ROW_ID) && !all.names().get(i).equals(ApplySql.COPY)) {
        names.add(all.names().get(i));
        types.add(all.types().get(i));
      }
    }
    return new QueryColumns(names, types);
  }
}
