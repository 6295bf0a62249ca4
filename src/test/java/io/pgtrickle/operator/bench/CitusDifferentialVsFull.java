package io.pgtrickle.operator.bench;

import io.pgtrickle.operator.api.PlacementMode;
import io.pgtrickle.operator.api.RefreshMode;
import io.pgtrickle.operator.api.StreamTableSpec;
import io.pgtrickle.operator.db.DatabaseTarget;
import io.pgtrickle.operator.embedded.PostgresServer;
import io.pgtrickle.operator.engine.EngineException;
import io.pgtrickle.operator.engine.RefreshOutcome;
import io.pgtrickle.operator.engine.RefreshScheduler;
import io.pgtrickle.operator.engine.StreamTableDefinition;
import io.pgtrickle.operator.engine.StreamTableEngine;
import io.pgtrickle.operator.testing.CitusTestCluster;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * Harness (issue 11, item 4): DIFFERENTIAL against FULL refresh, and commit-to-visible freshness,
 * on a real Citus coordinator and two workers ({@link CitusTestCluster}, from the PostgreSQL bin
 * directory in {@code PGTRICKLE_TEST_CITUS_BINDIR}; without it the harness says why and exits 2).
 *
 * <p>Schema: {@code sales(tenant_id, id, product_id, qty, amount)}, 1M rows, distributed on {@code
 * tenant_id} (64 tenants over Citus' 32 default shards, so both workers hold rows), REPLICA
 * IDENTITY FULL; {@code products(id, category)}, 1,000 rows in 20 categories, a reference table.
 * Stream tables, engine as local mode and the operator make it ({@link DatabaseTarget}, a pool on
 * the coordinator, workers reached at pg_dist_node's addresses):
 *
 * <ul>
 *   <li>(a) {@code SELECT product_id, count(*), sum(amount) FROM sales GROUP BY product_id}, FULL
 *       and DIFFERENTIAL, each in placement auto (distributed storage) and local;
 *   <li>(b) {@code sales} joined with {@code products}, grouped by category: FULL and DIFFERENTIAL
 *       (behind the write barrier, held until the refresh commits).
 * </ul>
 *
 * <p>Each round changes {@code sales} through the coordinator (one row, routed to one worker by its
 * tenant; or 0.1% of the rows, every 1000th id, in one UPDATE routed to both workers), refreshes
 * the six stream tables (rotating which goes first: the first refresh after a change also drains
 * the workers' slots into the buffer), checks each against its query (the query's result
 * materialized once per round) and reads back the mode that ran. Medians over the rounds (+1
 * warm-up round per change). Then a series of one-row DIFFERENTIAL refreshes of (a) (default 30,
 * checked at the end), median and p90.
 *
 * <p>Freshness: (a)'s two DIFFERENTIAL stream tables scheduled every 1 s by the engine's {@link
 * RefreshScheduler} (as local mode and the operator schedule them), while the harness commits
 * single-row inserts through the coordinator (default 200, one every 100-300 ms, tenants spread
 * over both workers), each into a product id of its own; a poller reads both stream tables every
 * few ms (default 20) and records when each product first appears. Commit-to-visible = first poll
 * that saw it (its start) minus the return of the insert's commit.
 *
 * <p>The servers run with CitusTestCluster's settings (fsync off); the JVM is warmed first as in
 * the other harnesses. Server logs are copied to target/bench-logs/ before the cluster stops.
 *
 * <p>Run: PGTRICKLE_TEST_CITUS_BINDIR=/usr/lib/postgresql/15/bin ./mvnw -q -Pbench test-compile
 * exec:exec -Dbench.main=io.pgtrickle.operator.bench.CitusDifferentialVsFull -Dbench.args=5
 * [-Dbench.args2=verbose,log,rows=N,warmup=N,series=N,inserts=N,poll=MS]
 */
public final class CitusDifferentialVsFull {
  private static final String OWNER = "bench";
  private static final String QUERY_A =
      "SELECT product_id, count(*) AS n, sum(amount) AS total FROM sales GROUP BY product_id";
  private static final String QUERY_B =
      "SELECT p.category, count(*) AS n, sum(s.amount) AS total FROM sales s"
          + " JOIN products p ON p.id = s.product_id GROUP BY p.category";
  private static final int TENANTS = 64;
  private static final long FRESH_PRODUCT = 1_000_000L;

  private record Table(String name, String label, String query, RefreshMode mode, PlacementMode p) {
    String expected() {
      return query.equals(QUERY_A)
          ? "SELECT * FROM pg_temp.bench_expected_a"
          : "SELECT * FROM pg_temp.bench_expected_b";
    }
  }

  private record Change(String label, String sqlTemplate) {}

  private record Timed(
      long nanos, String mode, String reason, long rowsChanged, int empty, long catalogMs) {}

  private CitusDifferentialVsFull() {}

  public static void main(String[] args) throws Exception {
    Optional<String> unavailable = CitusTestCluster.unavailableReason();
    if (unavailable.isPresent()) {
      System.err.println("CitusDifferentialVsFull cannot run: " + unavailable.get());
      System.exit(2);
    }
    int rounds = args.length > 0 && !args[0].isEmpty() ? Integer.parseInt(args[0]) : 5;
    String options = args.length > 1 ? args[1] : "";
    long rows = BenchSupport.option(options, "rows", 1_000_000L);
    int series = (int) BenchSupport.option(options, "series", 30);
    int inserts = (int) BenchSupport.option(options, "inserts", 200);
    long pollMillis = BenchSupport.option(options, "poll", 20);
    boolean verbose = options.contains("verbose");
    System.out.printf(
        Locale.ROOT,
        "CitusDifferentialVsFull: coordinator + 2 workers (Citus, %s), %d-row distributed fact,"
            + " %d rounds (+1 warm-up per change); %d cores, load average %s%n",
        System.getenv(CitusTestCluster.BINDIR_VARIABLE),
        rows,
        rounds,
        Runtime.getRuntime().availableProcessors(),
        loadAverage());
    long started = System.nanoTime();
    CitusTestCluster cluster = CitusTestCluster.shared();
    System.out.printf(
        Locale.ROOT, "cluster started in %.1f s%n", (System.nanoTime() - started) / 1e9);
    List<String> summary = new ArrayList<>();
    try (DatabaseTarget target =
        DatabaseTarget.connect(
            cluster.coordinator().jdbcUrl(CitusTestCluster.DATABASE),
            PostgresServer.SUPERUSER,
            null,
            OWNER)) {
      StreamTableEngine engine = target.engine(Map.of());
      engine.migrateCatalog();
      try (Connection connection = target.dataSource().getConnection();
          Statement statement = connection.createStatement()) {
        BenchSupport.warmUpJvm(
            engine, connection, (int) BenchSupport.option(options, "warmup", 100));
        long t = System.nanoTime();
        load(statement, rows);
        String loaded =
            String.format(
                Locale.ROOT,
                "loaded %d rows into distributed sales (+1000 reference products) in %.1f s",
                rows,
                (System.nanoTime() - t) / 1e9);
        System.out.println(loaded);
        summary.add(loaded);

        List<Table> tables =
            List.of(
                new Table(
                    "a_full_dist",
                    "(a) aggregate, distributed storage",
                    QUERY_A,
                    RefreshMode.FULL,
                    PlacementMode.AUTO),
                new Table(
                    "a_diff_dist",
                    "(a) aggregate, distributed storage",
                    QUERY_A,
                    RefreshMode.DIFFERENTIAL,
                    PlacementMode.AUTO),
                new Table(
                    "a_full_local",
                    "(a) aggregate, local storage",
                    QUERY_A,
                    RefreshMode.FULL,
                    PlacementMode.LOCAL),
                new Table(
                    "a_diff_local",
                    "(a) aggregate, local storage",
                    QUERY_A,
                    RefreshMode.DIFFERENTIAL,
                    PlacementMode.LOCAL),
                new Table(
                    "b_full",
                    "(b) join with reference, aggregate",
                    QUERY_B,
                    RefreshMode.FULL,
                    PlacementMode.AUTO),
                new Table(
                    "b_diff",
                    "(b) join with reference, aggregate",
                    QUERY_B,
                    RefreshMode.DIFFERENTIAL,
                    PlacementMode.AUTO));
        t = System.nanoTime();
        for (Table table : tables) {
          engine.apply(definition(table.name(), table.query(), table.mode(), table.p()), OWNER);
        }
        System.out.printf(
            Locale.ROOT,
            "created the %d stream tables (initial FULL of each) in %.1f s%n",
            tables.size(),
            (System.nanoTime() - t) / 1e9);
        for (Table table : tables) {
          BenchSupport.verify(connection, table.name(), table.query());
          String line =
              String.format(
                  Locale.ROOT,
                  "  %-13s %-36s refreshMode %-12s placement %-5s -> storage %s",
                  table.name(),
                  table.label(),
                  table.mode(),
                  table.p().name().toLowerCase(Locale.ROOT),
                  storage(connection, table.name()));
          System.out.println(line);
          summary.add(line);
        }

        if (options.contains("log")) {
          logStatements(cluster);
        }
        List<Change> changes =
            List.of(
                new Change(
                    "1 row",
                    "UPDATE sales SET amount = amount + 1 WHERE tenant_id = %1$d AND id = %2$d"),
                // Every 997th id: about 0.1% of the rows, spread over the products (a product
                // is 1 + 7 * id mod 1000) and over every shard, so both workers.
                new Change(
                    "0.1% (" + rows / 997 + " rows)",
                    "UPDATE sales SET amount = amount + 1 WHERE id %% 997 = %3$d"));
        int round = 0;
        Map<String, Double> fullMedians = new LinkedHashMap<>();
        for (Change change : changes) {
          Map<String, List<Long>> nanos = new LinkedHashMap<>();
          Map<String, List<String>> modes = new LinkedHashMap<>();
          Map<String, List<Long>> recorded = new LinkedHashMap<>();
          Map<String, String> reasons = new LinkedHashMap<>();
          Map<String, Long> changed = new LinkedHashMap<>();
          int empty = 0;
          for (int r = 0; r <= rounds; r++) {
            round++;
            long id = 1 + (round * 7919L) % rows;
            int updated =
                statement.executeUpdate(
                    String.format(
                        Locale.ROOT,
                        change.sqlTemplate(),
                        id % TENANTS,
                        id,
                        (round * 37 + 3) % 997));
            if (updated == 0) {
              throw new IllegalStateException("the change touched no row");
            }
            expected(statement);
            List<Table> order = rotate(tables, r);
            for (Table table : order) {
              Timed timed = refresh(engine, connection, table.name());
              BenchSupport.verify(connection, table.name(), table.expected());
              if (verbose) {
                System.out.printf(
                    Locale.ROOT,
                    "  %s %s round %d: %.1f ms %s (%d rows) %s%n",
                    change.label(),
                    table.name(),
                    r,
                    timed.nanos() / 1e6,
                    timed.mode(),
                    timed.rowsChanged(),
                    timed.reason() == null ? "" : timed.reason());
              }
              if (r == 0) {
                continue;
              }
              empty += timed.empty();
              nanos.computeIfAbsent(table.name(), k -> new ArrayList<>()).add(timed.nanos());
              modes.computeIfAbsent(table.name(), k -> new ArrayList<>()).add(timed.mode());
              recorded
                  .computeIfAbsent(table.name(), k -> new ArrayList<>())
                  .add(timed.catalogMs() * 1_000_000L);
              changed.merge(table.name(), timed.rowsChanged(), Long::sum);
              if (timed.reason() != null) {
                reasons.put(table.name(), timed.reason());
              }
            }
            dropExpected(statement);
          }
          List<String[]> pairs =
              List.of(
                  new String[] {"a_full_dist", "a_diff_dist"},
                  new String[] {"a_full_local", "a_diff_local"},
                  new String[] {"b_full", "b_diff"});
          for (String[] pair : pairs) {
            double f = BenchSupport.medianMillis(nanos.get(pair[0]));
            double d = BenchSupport.medianMillis(nanos.get(pair[1]));
            Table other = tables.stream().filter(x -> x.name().equals(pair[1])).findFirst().get();
            String line =
                String.format(
                    Locale.ROOT,
                    "%-36s %-17s FULL %6s ms (ran %s)   %-12s %6s ms (ran %s)   speed-up %5.1fx"
                        + "   (median of %d; %d/%d storage rows changed in all; exact after every"
                        + " refresh)",
                    other.label(),
                    change.label(),
                    BenchSupport.ms(f),
                    BenchSupport.modes(modes.get(pair[0])),
                    other.mode(),
                    BenchSupport.ms(d),
                    BenchSupport.modes(modes.get(pair[1])),
                    f / d,
                    rounds,
                    changed.get(pair[0]),
                    changed.get(pair[1]));
            System.out.println(line);
            summary.add(line);
            String split =
                String.format(
                    Locale.ROOT,
                    "    of which in the refresh transaction (last_refresh_ms, median): FULL %s ms,"
                        + " %s %s ms; the rest is the checks and draining the nodes' slots",
                    BenchSupport.ms(BenchSupport.medianMillis(recorded.get(pair[0]))),
                    other.mode(),
                    BenchSupport.ms(BenchSupport.medianMillis(recorded.get(pair[1]))));
            System.out.println(split);
            summary.add(split);
            if (reasons.containsKey(pair[1])) {
              String why = "    " + pair[1] + " last reason: " + reasons.get(pair[1]);
              System.out.println(why);
              summary.add(why);
            }
            if (change.equals(changes.get(0))) {
              fullMedians.put(pair[1], f);
            }
          }
          if (empty > 0) {
            String line =
                "    ("
                    + empty
                    + " refresh call(s) found no change yet and were retried after 20 ms; the"
                    + " timed figure is the call that applied)";
            System.out.println(line);
            summary.add(line);
          }
        }

        // One-row DIFFERENTIAL refreshes in a row: steadier than 5 rounds on a shared machine.
        for (String name : List.of("a_diff_dist", "a_diff_local")) {
          List<Long> seriesNanos = new ArrayList<>();
          List<String> seriesModes = new ArrayList<>();
          List<Long> seriesRecorded = new ArrayList<>();
          for (int i = 0; i < series; i++) {
            round++;
            long id = 1 + (round * 7919L) % rows;
            statement.executeUpdate(
                String.format(Locale.ROOT, changes.get(0).sqlTemplate(), id % TENANTS, id, 0));
            Timed timed = refresh(engine, connection, name);
            seriesNanos.add(timed.nanos());
            seriesModes.add(timed.mode());
            seriesRecorded.add(timed.catalogMs() * 1_000_000L);
          }
          BenchSupport.verify(connection, name, QUERY_A);
          Table table = tables.stream().filter(x -> x.name().equals(name)).findFirst().get();
          double s = BenchSupport.medianMillis(seriesNanos);
          String line =
              String.format(
                  Locale.ROOT,
                  "%-36s %-17s DIFFERENTIAL alone, %d refreshes in a row (ran %s): median %s ms,"
                      + " p90 %s ms (in the refresh transaction: median %s ms); speed-up against"
                      + " the FULL median above %.0fx (exact at the end)",
                  table.label(),
                  "1 row",
                  series,
                  BenchSupport.modes(seriesModes),
                  BenchSupport.ms(s),
                  BenchSupport.ms(BenchSupport.percentileMillis(seriesNanos, 0.9)),
                  BenchSupport.ms(BenchSupport.medianMillis(seriesRecorded)),
                  fullMedians.get(name) / s);
          System.out.println(line);
          summary.add(line);
        }
        for (Table table : tables) {
          refreshIfChanged(engine, table.name());
          BenchSupport.verify(connection, table.name(), table.query());
        }

        summary.addAll(freshness(cluster, engine, statement, rows, inserts, pollMillis));
      } finally {
        summary.addAll(copyLogs(cluster));
      }
    }
    System.out.println();
    System.out.printf(
        Locale.ROOT,
        "total %.0f s; load average at the end %s%n",
        (System.nanoTime() - started) / 1e9,
        loadAverage());
    summary.forEach(System.out::println);
  }

  private static void load(Statement statement, long rows) throws SQLException {
    statement.execute("DROP TABLE IF EXISTS sales, products CASCADE");
    statement.execute("CREATE TABLE products (id int PRIMARY KEY, category text NOT NULL)");
    statement.execute("SELECT create_reference_table('products')");
    statement.execute("ALTER TABLE products REPLICA IDENTITY FULL");
    statement.execute(
        "INSERT INTO products SELECT g, 'category ' || (g % 20) FROM generate_series(1, 1000) g");
    statement.execute(
        "CREATE TABLE sales (tenant_id int NOT NULL, id bigint NOT NULL, product_id int NOT NULL,"
            + " qty int NOT NULL, amount numeric(12,2) NOT NULL, PRIMARY KEY (tenant_id, id))");
    statement.execute("SELECT create_distributed_table('sales', 'tenant_id')");
    statement.execute("ALTER TABLE sales REPLICA IDENTITY FULL");
    statement.execute(
        "INSERT INTO sales SELECT g % "
            + TENANTS
            + ", g, 1 + (g * 7) % 1000, 1 + g % 10, 1 + (g % 997) / 10.0"
            + " FROM generate_series(1, "
            + rows
            + ") g");
    statement.execute("VACUUM ANALYZE sales");
    statement.execute("VACUUM ANALYZE products");
  }

  /** (a)'s and (b)'s results now, materialized once for the round's checks. */
  private static void expected(Statement statement) throws SQLException {
    dropExpected(statement);
    statement.execute("CREATE TEMP TABLE bench_expected_a AS " + QUERY_A);
    statement.execute("CREATE TEMP TABLE bench_expected_b AS " + QUERY_B);
  }

  private static void dropExpected(Statement statement) throws SQLException {
    statement.execute("DROP TABLE IF EXISTS pg_temp.bench_expected_a, pg_temp.bench_expected_b");
  }

  private static List<Table> rotate(List<Table> tables, int by) {
    List<Table> order = new ArrayList<>();
    for (int i = 0; i < tables.size(); i++) {
      order.add(tables.get((i + by) % tables.size()));
    }
    return order;
  }

  /**
   * One timed refresh that applied the change; a call that found none yet (a worker's slot not yet
   * showing the commit) is retried after 20 ms and counted, the applying call alone timed.
   */
  private static Timed refresh(StreamTableEngine engine, Connection connection, String name)
      throws Exception {
    int empty = 0;
    long deadline = System.nanoTime() + 30_000_000_000L;
    while (true) {
      long t = System.nanoTime();
      RefreshOutcome outcome = engine.refresh("public", name);
      long nanos = System.nanoTime() - t;
      if (outcome.kind() == RefreshOutcome.Kind.APPLIED) {
        try (PreparedStatement statement =
            connection.prepareStatement(
                "SELECT last_refresh_mode, last_refresh_reason, last_refresh_ms"
                    + " FROM pgtrickle.pgt_stream_tables"
                    + " WHERE st_schema = 'public' AND st_name = ?")) {
          statement.setString(1, name);
          try (ResultSet rs = statement.executeQuery()) {
            rs.next();
            return new Timed(
                nanos,
                rs.getString(1),
                rs.getString(2),
                outcome.rowsChanged(),
                empty,
                rs.getLong(3));
          }
        }
      }
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(name + ": nothing applied within 30 s: " + outcome);
      }
      empty++;
      Thread.sleep(20);
    }
  }

  private static void refreshIfChanged(StreamTableEngine engine, String name) throws Exception {
    for (int i = 0; i < 3; i++) {
      engine.refresh("public", name);
    }
  }

  /**
   * Commit-to-visible: (a)'s DIFFERENTIAL stream tables refreshed every 1 s by the engine's
   * scheduler; single-row inserts, each into a product of its own, committed through the
   * coordinator; a poller notes when each product first appears in each stream table.
   */
  private static List<String> freshness(
      CitusTestCluster cluster,
      StreamTableEngine engine,
      Statement statement,
      long rows,
      int inserts,
      long pollMillis)
      throws Exception {
    List<String> names = List.of("a_diff_dist", "a_diff_local");
    Map<String, Map<Long, Long>> seen = new ConcurrentHashMap<>();
    names.forEach(n -> seen.put(n, new ConcurrentHashMap<>()));
    Map<String, List<Long>> tickNanos = new ConcurrentHashMap<>();
    Map<String, AtomicInteger> applied = new ConcurrentHashMap<>();
    Map<String, AtomicInteger> noChanges = new ConcurrentHashMap<>();
    AtomicInteger failures = new AtomicInteger();
    for (String n : names) {
      tickNanos.put(n, java.util.Collections.synchronizedList(new ArrayList<>()));
      applied.put(n, new AtomicInteger());
      noChanges.put(n, new AtomicInteger());
    }
    RefreshScheduler.Listener listener =
        new RefreshScheduler.Listener() {
          @Override
          public void refreshed(String key, RefreshOutcome outcome) {
            if (outcome.kind() == RefreshOutcome.Kind.APPLIED) {
              applied.get(key).incrementAndGet();
              tickNanos.get(key).add(outcome.durationMillis() * 1_000_000L);
            } else {
              noChanges.get(key).incrementAndGet();
            }
          }

          @Override
          public void failed(String key, EngineException failure) {
            failures.incrementAndGet();
            System.out.println("  scheduled refresh of " + key + " failed: " + failure);
          }
        };
    AtomicBoolean stop = new AtomicBoolean();
    Thread poller =
        new Thread(
            () -> {
              try (Connection poll =
                      cluster.coordinator().dataSource(CitusTestCluster.DATABASE).getConnection();
                  Statement s = poll.createStatement()) {
                while (!stop.get()) {
                  for (String n : names) {
                    long t = System.nanoTime();
                    try (ResultSet rs =
                        s.executeQuery(
                            "SELECT product_id FROM "
                                + n
                                + " WHERE product_id >= "
                                + FRESH_PRODUCT)) {
                      while (rs.next()) {
                        seen.get(n).putIfAbsent(rs.getLong(1), t);
                      }
                    }
                  }
                  Thread.sleep(pollMillis);
                }
              } catch (Exception e) {
                System.out.println("poller failed: " + e);
              }
            },
            "freshness-poller");
    Map<Long, Long> committed = new LinkedHashMap<>();
    Random random = new Random(11);
    double spanSeconds;
    try (RefreshScheduler scheduler = new RefreshScheduler(2, listener)) {
      for (String n : names) {
        scheduler.schedule(n, engine, "public", n, Duration.ofSeconds(1));
      }
      poller.start();
      Thread.sleep(1500);
      long began = System.nanoTime();
      for (int k = 0; k < inserts; k++) {
        long product = FRESH_PRODUCT + k;
        long id = rows + 1_000_000L + k;
        statement.executeUpdate(
            "INSERT INTO sales VALUES ("
                + (k % TENANTS)
                + ", "
                + id
                + ", "
                + product
                + ", 1, "
                + (1 + k % 50)
                + ")");
        committed.put(product, System.nanoTime());
        Thread.sleep(100 + random.nextInt(201));
      }
      long deadline = System.nanoTime() + 30_000_000_000L;
      while (System.nanoTime() < deadline
          && names.stream().anyMatch(n -> seen.get(n).size() < inserts)) {
        Thread.sleep(50);
      }
      spanSeconds = (System.nanoTime() - began) / 1e9;
      stop.set(true);
      poller.join(10_000);
    }
    List<String> lines = new ArrayList<>();
    lines.add(
        String.format(
            Locale.ROOT,
            "freshness: %d single-row INSERTs through the coordinator over %.0f s (one every"
                + " 100-300 ms, tenants on both workers), stream tables scheduled every 1 s by"
                + " RefreshScheduler, polled every %d ms",
            inserts,
            spanSeconds,
            pollMillis));
    for (String n : names) {
      List<Long> lags = new ArrayList<>();
      for (Map.Entry<Long, Long> c : committed.entrySet()) {
        Long at = seen.get(n).get(c.getKey());
        if (at != null) {
          lags.add(Math.max(0, at - c.getValue()));
        }
      }
      refreshIfChanged(engine, n);
      try (Connection check =
          cluster.coordinator().dataSource(CitusTestCluster.DATABASE).getConnection()) {
        BenchSupport.verify(check, n, QUERY_A);
      }
      lines.add(
          String.format(
              Locale.ROOT,
              "  %-13s commit-to-visible: median %s ms, p90 %s ms, p99 %s ms, max %s ms (%d of %d"
                  + " seen); %d ticks applied changes (median %s ms each), %d found none;"
                  + " exact at the end",
              n,
              lags.isEmpty() ? "-" : BenchSupport.ms(BenchSupport.medianMillis(lags)),
              lags.isEmpty() ? "-" : BenchSupport.ms(BenchSupport.percentileMillis(lags, 0.9)),
              lags.isEmpty() ? "-" : BenchSupport.ms(BenchSupport.percentileMillis(lags, 0.99)),
              lags.isEmpty() ? "-" : BenchSupport.ms(BenchSupport.percentileMillis(lags, 1.0)),
              lags.size(),
              inserts,
              applied.get(n).get(),
              tickNanos.get(n).isEmpty()
                  ? "-"
                  : BenchSupport.ms(BenchSupport.medianMillis(tickNanos.get(n))),
              noChanges.get(n).get()));
    }
    if (failures.get() > 0) {
      lines.add("  " + failures.get() + " scheduled refreshes failed (see above)");
    }
    lines.forEach(System.out::println);
    return lines;
  }

  /**
   * Option {@code log}: every statement from the first round on, with its duration, on every node,
   * in the server logs copied to target/bench-logs at the end.
   */
  private static void logStatements(CitusTestCluster cluster) throws SQLException {
    for (PostgresServer server :
        Stream.concat(Stream.of(cluster.coordinator()), cluster.workers().stream()).toList()) {
      try (Connection connection = server.dataSource(CitusTestCluster.DATABASE).getConnection();
          Statement statement = connection.createStatement()) {
        statement.execute("ALTER SYSTEM SET log_min_duration_statement = 0");
        statement.execute("SELECT pg_reload_conf()");
      }
    }
    System.out.println("logging every statement from here on (target/bench-logs)");
  }

  /** Each server's log into target/bench-logs (the cluster deletes its data directories). */
  private static List<String> copyLogs(CitusTestCluster cluster) {
    List<String> lines = new ArrayList<>();
    List<PostgresServer> servers =
        Stream.concat(Stream.of(cluster.coordinator()), cluster.workers().stream()).toList();
    try {
      Path logs = Path.of("target", "bench-logs").toAbsolutePath();
      Files.createDirectories(logs);
      for (int i = 0; i < servers.size(); i++) {
        String role = i == 0 ? "coordinator" : "worker" + i;
        String dataDir;
        try (Connection connection =
                servers.get(i).dataSource(CitusTestCluster.DATABASE).getConnection();
            Statement statement = connection.createStatement();
            ResultSet rs = statement.executeQuery("SHOW data_directory")) {
          rs.next();
          dataDir = rs.getString(1);
        }
        Path target = logs.resolve("citus-bench-" + role + ".log");
        Files.copy(
            Path.of(dataDir, "server.log"),
            target,
            java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        List<String> log = Files.readAllLines(target, StandardCharsets.UTF_8);
        long errors = log.stream().filter(l -> l.contains("ERROR:")).count();
        long warnings = log.stream().filter(l -> l.contains("WARNING:")).count();
        long fatal = log.stream().filter(l -> l.contains("FATAL:") || l.contains("PANIC:")).count();
        lines.add(
            String.format(
                Locale.ROOT,
                "server log %s: %d ERROR, %d WARNING, %d FATAL/PANIC lines (%s)",
                role,
                errors,
                warnings,
                fatal,
                target));
      }
    } catch (Exception e) {
      lines.add("could not copy the server logs: " + e);
    }
    lines.forEach(System.out::println);
    return lines;
  }

  private static String storage(Connection connection, String name) throws SQLException {
    try (Statement statement = connection.createStatement();
        ResultSet rs =
            statement.executeQuery(
                "SELECT coalesce((SELECT CASE p.partmethod WHEN 'h' THEN 'distributed'"
                    + " WHEN 'n' THEN 'reference' END FROM pg_dist_partition p"
                    + " WHERE p.logicalrelid = 'public."
                    + name
                    + "'::regclass), 'local')")) {
      rs.next();
      return rs.getString(1);
    }
  }

  private static StreamTableDefinition definition(
      String name, String query, RefreshMode mode, PlacementMode placement) throws EngineException {
    StreamTableSpec spec = new StreamTableSpec();
    spec.setName(name);
    spec.setQuery(query);
    spec.setSchedule("1s");
    spec.setRefreshMode(mode);
    spec.setPlacement(placement);
    return StreamTableDefinition.from(spec);
  }

  private static String loadAverage() {
    try {
      String text = Files.readString(Path.of("/proc/loadavg"), StandardCharsets.UTF_8).trim();
      String[] parts = text.split(" ", -1);
      return parts[0] + " " + parts[1] + " " + parts[2];
    } catch (Exception e) {
      return "unknown";
    }
  }
}
