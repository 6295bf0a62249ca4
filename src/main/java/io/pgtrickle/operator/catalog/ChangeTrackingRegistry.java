package io.pgtrickle.operator.catalog;

import io.pgtrickle.operator.naming.QualifiedTable;
import io.pgtrickle.operator.naming.StableName;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Optional;
import java.util.function.Function;

/**
 * Rows of {@code pgtrickle.pgt_change_tracking}: one per captured source, keyed by stable name.
 * Runs inside the caller's transaction so registration commits or rolls back with the rest.
 */
public final class ChangeTrackingRegistry {
  private static final String INSERT =
      "INSERT INTO pgtrickle.pgt_change_tracking (source_stable_name, source_relid,"
          + " source_database, source_schema, source_table, source_placement, cdc_mode,"
          + " frontier_per_node) VALUES (?, ?, ?, ?, ?, ?, ?, "
          + " CASE WHEN ? = 'trigger' THEN NULL ELSE '{}'::jsonb END)"
          + " ON CONFLICT (source_stable_name) DO NOTHING";
  private static final String LOCK_HOLDER =
      "SELECT source_database, source_schema, source_table FROM pgtrickle.pgt_change_tracking"
          + " WHERE source_stable_name = ? FOR UPDATE";
  private static final String REFRESH_OID =
      "UPDATE pgtrickle.pgt_change_tracking SET source_relid = ? WHERE source_stable_name = ?"
          + " AND source_relid <> ?";

  private final Function<QualifiedTable, StableName> namer;

  /** Production registry: stable names from {@link StableName#of}. */
  public ChangeTrackingRegistry() {
    this(StableName::of);
  }

  /** Test seam: lets a test force two tables onto one stable name. */
  ChangeTrackingRegistry(Function<QualifiedTable, StableName> namer) {
    this.namer = namer;
  }

  /**
   * Records the source, or confirms an existing record of the same table (refreshing its local OID,
   * which changes after dump/restore). Fails if a different table holds the stable name.
   */
  public StableName register(Connection connection, SourceRegistration source) throws SQLException {
    QualifiedTable table = source.table().name();
    StableName stableName = namer.apply(table);
    try (PreparedStatement insert = connection.prepareStatement(INSERT)) {
      insert.setString(1, stableName.value());
      insert.setLong(2, source.table().oid());
      insert.setString(3, table.database());
      insert.setString(4, table.schema());
      insert.setString(5, table.table());
      insert.setString(6, source.placement().catalogValue());
      insert.setString(7, source.cdcMode().catalogValue());
      insert.setString(8, source.cdcMode().catalogValue());
      insert.executeUpdate();
    }
    // Whether we inserted or lost a race, the row now exists: lock it and check who holds it.
    QualifiedTable holder =
        holderOf(connection, stableName)
            .orElseThrow(() -> new IllegalStateException("row vanished for " + stableName));
    if (!holder.equals(table)) {
      throw new StableNameCollisionException(stableName, holder, table);
    }
    try (PreparedStatement update = connection.prepareStatement(REFRESH_OID)) {
      update.setLong(1, source.table().oid());
      update.setString(2, stableName.value());
      update.setLong(3, source.table().oid());
      update.executeUpdate();
    }
    return stableName;
  }

  /** Records that stream table {@code streamTableId} reads the source. */
  public void addConsumer(Connection connection, StableName source, long streamTableId)
      throws SQLException {
    try (PreparedStatement update =
        connection.prepareStatement(
            "UPDATE pgtrickle.pgt_change_tracking SET consumers = array_append(consumers, ?)"
                + " WHERE source_stable_name = ? AND NOT (? = ANY (consumers))")) {
      update.setLong(1, streamTableId);
      update.setString(2, source.value());
      update.setLong(3, streamTableId);
      update.executeUpdate();
    }
  }

  /**
   * Removes a consumer; when none is left, deletes the row and returns true: the caller then
   * removes the capture objects in the same transaction.
   */
  public boolean removeConsumer(Connection connection, StableName source, long streamTableId)
      throws SQLException {
    try (PreparedStatement update =
        connection.prepareStatement(
            "UPDATE pgtrickle.pgt_change_tracking SET consumers = array_remove(consumers, ?)"
                + " WHERE source_stable_name = ? RETURNING cardinality(consumers)")) {
      update.setLong(1, streamTableId);
      update.setString(2, source.value());
      try (ResultSet rs = update.executeQuery()) {
        if (!rs.next() || rs.getInt(1) > 0) {
          return false;
        }
      }
    }
    try (PreparedStatement delete =
        connection.prepareStatement(
            "DELETE FROM pgtrickle.pgt_change_tracking WHERE source_stable_name = ?")) {
      delete.setString(1, source.value());
      delete.executeUpdate();
    }
    return true;
  }

  /** The tracked source, if any. */
  public Optional<TrackedSource> find(Connection connection, StableName source)
      throws SQLException {
    try (PreparedStatement select =
        connection.prepareStatement(
            "SELECT source_relid, source_database, source_schema, source_table, source_placement,"
                + " cdc_mode, consumers FROM pgtrickle.pgt_change_tracking"
                + " WHERE source_stable_name = ?")) {
      select.setString(1, source.value());
      try (ResultSet rs = select.executeQuery()) {
        if (!rs.next()) {
          return Optional.empty();
        }
        Long[] consumers = (Long[]) rs.getArray(7).getArray();
        return Optional.of(
            new TrackedSource(
                source,
                new ResolvedTable(
                    rs.getLong(1),
                    new QualifiedTable(rs.getString(2), rs.getString(3), rs.getString(4))),
                Placement.fromCatalog(rs.getString(5)),
                CdcMode.fromCatalog(rs.getString(6)),
                java.util.List.of(consumers)));
      }
    }
  }

  private static Optional<QualifiedTable> holderOf(Connection connection, StableName stableName)
      throws SQLException {
    try (PreparedStatement select = connection.prepareStatement(LOCK_HOLDER)) {
      select.setString(1, stableName.value());
      try (ResultSet rs = select.executeQuery()) {
        if (!rs.next()) {
          return Optional.empty();
        }
        return Optional.of(new QualifiedTable(rs.getString(1), rs.getString(2), rs.getString(3)));
      }
    }
  }
}
