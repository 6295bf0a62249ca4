package io.pgtrickle.operator.citus;

import io.pgtrickle.operator.naming.SqlIdentifiers;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.LongSupplier;

/**
 * Citus detection and placement for one database. Every call answers with the default (local, no
 * nodes) when Citus is absent, without error or logging. Whether Citus is loaded is cached for a
 * short time so that the check costs a field read on the hot path, not a round trip; {@link
 * #invalidate()} forgets it at once (e.g. when a CitusCluster is reconciled).
 *
 * <p>One instance per database: construct it next to that database's connection source. Not final:
 * tests stand plain PostgreSQL servers in for Citus workers by supplying the nodes and placements.
 */
public class CitusTopology {
  /** How long "is Citus loaded" is trusted before it is asked again. */
  public static final Duration DEFAULT_DETECTION_TTL = Duration.ofSeconds(30);

  private static final String IS_LOADED =
      "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = 'citus')";
  // partmethod 'n' + repmodel 't' is a reference table; 'n' with colocation 0 is a Citus-managed
  // local table; any other entry is distributed (see Citus's IsCitusTableTypeInternal).
  private static final String PLACEMENT =
      "SELECT partmethod, repmodel, colocationid,"
          + " CASE WHEN partkey IS NULL THEN NULL"
          + " ELSE pg_catalog.column_to_column_name(logicalrelid, partkey) END"
          + " FROM pg_catalog.pg_dist_partition WHERE logicalrelid = to_regclass(?)";
  private static final String NODES =
      "SELECT nodeid, groupid, nodename, nodeport, noderole::text, isactive, shouldhaveshards"
          + " FROM pg_catalog.pg_dist_node";
  private static final String SHARD_PLACEMENTS =
      "SELECT n.nodeid, n.groupid, n.nodename, n.nodeport, n.noderole::text, n.isactive,"
          + " n.shouldhaveshards, array_agg(s.shardid ORDER BY s.shardid)"
          + " FROM pg_catalog.pg_dist_shard s"
          + " JOIN pg_catalog.pg_dist_placement p ON p.shardid = s.shardid"
          + " JOIN pg_catalog.pg_dist_node n ON n.groupid = p.groupid AND n.noderole = 'primary'"
          + " WHERE s.logicalrelid = to_regclass(?)"
          + " GROUP BY 1, 2, 3, 4, 5, 6, 7 ORDER BY n.nodeid";

  private final LongSupplier nanoClock;
  private final long ttlNanos;
  private volatile Detection detection;

  public CitusTopology() {
    this(System::nanoTime, DEFAULT_DETECTION_TTL);
  }

  public CitusTopology(LongSupplier nanoClock, Duration ttl) {
    this.nanoClock = nanoClock;
    this.ttlNanos = ttl.toNanos();
  }

  public boolean isCitusLoaded(Connection connection) throws SQLException {
    Detection current = detection;
    long now = nanoClock.getAsLong();
    if (current != null && now - current.detectedAtNanos < ttlNanos) {
      return current.loaded;
    }
    boolean loaded;
    try (PreparedStatement statement = connection.prepareStatement(IS_LOADED);
        ResultSet rs = statement.executeQuery()) {
      rs.next();
      loaded = rs.getBoolean(1);
    }
    detection = new Detection(loaded, now);
    return loaded;
  }

  /** Forgets the cached detection; the next call asks the database again. */
  public void invalidate() {
    detection = null;
  }

  public TablePlacement placement(Connection connection, String schema, String table)
      throws SQLException {
    if (!isCitusLoaded(connection)) {
      return TablePlacement.local();
    }
    try (PreparedStatement statement = connection.prepareStatement(PLACEMENT)) {
      statement.setString(1, SqlIdentifiers.qualified(schema, table));
      try (ResultSet rs = statement.executeQuery()) {
        if (!rs.next()) {
          return TablePlacement.local();
        }
        String method = rs.getString(1);
        String replicationModel = rs.getString(2);
        long colocationId = rs.getLong(3);
        Optional<String> column = Optional.ofNullable(rs.getString(4));
        if (!"n".equals(method)) {
          return TablePlacement.distributed(column);
        }
        if ("t".equals(replicationModel)) {
          return TablePlacement.reference();
        }
        return colocationId == 0 ? TablePlacement.local() : TablePlacement.distributed(column);
      }
    }
  }

  /** Every node in pg_dist_node (the coordinator too, when it is registered), by node id. */
  public List<CitusNode> nodes(Connection connection) throws SQLException {
    if (!isCitusLoaded(connection)) {
      return List.of();
    }
    List<CitusNode> nodes = new ArrayList<>();
    try (PreparedStatement statement = connection.prepareStatement(NODES + " ORDER BY nodeid");
        ResultSet rs = statement.executeQuery()) {
      while (rs.next()) {
        nodes.add(node(rs));
      }
    }
    return nodes;
  }

  /** The primary nodes outside the coordinator's group. */
  public List<CitusNode> workerNodes(Connection connection) throws SQLException {
    return nodes(connection).stream()
        .filter(n -> !n.isCoordinator() && "primary".equals(n.role()))
        .toList();
  }

  /** The nodes that hold shards (or, for a reference table, replicas) of the table. */
  public List<ShardPlacement> shardPlacements(Connection connection, String schema, String table)
      throws SQLException {
    if (!isCitusLoaded(connection)) {
      return List.of();
    }
    List<ShardPlacement> placements = new ArrayList<>();
    try (PreparedStatement statement = connection.prepareStatement(SHARD_PLACEMENTS)) {
      statement.setString(1, SqlIdentifiers.qualified(schema, table));
      try (ResultSet rs = statement.executeQuery()) {
        while (rs.next()) {
          placements.add(new ShardPlacement(node(rs), List.of((Long[]) rs.getArray(8).getArray())));
        }
      }
    }
    return placements;
  }

  private static CitusNode node(ResultSet rs) throws SQLException {
    return new CitusNode(
        rs.getInt(1),
        rs.getInt(2),
        rs.getString(3),
        rs.getInt(4),
        rs.getString(5),
        rs.getBoolean(6),
        rs.getBoolean(7));
  }

  private record Detection(boolean loaded, long detectedAtNanos) {}
}
