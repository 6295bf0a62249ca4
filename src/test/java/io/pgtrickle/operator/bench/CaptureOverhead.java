package io.pgtrickle.operator.bench;

import io.pgtrickle.operator.api.StreamTableSpec;
import io.pgtrickle.operator.embedded.EmbeddedPostgresServer;
import io.pgtrickle.operator.engine.StreamTableDefinition;
import io.pgtrickle.operator.engine.StreamTableEngine;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Harness: write time on a source with and without trigger capture. 100k rows inserted in batches
 * of 1,000 (one INSERT statement per batch), then 10k single-row UPDATEs (one statement each, in
 * autocommit). Rounds alternate which table goes first; the median is reported. Goal: capture costs
 * at most 1.5x the uncaptured time. Run: ./mvnw -q -Pbench test-compile exec:exec
 * -Dbench.main=io.pgtrickle.operator.bench.CaptureOverhead -Dbench.args=5
 */
public final class CaptureOverhead {
  private CaptureOverhead() {}

  public static void main(String[] args) throws Exception {
    int rounds = args.length > 0 && !args[0].isEmpty() ? Integer.parseInt(args[0]) : 5;
    // "durable": fsync, synchronous_commit and full_page_writes on, as in production; the
    // default embedded server turns them off, which makes writes CPU-bound.
    String mode = args.length > 1 ? args[1] : "";
    boolean durable = mode.contains("durable");
    // "wal": the stream table captures through a logical replication slot instead of triggers.
    boolean wal = mode.contains("wal");
    Map<String, String> settings =
        durable
            ? Map.of("fsync", "on", "synchronous_commit", "on", "full_page_writes", "on")
            : Map.of();
    System.out.println(
        (durable ? "durable settings" : "embedded defaults (fsync off)")
            + (wal ? ", WAL capture" : ", trigger capture"));
    try (EmbeddedPostgresServer server = EmbeddedPostgresServer.start(settings)) {
      StreamTableEngine engine = new StreamTableEngine(server.dataSource("postgres"));
      engine.migrateCatalog();
      List<Long> plainInserts = new ArrayList<>();
      List<Long> capturedInserts = new ArrayList<>();
      List<Long> plainUpdates = new ArrayList<>();
      List<Long> capturedUpdates = new ArrayList<>();
      try (Connection connection = server.dataSource("postgres").getConnection()) {
        for (int round = 0; round < rounds; round++) {
          reset(connection, engine, wal);
          boolean plainFirst = round % 2 == 0;
          for (String table :
              plainFirst ? List.of("plain", "captured") : List.of("captured", "plain")) {
            long inserts = inserts(connection, table);
            long updates = updates(connection, table);
            (table.equals("plain") ? plainInserts : capturedInserts).add(inserts);
            (table.equals("plain") ? plainUpdates : capturedUpdates).add(updates);
          }
        }
      }
      report("100k rows, INSERT in batches of 1,000", plainInserts, capturedInserts);
      report("10k single-row UPDATEs", plainUpdates, capturedUpdates);
    }
  }

  private static void reset(Connection connection, StreamTableEngine engine, boolean wal)
      throws Exception {
    engine.drop("public", "captured_st", "bench");
    try (Statement statement = connection.createStatement()) {
      statement.execute("DROP TABLE IF EXISTS plain, captured");
      for (String table : List.of("plain", "captured")) {
        statement.execute(
            "CREATE TABLE "
                + table
                + " (id bigint PRIMARY KEY, customer int, amount numeric(12,2), note text,"
                + " created timestamptz DEFAULT now())");
      }
      statement.execute("CHECKPOINT");
    }
    StreamTableSpec spec = new StreamTableSpec();
    spec.setName("captured_st");
    spec.setQuery("SELECT count(*) AS n FROM captured");
    spec.setSchedule("1h");
    if (wal) {
      spec.setCdcMode(io.pgtrickle.operator.api.CdcModeSpec.WAL);
      try (Statement statement = connection.createStatement()) {
        statement.execute("ALTER TABLE captured REPLICA IDENTITY FULL");
      }
    }
    engine.apply(StreamTableDefinition.from(spec), "bench");
  }

  private static long inserts(Connection connection, String table) throws Exception {
    long started = System.nanoTime();
    try (PreparedStatement insert =
        connection.prepareStatement(
            "INSERT INTO "
                + table
                + " (id, customer, amount, note) SELECT g, g % 1000, g * 0.01, 'note ' || g"
                + " FROM generate_series(?::bigint, ?::bigint) g")) {
      for (int batch = 0; batch < 100; batch++) {
        insert.setLong(1, batch * 1000L + 1);
        insert.setLong(2, batch * 1000L + 1000);
        insert.executeUpdate();
      }
    }
    return System.nanoTime() - started;
  }

  private static long updates(Connection connection, String table) throws Exception {
    long started = System.nanoTime();
    try (PreparedStatement update =
        connection.prepareStatement("UPDATE " + table + " SET amount = amount + 1 WHERE id = ?")) {
      for (int i = 0; i < 10_000; i++) {
        update.setLong(1, 1 + (i * 7919L) % 100_000);
        update.executeUpdate();
      }
    }
    return System.nanoTime() - started;
  }

  private static void report(String what, List<Long> plain, List<Long> captured) {
    double plainMs = median(plain) / 1e6;
    double capturedMs = median(captured) / 1e6;
    System.out.printf(
        Locale.ROOT,
        "%-40s without capture %8.1f ms   with capture %8.1f ms   ratio %.2fx   (median of %d)%n",
        what,
        plainMs,
        capturedMs,
        capturedMs / plainMs,
        plain.size());
  }

  private static double median(List<Long> values) {
    List<Long> sorted = new ArrayList<>(values);
    Collections.sort(sorted);
    return sorted.get(sorted.size() / 2);
  }
}
