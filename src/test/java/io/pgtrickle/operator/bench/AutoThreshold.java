package io.pgtrickle.operator.bench;

import io.pgtrickle.operator.api.RefreshMode;
import io.pgtrickle.operator.db.DatabaseTarget;
import io.pgtrickle.operator.embedded.EmbeddedPostgresServer;
import io.pgtrickle.operator.engine.StreamTableEngine;
import java.sql.Connection;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Harness: where DIFFERENTIAL stops beating FULL, and whether AUTO (RefreshChoice: FULL when the
 * buffered changes exceed 4% of the sources' estimated rows plus 30% of the stream table's) picks
 * the faster one. Over the 1M-row {@link SalesSchema}, for a filter, a join and an aggregate, each
 * as three stream tables (FULL, DIFFERENTIAL, AUTO); per change rate (0.01%, 0.1%, 1%, 10%, 50% of
 * the fact rows UPDATEd in one statement) rounds of: change, refresh the three (rotating which goes
 * first), check each against the query, refresh a fourth stream table over {@code sales} (not
 * timed: the last consumer of a change trims it from the buffer, which none of the three should pay
 * for), VACUUM ANALYZE (not timed). Medians. An UPDATE is two buffer rows (old row out, new row
 * in), so AUTO sees twice the rate.
 *
 * <p>Run: ./mvnw -q -Pbench test-compile exec:exec
 * -Dbench.main=io.pgtrickle.operator.bench.AutoThreshold -Dbench.args=1 [-Dbench.args2=
 * durable|log|explain|rows=N|warmup=N|rates=0.0001:0.01:0.5|only=filter,join,aggregate]. Rates of
 * 10% and more run a third of the rounds (at least one): they take seconds and differ by more.
 */
public final class AutoThreshold {
  private AutoThreshold() {}

  public static void main(String[] args) throws Exception {
    int rounds = args.length > 0 && !args[0].isEmpty() ? Integer.parseInt(args[0]) : 1;
    String options = args.length > 1 ? args[1] : "";
    long rows = BenchSupport.option(options, "rows", 1_000_000L);
    List<Double> rates = new ArrayList<>();
    for (String rate :
        BenchSupport.optionText(options, "rates", "0.0001:0.001:0.01:0.1:0.5").split(":", -1)) {
      rates.add(Double.parseDouble(rate));
    }
    String only = BenchSupport.optionText(options, "only", "");
    System.out.printf(
        Locale.ROOT,
        "AutoThreshold: %d-row fact table, %s, work_mem 64MB, %d rounds per rate below 10%%,"
            + " %d from 10%%; AUTO's threshold as built%n",
        rows,
        BenchSupport.describe(options),
        rounds,
        Math.max(1, rounds / 3));
    try (EmbeddedPostgresServer server =
        EmbeddedPostgresServer.start(BenchSupport.settings(options, Map.of("work_mem", "64MB")))) {
      DatabaseTarget target =
          DatabaseTarget.connect(
              server.jdbcUrl("postgres"), EmbeddedPostgresServer.SUPERUSER, null, "bench");
      StreamTableEngine engine = target.engine(Map.of());
      engine.migrateCatalog();
      List<String> summary = new ArrayList<>();
      try (Connection connection = target.dataSource().getConnection();
          Statement statement = connection.createStatement()) {
        BenchSupport.warmUpJvm(
            engine, connection, (int) BenchSupport.option(options, "warmup", 300));
        SalesSchema.load(statement, rows);
        // The last consumer of a change to refresh deletes it from the buffer (at 50% a million
        // buffer rows). This stream table over sales is refreshed after the three, untimed, so
        // that none of them pays for it.
        engine.apply(
            BenchSupport.definition(
                "st_last_consumer", "SELECT count(*) AS n FROM sales", RefreshMode.FULL),
            "bench");
        int round = 0;
        for (SalesSchema.Shape shape : SalesSchema.SHAPES) {
          if (!only.isEmpty() && !List.of(only.split(",", -1)).contains(shape.key())) {
            continue;
          }
          Map<RefreshMode, String> tables = new LinkedHashMap<>();
          for (RefreshMode mode :
              List.of(RefreshMode.FULL, RefreshMode.DIFFERENTIAL, RefreshMode.AUTO)) {
            String name = "st_" + shape.key() + "_" + mode.name().toLowerCase(Locale.ROOT);
            engine.apply(BenchSupport.definition(name, shape.query(), mode), "bench");
            tables.put(mode, name);
          }
          System.out.println(shape.label() + ": " + shape.query());
          for (double rate : rates) {
            int rateRounds = rate >= 0.1 ? Math.max(1, rounds / 3) : rounds;
            long modulus = Math.round(1 / rate);
            Map<RefreshMode, List<Long>> nanos = new LinkedHashMap<>();
            Map<RefreshMode, List<String>> ran = new LinkedHashMap<>();
            String autoReason = null;
            long changedRows = 0;
            for (int r = 0; r < rateRounds; r++) {
              round++;
              changedRows =
                  statement.executeUpdate(
                      "UPDATE sales SET amount = amount + 1 WHERE id % "
                          + modulus
                          + " = "
                          + (round * 7L % modulus));
              List<RefreshMode> order = new ArrayList<>(tables.keySet());
              java.util.Collections.rotate(order, round);
              String expected = BenchSupport.expected(statement, shape.query());
              for (RefreshMode mode : order) {
                BenchSupport.Timed timed =
                    BenchSupport.refresh(engine, connection, tables.get(mode));
                BenchSupport.verify(connection, tables.get(mode), expected);
                nanos.computeIfAbsent(mode, m -> new ArrayList<>()).add(timed.nanos());
                ran.computeIfAbsent(mode, m -> new ArrayList<>()).add(timed.mode());
                if (mode == RefreshMode.AUTO && timed.reason() != null) {
                  autoReason = timed.reason();
                }
              }
              BenchSupport.dropExpected(statement);
              engine.refresh("public", "st_last_consumer");
              statement.execute("VACUUM ANALYZE sales");
              for (String name : tables.values()) {
                statement.execute("VACUUM ANALYZE " + name);
              }
            }
            double full = BenchSupport.medianMillis(nanos.get(RefreshMode.FULL));
            double diff = BenchSupport.medianMillis(nanos.get(RefreshMode.DIFFERENTIAL));
            double auto = BenchSupport.medianMillis(nanos.get(RefreshMode.AUTO));
            String line =
                String.format(
                    Locale.ROOT,
                    "%-10s %6s%% (%7d rows)  FULL %8s ms  DIFFERENTIAL %8s ms (ran %s)"
                        + "  AUTO %8s ms (ran %s)  FULL/DIFF %6.2fx  AUTO/best %4.2fx  (median of"
                        + " %d)",
                    shape.key(),
                    BenchSupport.percent(rate),
                    changedRows,
                    BenchSupport.ms(full),
                    BenchSupport.ms(diff),
                    BenchSupport.modes(ran.get(RefreshMode.DIFFERENTIAL)),
                    BenchSupport.ms(auto),
                    BenchSupport.modes(ran.get(RefreshMode.AUTO)),
                    full / diff,
                    auto / Math.min(full, diff),
                    rateRounds);
            System.out.println(line);
            if (autoReason != null) {
              System.out.println("    AUTO's reason: " + autoReason);
            }
            summary.add(line);
          }
          for (String name : tables.values()) {
            engine.drop("public", name, "bench");
          }
        }
      }
      engine.drop("public", "st_last_consumer", "bench");
      System.out.println();
      summary.forEach(System.out::println);
      target.close();
    }
  }
}
