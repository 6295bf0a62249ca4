package io.pgtrickle.operator.bench;

import io.pgtrickle.operator.api.RefreshMode;
import io.pgtrickle.operator.api.StreamTableSpec;
import io.pgtrickle.operator.engine.EngineException;
import io.pgtrickle.operator.engine.RefreshOutcome;
import io.pgtrickle.operator.engine.StreamTableDefinition;
import io.pgtrickle.operator.engine.StreamTableEngine;
import io.pgtrickle.operator.testing.StreamTableAssertions;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What the refresh harnesses share: server settings from the option words, a timed refresh with the
 * mode that actually ran (read back from the catalog), the exactness check and medians.
 */
public final class BenchSupport {
  private BenchSupport() {}

  /**
   * Server settings for the option words (comma-separated): {@code durable} turns fsync,
   * synchronous_commit and full_page_writes back on; {@code log} logs every statement with its
   * duration, {@code explain} the plan of every statement of 1 ms or more with EXPLAIN ANALYZE's
   * figures (auto_explain; not the capture triggers' statements), both to files under
   * target/bench-logs, to see where a refresh spends its time (they slow the run); {@code
   * pg.<setting>=<value>} sets any server setting.
   */
  public static Map<String, String> settings(String options, Map<String, String> base)
      throws Exception {
    Map<String, String> settings = new HashMap<>(base);
    if (hasWord(options, "wal")) {
      settings.put("wal_level", "logical");
      settings.put("max_replication_slots", "16");
      settings.put("max_wal_senders", "16");
    }
    if (options.contains("durable")) {
      settings.put("fsync", "on");
      settings.put("synchronous_commit", "on");
      settings.put("full_page_writes", "on");
    }
    // pg.<setting>=<value>: any server setting, e.g. pg.random_page_cost=1.1 (to try a planner
    // change without touching the engine).
    for (String word : options.split(",", -1)) {
      if (word.startsWith("pg.") && word.contains("=")) {
        settings.put(word.substring(3, word.indexOf('=')), word.substring(word.indexOf('=') + 1));
      }
    }
    if (options.contains("explain") || options.contains("log")) {
      Path logs = Path.of("target", "bench-logs").toAbsolutePath();
      Files.createDirectories(logs);
      settings.put("logging_collector", "on");
      settings.put("log_directory", logs.toString());
      settings.put("log_filename", "postgresql-%Y%m%d-%H%M%S.log");
      settings.put("log_line_prefix", "%m|%p|");
      System.out.println("server log (statements and plans) under " + logs);
    }
    if (options.contains("log")) {
      settings.put("log_min_duration_statement", "0");
    }
    if (options.contains("explain")) {
      settings.put("session_preload_libraries", "auto_explain");
      settings.put("auto_explain.log_min_duration", "1");
      settings.put("auto_explain.log_analyze", "on");
      settings.put("auto_explain.log_buffers", "on");
      settings.put("auto_explain.log_timing", "on");
    }
    return settings;
  }

  public static String describe(String options) {
    return options.contains("durable")
        ? "durable settings (fsync, synchronous_commit, full_page_writes on)"
        : "embedded defaults (fsync off)";
  }

  public static StreamTableDefinition definition(String name, String query, RefreshMode mode)
      throws EngineException {
    return definition(name, query, mode, false);
  }

  /** As above; with {@code wal}, its sources are captured from the WAL instead of by triggers. */
  public static StreamTableDefinition definition(
      String name, String query, RefreshMode mode, boolean wal) throws EngineException {
    StreamTableSpec spec = new StreamTableSpec();
    if (wal) {
      spec.setCdcMode(io.pgtrickle.operator.api.CdcModeSpec.WAL);
    }
    spec.setName(name);
    spec.setQuery(query);
    spec.setSchedule("1h");
    spec.setRefreshMode(mode);
    return StreamTableDefinition.from(spec);
  }

  /**
   * Warms the JVM as a running operator is warm: {@code refreshes} one-row differential refreshes
   * of a filter, a join and an aggregate over a small table of their own (dropped after), so that
   * the engine's, the parser's and the driver's code is compiled before anything is timed. A fresh
   * JVM's first differential refreshes are 3-10x slower than its hundredth.
   */
  public static void warmUpJvm(StreamTableEngine engine, Connection connection, int refreshes)
      throws Exception {
    long started = System.nanoTime();
    try (Statement statement = connection.createStatement()) {
      statement.execute(
          "CREATE TABLE warm_dim (id int PRIMARY KEY, name text NOT NULL);"
              + " INSERT INTO warm_dim SELECT g, 'd' || g FROM generate_series(1, 100) g;"
              + " CREATE TABLE warm_src (id int PRIMARY KEY, k int NOT NULL REFERENCES warm_dim,"
              + " v numeric(12,2) NOT NULL);"
              + " INSERT INTO warm_src SELECT g, 1 + g % 100, g FROM generate_series(1, 10000) g;"
              + " CREATE INDEX ON warm_src (k); ANALYZE warm_dim, warm_src");
      Map<String, String> queries =
          Map.of(
              "warm_filter", "SELECT id, v FROM warm_src WHERE v > 10",
              "warm_join", "SELECT s.id, s.v, d.name FROM warm_src s JOIN warm_dim d ON d.id = s.k",
              "warm_aggregate",
                  "SELECT k, count(*) AS n, sum(v) AS total, avg(v) AS mean FROM warm_src"
                      + " GROUP BY k");
      for (Map.Entry<String, String> query : queries.entrySet()) {
        engine.apply(
            definition(query.getKey(), query.getValue(), RefreshMode.DIFFERENTIAL), "bench");
      }
      for (int i = 0; i < refreshes; i++) {
        statement.executeUpdate(
            "UPDATE warm_src SET v = v + 1 WHERE id = " + (1 + (i * 7919L) % 10000));
        for (String name : queries.keySet()) {
          engine.refresh("public", name);
        }
      }
      for (Map.Entry<String, String> query : queries.entrySet()) {
        verify(connection, query.getKey(), query.getValue());
        engine.drop("public", query.getKey(), "bench");
      }
      statement.execute("DROP TABLE warm_src, warm_dim");
    }
    System.out.printf(
        Locale.ROOT,
        "JVM warmed up: %d one-row differential refreshes of 3 stream tables in %.1f s%n",
        refreshes,
        (System.nanoTime() - started) / 1e9);
  }

  /** One timed refresh: wall time around {@code engine.refresh}, and what the catalog recorded. */
  public record Timed(
      long nanos, RefreshOutcome outcome, String mode, String reason, long catalogMs) {
    public double millis() {
      return nanos / 1e6;
    }
  }

  public static Timed refresh(StreamTableEngine engine, Connection connection, String name)
      throws Exception {
    long started = System.nanoTime();
    RefreshOutcome outcome = engine.refresh("public", name);
    long nanos = System.nanoTime() - started;
    if (outcome.kind() != RefreshOutcome.Kind.APPLIED) {
      throw new IllegalStateException(name + ": the refresh did not apply a change: " + outcome);
    }
    try (PreparedStatement statement =
        connection.prepareStatement(
            "SELECT last_refresh_mode, last_refresh_reason, last_refresh_ms"
                + " FROM pgtrickle.pgt_stream_tables WHERE st_schema = 'public' AND st_name = ?")) {
      statement.setString(1, name);
      try (ResultSet rs = statement.executeQuery()) {
        rs.next();
        return new Timed(nanos, outcome, rs.getString(1), rs.getString(2), rs.getLong(3));
      }
    }
  }

  /** The stream table's differential blocker (null: it is differential) and storage flag. */
  public static String blocker(Connection connection, String name) throws SQLException {
    try (PreparedStatement statement =
        connection.prepareStatement(
            "SELECT differential_blocker FROM pgtrickle.pgt_stream_tables"
                + " WHERE st_schema = 'public' AND st_name = ?")) {
      statement.setString(1, name);
      try (ResultSet rs = statement.executeQuery()) {
        rs.next();
        return rs.getString(1);
      }
    }
  }

  /** Fails unless the stream table equals its query (multiset, both directions). */
  public static void verify(Connection connection, String name, String query) throws SQLException {
    long differences = StreamTableAssertions.differences(connection, "public." + name, query);
    if (differences != 0) {
      throw new IllegalStateException(
          name + ": " + differences + " rows differ between the stream table and its query");
    }
  }

  /**
   * The query's result now, materialized once in a temp table on the caller's connection, so that
   * several stream tables over the same query are each checked against it without running the query
   * again for each (the sources do not change in between). Returns the query over it, for {@link
   * #verify}; drop it with {@link #dropExpected}.
   */
  public static String expected(Statement statement, String query) throws SQLException {
    statement.execute("DROP TABLE IF EXISTS pg_temp.bench_expected");
    statement.execute("CREATE TEMP TABLE bench_expected AS " + query);
    return "SELECT * FROM pg_temp.bench_expected";
  }

  public static void dropExpected(Statement statement) throws SQLException {
    statement.execute("DROP TABLE IF EXISTS pg_temp.bench_expected");
  }

  /** A {@code name=value} option word as a number, else {@code fallback}. */
  public static long option(String options, String name, long fallback) {
    String text = optionText(options, name, "");
    return text.isEmpty() ? fallback : Long.parseLong(text);
  }

  /**
   * A {@code name=value} option word's value, else {@code fallback}. Words are separated by commas;
   * a value runs to the next word that has an {@code =} or is a known flag, so {@code
   * only=filter,join,durable} reads {@code filter,join}.
   */
  public static String optionText(String options, String name, String fallback) {
    List<String> words = List.of(options.split(",", -1));
    for (int i = 0; i < words.size(); i++) {
      if (words.get(i).startsWith(name + "=")) {
        StringBuilder value = new StringBuilder(words.get(i).substring(name.length() + 1));
        for (int j = i + 1; j < words.size() && !isOptionWord(words.get(j)); j++) {
          value.append(',').append(words.get(j));
        }
        return value.toString();
      }
    }
    return fallback;
  }

  private static boolean isOptionWord(String word) {
    return word.contains("=")
        || List.of("durable", "log", "explain", "verbose", "wal").contains(word);
  }

  public static String percent(double fraction) {
    return String.format(
        Locale.ROOT,
        "%s",
        new java.math.BigDecimal(fraction * 100)
            .round(new java.math.MathContext(3))
            .stripTrailingZeros()
            .toPlainString());
  }

  public static double percentileMillis(List<Long> nanos, double fraction) {
    List<Long> sorted = new ArrayList<>(nanos);
    Collections.sort(sorted);
    return sorted.get(Math.min(sorted.size() - 1, (int) (sorted.size() * fraction))) / 1e6;
  }

  public static double medianMillis(List<Long> nanos) {
    List<Long> sorted = new ArrayList<>(nanos);
    Collections.sort(sorted);
    int n = sorted.size();
    double middle =
        n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2.0;
    return middle / 1e6;
  }

  /** The modes that ran, as "DIFFERENTIAL" or "FULL×2, DIFFERENTIAL×3". */
  public static String modes(List<String> modes) {
    Map<String, Integer> counts = new java.util.TreeMap<>();
    for (String mode : modes) {
      counts.merge(mode, 1, Integer::sum);
    }
    if (counts.size() == 1) {
      return counts.keySet().iterator().next();
    }
    List<String> parts = new ArrayList<>();
    counts.forEach((mode, count) -> parts.add(mode + "x" + count));
    return String.join("+", parts);
  }

  public static String ms(double millis) {
    return millis >= 100
        ? String.format(Locale.ROOT, "%.0f", millis)
        : String.format(Locale.ROOT, "%.1f", millis);
  }

  /** Whether the comma-separated options hold {@code word} itself. */
  public static boolean hasWord(String options, String word) {
    return List.of(options.split(",", -1)).contains(word);
  }
}
