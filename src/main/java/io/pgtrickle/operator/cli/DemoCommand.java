package io.pgtrickle.operator.cli;

import io.pgtrickle.operator.api.NodeFrontier;
import io.pgtrickle.operator.api.SourceStatus;
import io.pgtrickle.operator.api.StreamTable;
import io.pgtrickle.operator.api.StreamTableStatus;
import io.pgtrickle.operator.db.DatabaseTarget;
import io.pgtrickle.operator.embedded.EmbeddedPostgresServer;
import io.pgtrickle.operator.local.LocalReconciler;
import io.pgtrickle.operator.local.ManifestReader;
import io.pgtrickle.operator.local.Manifests;
import io.pgtrickle.operator.local.StatusPrinter;
import io.pgtrickle.operator.local.TargetResolver;
import io.pgtrickle.operator.status.Conditions;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code demo}: a self-contained tour on an embedded PostgreSQL. Creates the sample tables, applies
 * the example manifests (the same files as manifests/examples/), writes to the sources, refreshes
 * and shows the frontiers advance and the stream tables stay equal to their queries.
 */
@Command(
    name = "demo",
    mixinStandardHelpOptions = true,
    description =
        "Runs a self-contained demonstration on an embedded PostgreSQL using the example"
            + " manifests.")
final class DemoCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  private PrintWriter out;

  @Override
  public Integer call() throws Exception {
    out = spec.commandLine().getOut();
    say("Starting an embedded PostgreSQL server (wal_level=logical)...");
    try (EmbeddedPostgresServer server = EmbeddedPostgresServer.start()) {
      String url = server.jdbcUrl("postgres");
      try (Connection connection = server.dataSource("postgres").getConnection()) {
        say(
            "PostgreSQL "
                + scalar(connection, "SHOW server_version")
                + " on port "
                + server.port());
        run(connection, resource("examples/sample-schema.sql"));
        say(
            "Created sample tables: customers ("
                + scalar(connection, "SELECT count(*) FROM customers")
                + " rows) and orders ("
                + scalar(connection, "SELECT count(*) FROM orders")
                + " rows).");
        Manifests manifests = exampleManifests();
        try (TargetResolver targets =
            new TargetResolver(
                manifests,
                Optional.of(url),
                Map.of("PGUSER", EmbeddedPostgresServer.SUPERUSER),
                DatabaseTarget::embedded)) {
          LocalReconciler reconciler = new LocalReconciler(manifests, targets, Clock.systemUTC());
          say("");
          say("Step 1. Apply the example StreamTables (manifests/examples/):");
          reconciler.reconcileClusters();
          reconciler.reconcileStreamTables(false);
          describe(manifests, reconciler, connection);

          say("");
          say("Step 2. Write to the sources: 40 new orders, a customer moves region, and the");
          say("        smallest 20 orders are deleted. Capture triggers buffer every change.");
          run(
              connection,
              "INSERT INTO orders (customer_id, amount) SELECT 1 + g % 5, 100 + g * 20"
                  + " FROM generate_series(1, 40) g;"
                  + " UPDATE customers SET region = 'apac' WHERE id = 3;"
                  + " DELETE FROM orders WHERE id IN"
                  + " (SELECT id FROM orders ORDER BY amount, id LIMIT 20);");
          say(
              "        Changes waiting in the buffers: "
                  + scalar(
                      connection,
                      "SELECT sum(n) FROM (SELECT count(*) AS n FROM pgtrickle_changes."
                          + "changes_"
                          + stableNameOf(connection, "orders")
                          + " UNION ALL SELECT count(*) FROM pgtrickle_changes.changes_"
                          + stableNameOf(connection, "customers")
                          + ") b"));

          say("");
          say("Step 3. Refresh: each stream table applies the changes once and its frontier");
          say("        advances in the same transaction.");
          reconciler.refreshAll();
          describe(manifests, reconciler, connection);

          say("");
          say("Step 4. Nothing new was written, so a second refresh applies nothing:");
          reconciler.refreshAll();
          for (StreamTable streamTable : manifests.streamTables()) {
            StreamTableStatus status = reconciler.status(streamTable);
            say(
                "        "
                    + status.getStorageTable()
                    + ": last refresh still at "
                    + status.getLastRefresh().getTime());
          }

          say("");
          say("Their status, as `kubectl get streamtable -o yaml` will show it:");
          out.println();
          StatusPrinter printer = new StatusPrinter(out);
          boolean allReady = true;
          for (StreamTable streamTable : manifests.streamTables()) {
            printer.print(streamTable, reconciler.status(streamTable));
            allReady &= reconciler.isReady(streamTable);
          }
          say("");
          say(allReady ? "Demo complete: every stream table is Ready." : "Demo FAILED.");
          return allReady ? 0 : 1;
        }
      }
    }
  }

  private void describe(Manifests manifests, LocalReconciler reconciler, Connection connection)
      throws SQLException {
    for (StreamTable streamTable : manifests.streamTables()) {
      StreamTableStatus status = reconciler.status(streamTable);
      String ready =
          Conditions.find(status.getConditions(), Conditions.READY)
              .map(c -> c.getStatus() + " (" + c.getReason() + ")")
              .orElse("unknown");
      say("  " + streamTable.getMetadata().getName() + " -> " + status.getStorageTable());
      say("    Ready: " + ready);
      if (status.getLastRefresh() != null) {
        say(
            "    last refresh: "
                + status.getLastRefresh().getMode()
                + ", "
                + status.getLastRefresh().getRowsChanged()
                + " rows changed in "
                + status.getLastRefresh().getDurationMillis()
                + " ms");
      }
      for (SourceStatus source : status.getSources()) {
        for (NodeFrontier node : source.getFrontier()) {
          say(
              "    frontier of "
                  + source.getTable()
                  + " (stable name "
                  + source.getStableName()
                  + ") on "
                  + node.getNode()
                  + ": LSN "
                  + node.getLsn()
                  + ", lag "
                  + node.getLagBytes()
                  + " bytes");
        }
      }
      String query = streamTable.getSpec().getQuery();
      say(
          "    rows: "
              + scalar(connection, "SELECT count(*) FROM " + status.getStorageTable())
              + ", equal to its query: "
              + (matches(connection, status.getStorageTable(), query) ? "yes" : "NO"));
    }
  }

  /** Whether the table's own columns (not the operator's pgt_ ones) equal the query's rows. */
  private static boolean matches(Connection connection, String table, String query)
      throws SQLException {
    String columns =
        scalar(
            connection,
            "SELECT string_agg('s.' || quote_ident(attname), ', ' ORDER BY attnum)"
                + " FROM pg_attribute WHERE attrelid = '"
                + table
                + "'::regclass AND attnum > 0 AND NOT attisdropped"
                + " AND attname NOT LIKE 'pgt\\_%'");
    String stored = "SELECT ROW(" + columns + ")::text FROM " + table + " s";
    String sql =
        "SELECT (SELECT count(*) FROM (SELECT ROW(q.*)::text FROM ("
            + query
            + ") q EXCEPT ALL "
            + stored
            + ") a) + (SELECT count(*) FROM ("
            + stored
            + " EXCEPT ALL SELECT ROW(q.*)::text FROM ("
            + query
            + ") q) b)";
    return "0".equals(scalar(connection, sql));
  }

  private static String stableNameOf(Connection connection, String table) throws SQLException {
    return scalar(
        connection,
        "SELECT source_stable_name FROM pgtrickle.pgt_change_tracking WHERE source_table = '"
            + table
            + "'");
  }

  private static Manifests exampleManifests() throws IOException, URISyntaxException {
    URI uri = DemoCommand.class.getResource("/examples").toURI();
    if ("jar".equals(uri.getScheme())) {
      try (FileSystem jar = FileSystems.newFileSystem(uri, Map.of())) {
        return readAll(jar.getPath("/examples"));
      }
    }
    return readAll(Path.of(uri));
  }

  private static Manifests readAll(Path directory) throws IOException {
    try (Stream<Path> files = Files.list(directory)) {
      List<Path> yaml = files.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
      return new ManifestReader().read(yaml);
    }
  }

  private static String resource(String name) throws IOException {
    try (InputStream in = DemoCommand.class.getClassLoader().getResourceAsStream(name)) {
      if (in == null) {
        throw new IOException("resource " + name + " is missing from the jar");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
  }

  private static void run(Connection connection, String sql) throws SQLException {
    try (Statement statement = connection.createStatement()) {
      statement.execute(sql);
    }
  }

  private static String scalar(Connection connection, String sql) throws SQLException {
    try (Statement statement = connection.createStatement();
        ResultSet rs = statement.executeQuery(sql)) {
      rs.next();
      return rs.getString(1);
    }
  }

  private void say(String line) {
    out.println(line);
    out.flush();
  }
}
