package io.pgtrickle.operator.corpus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.pgtrickle.operator.api.CdcModeSpec;
import io.pgtrickle.operator.corpus.SltCorpus.Query;
import io.pgtrickle.operator.corpus.SltCorpus.SltRecord;
import io.pgtrickle.operator.corpus.SltCorpus.Statement;
import io.pgtrickle.operator.engine.EngineException;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * SQLite's sqllogictest as an exactness corpus: the select, aggregate and group-by files (test/
 * select1-5, test/random/select, test/random/aggregates, test/random/groupby). For each file, its
 * statements build its tables in a fresh database and each sampled query that PostgreSQL runs,
 * {@code CREATE VIEW} takes and the engine accepts becomes a stream table (the others are counted
 * by why); then rounds of random changes to the tables ({@link RandomDml}), and after each round
 * every stream table is refreshed and must equal its query, the oracle.
 *
 * <p>The changes depend only on the seed, the file and the round (never on which queries are in the
 * sample), so one query replays alone: {@code -Dcorpus.slt.queries=test/select1.test#17}. Settings
 * and the default slice: docs/testing.md, "Query corpora".
 */
class SltCorpusIT {
  /** The select, aggregate and group-by files of the corpus. */
  static final String CORPUS =
      "^test/(select[1-5]|random/(select|aggregates|groupby)/slt_good_\\d+)\\.test$";

  private static final CorpusTally TALLY = new CorpusTally("sqllogictest");
  private static final CorpusTally EXCLUDED_TALLY =
      new CorpusTally("sqllogictest, queries the files exclude from PostgreSQL runs");
  private static final int MAX_LOG_LINES = 400;

  @AfterAll
  static void report() {
    System.out.println(TALLY.report());
    System.out.println(EXCLUDED_TALLY.report());
  }

  @TestFactory
  Stream<DynamicTest> eachFileStaysEqualToItsQueries() throws Exception {
    long seed = CorpusSettings.seed();
    Map<String, Set<String>> explicit = explicitQueries();
    Pattern pattern = Pattern.compile(CorpusSettings.string("corpus.slt.files", CORPUS));
    List<String> matched =
        explicit.isEmpty() ? SltCorpus.files(pattern) : new ArrayList<>(explicit.keySet());
    assumeTrue(
        !SltCorpus.files(Pattern.compile(CORPUS)).isEmpty(),
        "the sqllogictest files (net.hydromatic:sql-logic-test) are not on the test class path");
    assumeTrue(!matched.isEmpty(), "no sqllogictest file matches corpus.slt.files=" + pattern);
    List<String> files =
        explicit.isEmpty()
            ? sampleByDirectory(
                matched, CorpusSettings.sampleSize("corpus.slt.filesPerDirectory", 2), seed)
            : matched;
    OptionalInt perFile = CorpusSettings.sampleSize("corpus.slt.queriesPerFile", 60);
    OptionalInt excludedPerFile = CorpusSettings.sampleSize("corpus.slt.excludedPerFile", 10);
    int chunk = CorpusSettings.integer("corpus.slt.chunk", 300);
    int rounds = CorpusSettings.integer("corpus.slt.rounds", 3);
    System.out.printf(
        "sqllogictest corpus: seed %d, %d of %d files, %s queries a file, %d rounds,"
            + " chunks of %d: %s%n",
        seed,
        files.size(),
        matched.size(),
        perFile.isPresent() ? Integer.toString(perFile.getAsInt()) : "all",
        rounds,
        chunk,
        files.size() <= 20 ? files : files.subList(0, 20) + " ...");
    return files.stream()
        .map(
            file ->
                DynamicTest.dynamicTest(
                    file,
                    () -> {
                      List<SltRecord> records = SltCorpus.parse(file);
                      List<Query> excluded = SltCorpus.excludedQueries(file);
                      TALLY.excludedByCorpus(
                          excluded.stream()
                              .collect(
                                  Collectors.groupingBy(
                                      Query::excludedBy,
                                      TreeMap::new,
                                      Collectors.summingInt(q -> 1))));
                      TALLY.count(
                          "query records read for PostgreSQL (whole files)",
                          (int) records.stream().filter(Query.class::isInstance).count());
                      List<Query> queries = new ArrayList<>();
                      queries.addAll(sample(file, queriesOf(records), explicit, perFile, seed));
                      queries.addAll(sample(file, excluded, explicit, excludedPerFile, seed));
                      List<String> failures = new ArrayList<>();
                      long started = System.nanoTime();
                      for (int from = 0; from < queries.size(); from += chunk) {
                        List<Query> part =
                            queries.subList(from, Math.min(queries.size(), from + chunk));
                        failures.addAll(new FileRun(file, records, part, seed, rounds).run());
                      }
                      System.out.printf(
                          "%s: %d queries in %d ms%n",
                          file, queries.size(), (System.nanoTime() - started) / 1_000_000);
                      assertThat(failures)
                          .as(
                              "%s, seed %d; replay one with ./mvnw -B verify -Dit.test=SltCorpusIT"
                                  + " -Dtest=none -Dsurefire.failIfNoSpecifiedTests=false"
                                  + " -Dcorpus.seed=%d -Dcorpus.slt.rounds=%d"
                                  + " -Dcorpus.slt.queries=<file>#<n>",
                              file, seed, seed, rounds)
                          .isEmpty();
                    }));
  }

  /** {@code corpus.slt.queries=test/a.test#3,test/a.test#x9,...}: these and no sampling. */
  private static Map<String, Set<String>> explicitQueries() {
    String value = CorpusSettings.string("corpus.slt.queries", "");
    Map<String, Set<String>> queries = new TreeMap<>();
    for (String id : value.split(",", -1)) {
      String each = id.strip().replaceFirst("^slt:", "");
      if (each.isEmpty()) {
        continue;
      }
      int hash = each.lastIndexOf('#');
      queries
          .computeIfAbsent(each.substring(0, hash), f -> new TreeSet<>())
          .add(each.substring(hash + 1));
    }
    return queries;
  }

  /** Up to {@code perDirectory} files of each directory, chosen by the seed, in name order. */
  private static List<String> sampleByDirectory(
      List<String> files, OptionalInt perDirectory, long seed) {
    if (perDirectory.isEmpty()) {
      return files;
    }
    Map<String, List<String>> byDirectory =
        files.stream()
            .collect(
                Collectors.groupingBy(
                    f -> f.substring(0, f.lastIndexOf('/')), TreeMap::new, Collectors.toList()));
    List<String> chosen = new ArrayList<>();
    byDirectory.forEach(
        (directory, inIt) -> {
          List<String> shuffled = new ArrayList<>(inIt);
          Collections.shuffle(shuffled, new Random(CorpusSettings.derive(seed, directory)));
          chosen.addAll(shuffled.subList(0, Math.min(perDirectory.getAsInt(), shuffled.size())));
        });
    chosen.sort(null);
    return chosen;
  }

  private static List<Query> queriesOf(List<SltRecord> records) {
    List<Query> queries = new ArrayList<>();
    for (SltRecord record : records) {
      if (record instanceof Query query) {
        queries.add(query);
      }
    }
    return queries;
  }

  /** Of {@code queries}: the explicit ones, or a sample chosen by the seed, in file order. */
  private static List<Query> sample(
      String file,
      List<Query> queries,
      Map<String, Set<String>> explicit,
      OptionalInt perFile,
      long seed) {
    if (!explicit.isEmpty()) {
      Set<String> wanted = explicit.getOrDefault(file, Set.of());
      return queries.stream().filter(q -> wanted.contains(q.key())).toList();
    }
    if (perFile.isEmpty() || perFile.getAsInt() >= queries.size()) {
      return queries;
    }
    List<Query> shuffled = new ArrayList<>(queries);
    Collections.shuffle(shuffled, new Random(CorpusSettings.derive(seed, file)));
    Set<String> chosen =
        shuffled.subList(0, perFile.getAsInt()).stream()
            .map(Query::key)
            .collect(Collectors.toSet());
    return queries.stream().filter(q -> chosen.contains(q.key())).toList();
  }

  /** One database: the file's statements, some of its queries as stream tables, the rounds. */
  private static final class FileRun {
    private final String file;
    private final List<SltRecord> records;
    private final Set<String> wanted;
    private final List<Query> excluded;
    private final long seed;
    private final int rounds;
    private final List<String> failures = new ArrayList<>();
    private final Map<String, Query> live = new LinkedHashMap<>();
    private final Map<String, String> liveQueries = new LinkedHashMap<>();

    FileRun(String file, List<SltRecord> records, List<Query> queries, long seed, int rounds) {
      this.file = file;
      this.records = records;
      this.wanted =
          queries.stream()
              .filter(q -> q.excludedBy() == null)
              .map(Query::key)
              .collect(Collectors.toSet());
      this.excluded = queries.stream().filter(q -> q.excludedBy() != null).toList();
      this.seed = seed;
      this.rounds = rounds;
    }

    List<String> run() throws Exception {
      long started = System.nanoTime();
      CorpusDatabase db = CorpusDatabase.fresh();
      boolean passed = false;
      try {
        StringBuilder times = new StringBuilder();
        long setUp = 0;
        long admitting = 0;
        for (SltRecord record : records) {
          long t = System.nanoTime();
          if (record instanceof Statement statement) {
            runStatement(db, statement);
            setUp += System.nanoTime() - t;
          } else if (record instanceof Query query && wanted.contains(query.key())) {
            admit(db, query);
            admitting += System.nanoTime() - t;
          }
        }
        long admittingExcluded = System.nanoTime();
        for (Query query : excluded) {
          admit(db, query);
        }
        admitting += System.nanoTime() - admittingExcluded;
        times.append(
            String.format(
                Locale.ROOT,
                "set-up %d ms, create %d ms",
                setUp / 1_000_000,
                admitting / 1_000_000));
        RandomDml dml = new RandomDml(db, new Random(CorpusSettings.derive(seed, file)));
        for (int round = 1; round <= rounds && !live.isEmpty(); round++) {
          long t = System.nanoTime();
          dml.round(db.sourceTables());
          long changed = System.nanoTime();
          for (Map.Entry<String, Query> st : live.entrySet()) {
            check(db, st.getKey(), st.getValue(), round, dml.log());
          }
          times.append(
              String.format(
                  Locale.ROOT,
                  ", round %d: changes %d ms, refresh and check %d ms",
                  round,
                  (changed - t) / 1_000_000,
                  (System.nanoTime() - changed) / 1_000_000));
        }
        System.out.printf(
            "  %s, %d stream tables: %s, in all %d ms%n",
            file, live.size(), times, (System.nanoTime() - started) / 1_000_000);
        passed = failures.isEmpty();
      } finally {
        db.close(passed);
      }
      return failures;
    }

    private void runStatement(CorpusDatabase db, Statement statement) {
      try {
        db.execute(statement.sql());
      } catch (SQLException e) {
        if (statement.shouldPass()) {
          TALLY.count(
              "set-up statement PostgreSQL refused ("
                  + e.getSQLState()
                  + " "
                  + Admission.normalize(e.getMessage())
                  + ")");
        }
      }
    }

    private void admit(CorpusDatabase db, Query query) throws SQLException {
      Optional<String> known = KnownIssues.of(query.id());
      if (known.isPresent()) {
        TALLY.knownIssueSkipped(query.id() + ": " + known.get());
        System.out.println("SKIPPED (known issue) " + query.id() + ": " + known.get());
        return;
      }
      String name = "slt_" + query.key();
      Admission admission = db.admit(name, query.sql(), CdcModeSpec.TRIGGER);
      tally(query).admitted(query.id(), admission);
      if (admission.unexpectedEngineRefusal()) {
        failures.add(
            query.id()
                + ": the engine refused a query PostgreSQL runs: "
                + admission.category()
                + ": "
                + admission.detail()
                + "\n  "
                + query.sql());
        return;
      }
      if (!admission.verdict().accepted()) {
        return;
      }
      live.put(name, query);
      liveQueries.put(name, admission.query());
      long differences = db.differences(name, admission.query());
      if (differences != 0) {
        failures.add(
            query.id()
                + ": "
                + differences
                + " rows differ from the query right after create\n  "
                + admission.query());
      } else {
        tally(query).count("equal to its query after create");
      }
    }

    private void check(CorpusDatabase db, String name, Query query, int round, List<String> log)
        throws SQLException {
      String sql = liveQueries.get(name);
      try {
        tally(query).count("rows changed by refreshes", (int) db.refresh(name).rowsChanged());
      } catch (EngineException e) {
        Optional<SQLException> itself = db.queryError(sql);
        if (itself.isPresent()) {
          tally(query)
              .count(
                  "refresh failed because the query itself fails on the changed data ("
                      + itself.get().getSQLState()
                      + " "
                      + Admission.normalize(itself.get().getMessage())
                      + ")");
        } else {
          failures.add(
              failure(query, round, "refresh failed, the query does not: " + e.getMessage(), log));
        }
        return;
      }
      long differences = db.differences(name, sql);
      if (differences != 0) {
        failures.add(failure(query, round, differences + " rows differ from the query", log));
      } else {
        tally(query).count("equal to its query after a round of changes");
      }
    }

    private static CorpusTally tally(Query query) {
      return query.excludedBy() == null ? TALLY : EXCLUDED_TALLY;
    }

    private String failure(Query query, int round, String what, List<String> log) {
      List<String> shown =
          log.size() > MAX_LOG_LINES ? log.subList(log.size() - MAX_LOG_LINES, log.size()) : log;
      return query.id()
          + " after round "
          + round
          + ": "
          + what
          + "\n  query: "
          + liveQueries.getOrDefault("slt_" + query.key(), query.sql())
          + "\n  changes so far"
          + (shown.size() < log.size() ? " (last " + MAX_LOG_LINES + ")" : "")
          + ":\n    "
          + String.join("\n    ", shown);
    }
  }
}
