package io.pgtrickle.operator.corpus;

import io.pgtrickle.operator.api.RefreshMode;
import io.pgtrickle.operator.bench.BenchSupport;
import io.pgtrickle.operator.embedded.EmbeddedPostgresServer;
import io.pgtrickle.operator.engine.EngineException;
import io.pgtrickle.operator.engine.StreamTableEngine;
import io.pgtrickle.operator.testing.TestDatabase;
import java.sql.Connection;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * Harness: TPC-H's 22 queries (as {@link TpchQueries} adapts them: ORDER BY and LIMIT removed) as
 * stream tables, each three times: FULL, DIFFERENTIAL (when the engine accepts it; else its reason
 * is reported) and AUTO. Per change rate (0.1% and 1% of the orders) rounds of TPC-H's refresh
 * functions and updates, as {@link TpchChanges} makes them: RF1 inserts that share of new orders
 * with their line items (held-back generator parts), RF2 deletes that share of existing orders with
 * theirs, then line-item updates (as many as RF1's orders) and part, partsupp, customer and orders
 * updates (a tenth of that each). After each round every stream table is refreshed (the three of a
 * query in rotating order), timed, and checked exact against the query (StreamTableAssertions,
 * against the query's result materialized once per query and round). Medians.
 *
 * <p>TPC-H's {@code INTERVAL '3' MONTH} is written {@code INTERVAL '3 month'} (the same interval)
 * unless {@code as-shipped} is given: PostgreSQL deparses the former with a field ({@code '3
 * mons'::interval month}) that the engine's parser refuses, which would leave most queries
 * FULL-only; whether each query as shipped is accepted is reported too.
 *
 * <p>Besides the primary keys (which cover l_orderkey and ps_partkey), the foreign-key indexes a
 * TPC-H user would have: lineitem (l_partkey, l_suppkey), lineitem (l_suppkey), orders (o_custkey),
 * partsupp (ps_suppkey), customer (c_nationkey), supplier (s_nationkey), nation (n_regionkey).
 *
 * <p>Run: ./mvnw -q -Pbench test-compile exec:exec
 * -Dbench.main=io.pgtrickle.operator.corpus.TpchDifferential -Dbench.args=3 [-Dbench.args2=
 * sf=0.1|rates=0.001:0.01|only=1,3,18|seed=N|warmup=N|as-shipped|durable|log|explain|verbose]
 */
public final class TpchDifferential {
  /**
   * TPC-H writes {@code INTERVAL '3' MONTH}; PostgreSQL keeps the field in its deparse ({@code '3
   * mons'::interval month}), which the engine's parser cannot read. {@code INTERVAL '3 month'} is
   * the same interval, deparsed without the field.
   */
  private static final java.util.regex.Pattern FIELD_INTERVAL =
      java.util.regex.Pattern.compile("(?i)interval\\s+'(\\d+)'\\s+(year|month|day)\\b");

  private static final List<RefreshMode> MODES =
      List.of(RefreshMode.FULL, RefreshMode.DIFFERENTIAL, RefreshMode.AUTO);

  private TpchDifferential() {}

  /** One query's stream tables and what was measured. */
  private static final class Entry {
    final int number;
    final String query;
    final Map<RefreshMode, String> tables = new LinkedHashMap<>();
    final boolean rewritten;
    String refusedAsShipped;
    String refused;
    String autoBlocker;
    final Map<Double, Map<RefreshMode, List<Long>>> nanos = new LinkedHashMap<>();
    final Map<Double, Map<RefreshMode, List<String>>> ran = new LinkedHashMap<>();
    final Map<Double, String> autoReasons = new LinkedHashMap<>();

    Entry(int number, String query, boolean rewritten) {
      this.number = number;
      this.query = query;
      this.rewritten = rewritten;
    }
  }

  public static void main(String[] args) throws Exception {
    int rounds = args.length > 0 && !args[0].isEmpty() ? Integer.parseInt(args[0]) : 3;
    String options = args.length > 1 ? args[1] : "";
    double scaleFactor = Double.parseDouble(BenchSupport.optionText(options, "sf", "0.1"));
    List<Double> rates = new ArrayList<>();
    for (String rate : BenchSupport.optionText(options, "rates", "0.001:0.01").split(":", -1)) {
      rates.add(Double.parseDouble(rate));
    }
    List<Integer> numbers = new ArrayList<>();
    String only = BenchSupport.optionText(options, "only", "");
    for (int n = 1; n <= TpchQueries.COUNT; n++) {
      if (only.isEmpty() || List.of(only.split(",", -1)).contains(Integer.toString(n))) {
        numbers.add(n);
      }
    }
    long seed = BenchSupport.option(options, "seed", 20261126L);
    // RF1 inserts held-back thousandths of the orders: 1 per round at 0.1%, 10 at 1%.
    int thousandths = 0;
    for (double rate : rates) {
      thousandths += rounds * (int) Math.round(rate * 1000);
    }
    int heldBack = (thousandths + 9) / 10;
    System.out.printf(
        Locale.ROOT,
        "TpchDifferential: TPC-H SF %s, %s, work_mem 64MB, %d rounds per rate, seed %d%n",
        scaleFactor,
        BenchSupport.describe(options),
        rounds,
        seed);
    try (EmbeddedPostgresServer server =
        EmbeddedPostgresServer.start(BenchSupport.settings(options, Map.of("work_mem", "64MB")))) {
      CorpusDatabase db = CorpusDatabase.on(new TestDatabase(server, "postgres"));
      StreamTableEngine engine = db.engine();
      Connection connection = db.connection();
      BenchSupport.warmUpJvm(engine, connection, (int) BenchSupport.option(options, "warmup", 300));
      long t = System.nanoTime();
      TpchData data = new TpchData(db, scaleFactor);
      long loaded = data.createAndLoad(heldBack);
      for (String index :
          List.of(
              "lineitem (l_partkey, l_suppkey)",
              "lineitem (l_suppkey)",
              "orders (o_custkey)",
              "partsupp (ps_suppkey)",
              "customer (c_nationkey)",
              "supplier (s_nationkey)",
              "nation (n_regionkey)")) {
        db.execute("CREATE INDEX ON " + index);
      }
      db.execute("VACUUM ANALYZE");
      long orders = Long.parseLong(db.column("SELECT count(*) FROM orders").get(0));
      System.out.printf(
          Locale.ROOT,
          "loaded %d rows (%d orders; %d%% held back for RF1) and indexed in %.1f s%n",
          loaded,
          orders,
          heldBack,
          (System.nanoTime() - t) / 1e9);

      List<Entry> entries = new ArrayList<>();
      boolean rewrite = !options.contains("as-shipped");
      for (int number : numbers) {
        TpchQueries.TpchQuery q = TpchQueries.load(number);
        String measured =
            rewrite ? FIELD_INTERVAL.matcher(q.query()).replaceAll("interval '$1 $2'") : q.query();
        Entry entry = new Entry(number, measured, !measured.equals(q.query()));
        long started = System.nanoTime();
        if (entry.rewritten) {
          // Whether the query as TpchQueries has it is accepted, before measuring the rewrite.
          String probe = "tpch_q" + number + "_as_shipped";
          try {
            engine.apply(
                BenchSupport.definition(probe, q.query(), RefreshMode.DIFFERENTIAL), "bench");
            engine.drop("public", probe, "bench");
          } catch (EngineException e) {
            entry.refusedAsShipped = reason(e);
          }
        }
        for (RefreshMode mode : MODES) {
          String name = "tpch_q" + number + "_" + mode.name().toLowerCase(Locale.ROOT);
          try {
            engine.apply(BenchSupport.definition(name, measured, mode), "bench");
            entry.tables.put(mode, name);
          } catch (EngineException e) {
            if (mode != RefreshMode.DIFFERENTIAL) {
              throw e;
            }
            entry.refused = reason(e);
            if (!entry.rewritten) {
              entry.refusedAsShipped = entry.refused;
            }
          }
        }
        entry.autoBlocker = BenchSupport.blocker(connection, entry.tables.get(RefreshMode.AUTO));
        entries.add(entry);
        System.out.printf(
            Locale.ROOT,
            "q%d%s: created in %.1f s; DIFFERENTIAL %s%n",
            number,
            entry.rewritten ? " (intervals rewritten)" : "",
            (System.nanoTime() - started) / 1e9,
            entry.refused == null ? "accepted" : "refused: " + entry.refused);
      }

      int nextThousandth = (TpchData.PARTS - heldBack) * 10 + 1;
      int round = 0;
      try (Statement statement = connection.createStatement()) {
        for (double rate : rates) {
          for (int r = 0; r < rounds; r++) {
            round++;
            long started = System.nanoTime();
            TpchChanges changes =
                new TpchChanges(db, new Random(CorpusSettings.derive(seed, "round " + round)));
            long rf1 = 0;
            for (int k = 0; k < Math.round(rate * 1000); k++) {
              rf1 += data.insertPart(nextThousandth++, TpchData.PARTS * 10);
            }
            int perRound = (int) Math.round(rate * orders);
            changes.rf2(perRound);
            changes.updates(perRound, Math.max(1, perRound / 10));
            db.execute("ANALYZE");
            System.out.printf(
                Locale.ROOT,
                "rate %s%% round %d: RF1 %d rows, RF2 %d orders and their line items, %d line-item"
                    + " and %d x 4 other updates, in %.1f s%n",
                BenchSupport.percent(rate),
                r + 1,
                rf1,
                perRound,
                perRound,
                Math.max(1, perRound / 10),
                (System.nanoTime() - started) / 1e9);
            for (Entry entry : entries) {
              String expected = BenchSupport.expected(statement, entry.query);
              List<RefreshMode> order = new ArrayList<>(entry.tables.keySet());
              Collections.rotate(order, round);
              for (RefreshMode mode : order) {
                String name = entry.tables.get(mode);
                BenchSupport.Timed timed = BenchSupport.refresh(engine, connection, name);
                BenchSupport.verify(connection, name, expected);
                entry
                    .nanos
                    .computeIfAbsent(rate, x -> new LinkedHashMap<>())
                    .computeIfAbsent(mode, x -> new ArrayList<>())
                    .add(timed.nanos());
                entry
                    .ran
                    .computeIfAbsent(rate, x -> new LinkedHashMap<>())
                    .computeIfAbsent(mode, x -> new ArrayList<>())
                    .add(timed.mode());
                if (mode == RefreshMode.AUTO && timed.reason() != null) {
                  entry.autoReasons.put(rate, timed.reason());
                }
                if (options.contains("verbose")) {
                  System.out.printf(
                      Locale.ROOT,
                      "  %s: %.1f ms, ran %s%s%n",
                      name,
                      timed.millis(),
                      timed.mode(),
                      timed.reason() == null ? "" : " (" + timed.reason() + ")");
                }
              }
              BenchSupport.dropExpected(statement);
            }
            System.out.printf(
                Locale.ROOT,
                "  refreshed and checked %d stream tables in %.1f s%n",
                entries.stream().mapToInt(e -> e.tables.size()).sum(),
                (System.nanoTime() - started) / 1e9);
          }
        }
      }
      report(entries, rates, rounds, scaleFactor);
      db.close(false);
    }
  }

  /** The engine's reason, without the advice around it. */
  private static String reason(EngineException e) {
    return e.getMessage()
        .replaceFirst(
            "^refreshMode DIFFERENTIAL: the query cannot be maintained differentially: ", "")
        .replaceFirst("; use refreshMode AUTO \\(refreshes in full when it must\\) or FULL$", "");
  }

  private static void report(
      List<Entry> entries, List<Double> rates, int rounds, double scaleFactor) {
    System.out.println();
    System.out.println(
        "| query | DIFFERENTIAL as shipped | reason if not | measured form | DIFFERENTIAL"
            + " | reason if not |");
    System.out.println("|---|---|---|---|---|---|");
    for (Entry entry : entries) {
      System.out.printf(
          Locale.ROOT,
          "| q%d | %s | %s | %s | %s | %s |%n",
          entry.number,
          entry.refusedAsShipped == null ? "yes" : "no",
          entry.refusedAsShipped == null ? "" : entry.refusedAsShipped.replace("|", "\\|"),
          entry.rewritten ? "intervals rewritten" : "as shipped",
          entry.refused == null ? "yes" : "no",
          entry.refused == null ? "" : entry.refused.replace("|", "\\|"));
    }
    for (double rate : rates) {
      System.out.println();
      System.out.printf(
          Locale.ROOT,
          "SF %s, %s%% changed: medians of %d, ms%n%n",
          scaleFactor,
          BenchSupport.percent(rate),
          rounds);
      System.out.println(
          "| query | FULL | DIFFERENTIAL | AUTO (ran) | FULL / DIFFERENTIAL | AUTO / better mode |");
      System.out.println("|---|---:|---:|---|---:|---|");
      for (Entry entry : entries) {
        Map<RefreshMode, List<Long>> nanos = entry.nanos.get(rate);
        Map<RefreshMode, List<String>> ran = entry.ran.get(rate);
        double full = BenchSupport.medianMillis(nanos.get(RefreshMode.FULL));
        double auto = BenchSupport.medianMillis(nanos.get(RefreshMode.AUTO));
        String autoRan = BenchSupport.modes(ran.get(RefreshMode.AUTO));
        if (entry.refused != null) {
          System.out.printf(
              Locale.ROOT,
              "| q%d | %s | refused | %s (%s) | | %.2fx of FULL %s |%n",
              entry.number,
              BenchSupport.ms(full),
              BenchSupport.ms(auto),
              autoRan,
              auto / full,
              auto / full <= 1.1 ? "(within 1.1x)" : "(**not** within 1.1x)");
          continue;
        }
        double diff = BenchSupport.medianMillis(nanos.get(RefreshMode.DIFFERENTIAL));
        String diffRan = BenchSupport.modes(ran.get(RefreshMode.DIFFERENTIAL));
        double best = Math.min(full, diff);
        System.out.printf(
            Locale.ROOT,
            "| q%d | %s | %s%s | %s (%s) | %s | %.2fx %s |%n",
            entry.number,
            BenchSupport.ms(full),
            BenchSupport.ms(diff),
            diffRan.equals("DIFFERENTIAL") ? "" : " (ran " + diffRan + ")",
            BenchSupport.ms(auto),
            autoRan,
            String.format(Locale.ROOT, "%.1fx", full / diff),
            auto / best,
            auto / best <= 1.1 ? "(within 1.1x)" : "(**not** within 1.1x)");
      }
    }
    System.out.println();
    for (Entry entry : entries) {
      if (entry.autoBlocker != null || !entry.autoReasons.isEmpty()) {
        System.out.printf(
            Locale.ROOT,
            "q%d AUTO: %s%n",
            entry.number,
            entry.autoBlocker != null
                ? "not differential: " + entry.autoBlocker
                : "ran FULL because " + entry.autoReasons);
      }
    }
  }
}
