package io.pgtrickle.operator.corpus;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgtrickle.operator.api.CdcModeSpec;
import io.pgtrickle.operator.api.RefreshMode;
import io.pgtrickle.operator.corpus.TpchQueries.TpchQuery;
import io.pgtrickle.operator.engine.EngineException;
import io.pgtrickle.operator.engine.RefreshOutcome;
import io.trino.tpch.TpchTable;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * TPC-H as an exactness corpus: the 22 queries (as {@code io.trino.tpch} ships them, adapted only
 * where noted in {@link TpchQueries}) become stream tables over the generator's data; then rounds
 * of TPC-H's refresh functions (RF1 inserts new orders with their line items, RF2 deletes old ones)
 * and price and quantity updates; after each round every stream table is refreshed and must equal
 * its query, the oracle. Trigger capture for all 22, WAL capture for a few. Settings: {@code
 * -Dcorpus.seed}, {@code -Dcorpus.tpch.sf} (scale factor, default 0.01), {@code
 * -Dcorpus.tpch.rounds} (default 3); docs/testing.md, "Query corpora".
 */
class TpchCorpusIT {
  /** A join, an aggregate, an outer join, IN with HAVING, EXISTS and NOT EXISTS, by WAL. */
  private static final List<Integer> WAL_QUERIES = List.of(1, 3, 13, 18, 21, 22);

  private static final long WAL_WAIT_NANOS = 30_000_000_000L;

  @Test
  void everyQueryWithTriggerCapture() throws Exception {
    run(
        "everyQueryWithTriggerCapture",
        CdcModeSpec.TRIGGER,
        IntStream.rangeClosed(1, TpchQueries.COUNT).boxed().toList());
  }

  @Test
  void someQueriesWithWalCapture() throws Exception {
    run("someQueriesWithWalCapture", CdcModeSpec.WAL, WAL_QUERIES);
  }

  private static void run(String method, CdcModeSpec mode, List<Integer> numbers) throws Exception {
    long seed = CorpusSettings.seed();
    double scaleFactor = CorpusSettings.decimal("corpus.tpch.sf", 0.01);
    int rounds = CorpusSettings.integer("corpus.tpch.rounds", 3);
    assertThat(rounds).as("corpus.tpch.rounds").isBetween(0, TpchData.PARTS / 2);
    String replay =
        "replay: ./mvnw -B verify -Dit.test=TpchCorpusIT#"
            + method
            + " -Dtest=none -Dsurefire.failIfNoSpecifiedTests=false -Dcorpus.seed="
            + seed
            + " -Dcorpus.tpch.sf="
            + scaleFactor
            + " -Dcorpus.tpch.rounds="
            + rounds;
    System.out.println("TPC-H corpus, " + mode + " capture: seed " + seed + "; " + replay);
    CorpusTally tally = new CorpusTally("TPC-H SF " + scaleFactor + ", " + mode + " capture");
    List<String> failures = new ArrayList<>();
    long started = System.nanoTime();
    CorpusDatabase db = CorpusDatabase.fresh();
    boolean passed = false;
    try {
      TpchData data = new TpchData(db, scaleFactor);
      long rows = data.createAndLoad(rounds);
      if (mode == CdcModeSpec.WAL) {
        for (TpchTable<?> table : TpchTable.getTables()) {
          db.execute("ALTER TABLE " + table.getTableName() + " REPLICA IDENTITY FULL");
        }
      }
      System.out.printf("loaded %d rows in %d ms%n", rows, millisSince(started));

      Map<String, String> live = new LinkedHashMap<>();
      Map<String, String> ids = new LinkedHashMap<>();
      for (int number : numbers) {
        TpchQuery query = TpchQueries.load(number);
        Optional<String> known = KnownIssues.of(query.id());
        if (known.isPresent()) {
          tally.knownIssueSkipped(query.id() + ": " + known.get());
          System.out.println("SKIPPED (known issue) " + query.id() + ": " + known.get());
          continue;
        }
        String name = "tpch_q" + number;
        long t = System.nanoTime();
        // DIFFERENTIAL where accepted: AUTO would switch these small tables to FULL once a
        // differential refresh proved slower, and the corpus would test less of the engine.
        Admission admission = db.admit(name, query.query(), mode, RefreshMode.DIFFERENTIAL);
        tally.admitted(query.id(), admission);
        if (!admission.verdict().accepted()) {
          failures.add(
              query.id()
                  + " refused: "
                  + admission.verdict()
                  + " "
                  + admission.category()
                  + ": "
                  + admission.detail()
                  + "\n"
                  + query.query());
          continue;
        }
        live.put(name, admission.query());
        ids.put(name, query.id());
        System.out.printf(
            "%s: %s, %d rows, in %d ms%n",
            TpchQueries.describe(query), admission.verdict(), db.rowCount(name), millisSince(t));
        check(db, name, admission.query(), mode, tally, new AtomicLong(), new java.util.HashSet<>())
            .ifPresent(f -> failures.add(ids.get(name) + " after create: " + f));
      }

      Map<String, List<String>> modes = new java.util.TreeMap<>();
      int lineItemUpdates = CorpusSettings.integer("corpus.tpch.updates", 40);
      for (int round = 1; round <= rounds; round++) {
        long t = System.nanoTime();
        Random random = new Random(CorpusSettings.derive(seed, "tpch round " + round));
        TpchChanges changes = new TpchChanges(db, random);
        changes.rf1(data, TpchData.PARTS - rounds + round);
        changes.rf2((int) Math.max(1, Math.round(scaleFactor * 1_500_000 / TpchData.PARTS)));
        // Price/quantity updates besides TPC-H's refresh functions (0: the refresh functions only).
        changes.updates(lineItemUpdates, lineItemUpdates / 4);
        AtomicLong changed = new AtomicLong();
        java.util.Set<String> applied = new java.util.HashSet<>();
        for (Map.Entry<String, String> st : live.entrySet()) {
          int thisRound = round;
          check(db, st.getKey(), st.getValue(), mode, tally, changed, applied)
              .ifPresent(
                  f ->
                      failures.add(
                          ids.get(st.getKey())
                              + " after round "
                              + thisRound
                              + ": "
                              + f
                              + "\nchanges of round "
                              + thisRound
                              + ":\n  "
                              + String.join("\n  ", changes.log())));
        }
        System.out.printf(
            "round %d: %d stream tables refreshed (%d rows changed) and checked in %d ms%n",
            round, live.size(), changed.get(), millisSince(t));
        for (String name : live.keySet()) {
          List<String> ran =
              db.column(
                  "SELECT last_refresh_mode || coalesce(' (' || last_refresh_reason || ')', '')"
                      + " FROM pgtrickle.pgt_stream_tables WHERE st_schema = 'public'"
                      + " AND st_name = '"
                      + name
                      + "'");
          modes
              .computeIfAbsent(ids.get(name), k -> new ArrayList<>())
              .add(applied.contains(name) ? ran.get(0) : "no change to its tables");
        }
      }
      // What the refreshes after each round of changes ran (AUTO: differential where it can).
      modes.forEach((id, ran) -> System.out.printf("%s ran %s%n", id, String.join("; ", ran)));
      System.out.printf(
          "%d of %d queries ran DIFFERENTIAL in every round in which their tables changed%n",
          modes.values().stream()
              .filter(ran -> ran.stream().allMatch(m -> !m.startsWith("FULL")))
              .count(),
          modes.size());
      passed = failures.isEmpty();
    } finally {
      System.out.println(tally.report());
      System.out.printf("TPC-H corpus, %s capture: %d ms in all%n", mode, millisSince(started));
      db.close(passed);
    }
    assertThat(failures).as(replay).isEmpty();
  }

  /**
   * Refreshes and compares with the query; a description of the difference, if any. WAL changes
   * reach the buffer once flushed, so WAL refreshes until equal, for at most 30 s.
   */
  private static Optional<String> check(
      CorpusDatabase db,
      String name,
      String query,
      CdcModeSpec mode,
      CorpusTally tally,
      AtomicLong changed,
      java.util.Set<String> applied)
      throws Exception {
    long deadline = System.nanoTime() + WAL_WAIT_NANOS;
    while (true) {
      try {
        RefreshOutcome outcome = db.refresh(name);
        changed.addAndGet(outcome.rowsChanged());
        if (outcome.kind() == RefreshOutcome.Kind.APPLIED) {
          applied.add(name);
        }
      } catch (EngineException e) {
        return Optional.of("refresh failed: " + e.getMessage() + "\n" + query);
      }
      long differences = db.differences(name, query);
      if (differences == 0) {
        tally.count("stream table equal to its query");
        return Optional.empty();
      }
      if (mode != CdcModeSpec.WAL || System.nanoTime() > deadline) {
        return Optional.of(
            differences + " rows differ between " + name + " and its query\n" + query);
      }
      Thread.sleep(50);
    }
  }

  private static long millisSince(long nanos) {
    return (System.nanoTime() - nanos) / 1_000_000;
  }
}
