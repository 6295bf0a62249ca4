package io.pgtrickle.operator.testing;

import io.pgtrickle.operator.embedded.PostgresServer;
import io.pgtrickle.operator.naming.ObjectNames;
import io.pgtrickle.operator.naming.QualifiedTable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * A real Citus cluster, a coordinator and two workers, started from the PostgreSQL bin directory
 * named by {@code PGTRICKLE_TEST_CITUS_BINDIR}. Tests marked {@link RequiresCitus} are reported as
 * skipped, with the reason, when the variable is unset or names no Citus-enabled installation.
 */
public final class CitusTestCluster implements AutoCloseable {
  public static final String BINDIR_VARIABLE = "PGTRICKLE_TEST_CITUS_BINDIR";
  public static final String DATABASE = "postgres";

  private static final Map<String, String> SETTINGS =
      Map.of(
          "shared_preload_libraries", "citus",
          "wal_level", "logical",
          "max_replication_slots", "32",
          "max_wal_senders", "32",
          "fsync", "off",
          "citus.enable_change_data_capture", "on",
          "dynamic_library_path", "$libdir/citus_decoders:$libdir");

  private static CitusTestCluster shared;

  private final PostgresServer coordinator;
  private final List<PostgresServer> workers;

  private CitusTestCluster(PostgresServer coordinator, List<PostgresServer> workers) {
    this.coordinator = coordinator;
    this.workers = workers;
  }

  /** The object names of a source table in the public schema of the test database. */
  public static ObjectNames sourceNames(String table) {
    return ObjectNames.of(new QualifiedTable(DATABASE, "public", table));
  }

  /** How many of a source's replication slots {@code node} holds (0 or 1). */
  public static long slots(TestDatabase node, ObjectNames names) throws SQLException {
    return node.queryLong(
        "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '"
            + names.replicationSlot()
            + "'");
  }

  /** Why Citus tests cannot run here, or empty when they can. */
  public static Optional<String> unavailableReason() {
    String bindir = System.getenv(BINDIR_VARIABLE);
    if (bindir == null || bindir.isBlank()) {
      return Optional.of(
          BINDIR_VARIABLE + " is not set: Citus tests need a PostgreSQL bin directory with Citus");
    }
    Path binDir = Path.of(bindir);
    Path pgConfig = binDir.resolve("pg_config");
    if (!Files.isExecutable(pgConfig)) {
      return Optional.of(
          BINDIR_VARIABLE + "=" + bindir + " has no pg_config to locate the Citus extension");
    }
    Path control = citusControlFile(pgConfig);
    if (!Files.exists(control)) {
      return Optional.of(
          BINDIR_VARIABLE + "=" + bindir + " has no Citus extension (" + control + " missing)");
    }
    return Optional.empty();
  }

  /** The cluster, started on first use. Call only from tests marked {@link RequiresCitus}. */
  public static synchronized CitusTestCluster shared() {
    unavailableReason()
        .ifPresent(
            reason -> {
              throw new IllegalStateException(reason);
            });
    if (shared == null) {
      shared = start(Path.of(System.getenv(BINDIR_VARIABLE)));
      Runtime.getRuntime().addShutdownHook(new Thread(shared::close, "stop-citus-cluster"));
    }
    return shared;
  }

  /**
   * A cluster of its own, not the shared one, for a test that needs fresh nodes (a restore target);
   * the caller closes it. Call only from tests marked {@link RequiresCitus}.
   */
  public static CitusTestCluster startNew() {
    unavailableReason()
        .ifPresent(
            reason -> {
              throw new IllegalStateException(reason);
            });
    return start(Path.of(System.getenv(BINDIR_VARIABLE)));
  }

  /** Stops every node and deletes its data directory. */
  @Override
  public void close() {
    workers.forEach(PostgresServer::close);
    coordinator.close();
  }

  public PostgresServer coordinator() {
    return coordinator;
  }

  public List<PostgresServer> workers() {
    return workers;
  }

  /** Runs statements on the coordinator. */
  public void onCoordinator(String... sql) throws SQLException {
    try (Connection connection = coordinator.dataSource(DATABASE).getConnection();
        Statement statement = connection.createStatement()) {
      for (String each : sql) {
        statement.execute(each);
      }
    }
  }

  /**
   * Moves the first shard of a distributed table to another worker, as the rebalancer would
   * (block_writes: copied, not replicated logically).
   */
  public void moveOneShard(String table) throws SQLException {
    onCoordinator(
        "SELECT citus_move_shard_placement(p.shardid, n.nodename, n.nodeport, o.nodename,"
            + " o.nodeport, shard_transfer_mode := 'block_writes')"
            + " FROM pg_dist_shard s JOIN pg_dist_placement p USING (shardid)"
            + " JOIN pg_dist_node n ON n.groupid = p.groupid"
            + " JOIN pg_dist_node o ON o.groupid <> p.groupid AND o.groupid <> 0"
            + " WHERE s.logicalrelid = '"
            + table
            + "'::regclass ORDER BY s.shardid LIMIT 1");
  }

  private static CitusTestCluster start(Path binDir) {
    PostgresServer coordinator = InstalledPostgresServer.start(binDir, SETTINGS);
    List<PostgresServer> workers =
        List.of(
            InstalledPostgresServer.start(binDir, SETTINGS),
            InstalledPostgresServer.start(binDir, SETTINGS));
    CitusTestCluster cluster = new CitusTestCluster(coordinator, workers);
    try {
      for (PostgresServer server : cluster.allServers()) {
        try (Connection connection = server.dataSource(DATABASE).getConnection();
            Statement statement = connection.createStatement()) {
          statement.execute("CREATE EXTENSION IF NOT EXISTS citus");
        }
      }
      cluster.onCoordinator(
          "SELECT citus_set_coordinator_host('127.0.0.1', " + coordinator.port() + ")");
      for (PostgresServer worker : workers) {
        cluster.onCoordinator("SELECT citus_add_node('127.0.0.1', " + worker.port() + ")");
      }
    } catch (SQLException e) {
      cluster.close();
      throw new IllegalStateException("could not form the Citus test cluster", e);
    }
    return cluster;
  }

  private List<PostgresServer> allServers() {
    return Stream.concat(Stream.of(coordinator), workers.stream()).toList();
  }

  /** citus.control under the installation's share directory, as its pg_config reports it. */
  private static Path citusControlFile(Path pgConfig) {
    try {
      Process process = new ProcessBuilder(pgConfig.toString(), "--sharedir").start();
      String shareDir =
          new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
      process.waitFor();
      return Path.of(shareDir, "extension", "citus.control");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
