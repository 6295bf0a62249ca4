package io.pgtrickle.operator.corpus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.pgtrickle.operator.api.CdcModeSpec;
import io.pgtrickle.operator.api.RefreshMode;
import io.pgtrickle.operator.api.StreamTableSpec;
import io.pgtrickle.operator.corpus.RandomQueries.RandomQuery;
import io.pgtrickle.operator.corpus.RandomQueries.Shape;
import io.pgtrickle.operator.engine.EngineException;
import io.pgtrickle.operator.engine.Reason;
import io.pgtrickle.operator.engine.RefreshOutcome;
import io.pgtrickle.operator.engine.StreamTableDefinition;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * The randomized exactness test: random schemas ({@link RandomSchema}), random queries over them
 * ({@link RandomQueries}) made stream tables, random changes between refreshes ({@link RandomDml}
 * and {@link RandomChanges}); after each round every stream table is refreshed and must equal its
 * query, the oracle. Queries of the differential class are made with {@code
 * corpus.random.refreshMode} (a quarter of them with AUTO, to see what AUTO chooses), the others
 * with AUTO, which must fall back and stay exact; the modes refreshes actually ran ({@code
 * last_refresh_mode}) are counted and printed. Trigger capture and WAL capture each have their own
 * schemas.
 *
 * <p>Every choice derives from the seed ({@code -Dcorpus.seed}), the schema's id and the query's id
 * ({@code trigger/s2/q07}), and the changes never depend on which queries run, so one query replays
 * alone: {@code -Dcorpus.random.only=trigger/s2/q07}. A failure prints its replay command and
 * writes the schema, query and changes as a psql script under {@code target/corpus-random/}.
 * Settings: docs/testing.md, "Query corpora".
 */
class RandomQueryIT {
  private static final String OWNER = "corpus/random";
  private static final int MAX_LOG_LINES = 300;

  @Test
  void triggerCapture() throws Exception {
    run("triggerCapture", CdcModeSpec.TRIGGER, CorpusSettings.integer("corpus.random.schemas", 6));
  }

  @Test
  void walCapture() throws Exception {
    run("walCapture", CdcModeSpec.WAL, CorpusSettings.integer("corpus.random.walSchemas", 1));
  }

  /**
   * The harness itself: the same seed makes the same schemas, queries and changes (two databases
   * end equal), every generated query runs on PostgreSQL, and every shape is generated.
   */
  @Test
  void theSeedReplaysAndEveryGeneratedQueryRuns() throws Exception {
    long seed = CorpusSettings.seed();
    Set<Shape> shapes = EnumSet.noneOf(Shape.class);
    for (int s = 1; s <= 4; s++) {
      String schemaId = "selfcheck/s" + s;
      RandomSchema schema = schema(seed, schemaId, 12);
      assertThat(schema(seed, schemaId, 12).script(true)).isEqualTo(schema.script(true));
      CorpusDatabase first = CorpusDatabase.fresh();
      CorpusDatabase second = CorpusDatabase.fresh();
      boolean passed = false;
      try {
        for (CorpusDatabase db : List.of(first, second)) {
          for (String sql : schema.ddl(false)) {
            db.execute(sql);
          }
          for (String sql : schema.initialRows()) {
            db.execute(sql);
          }
        }
        for (int q = 1; q <= 100; q++) {
          String id = schemaId + "/q" + q;
          RandomQuery query = query(seed, schema, id, 0.25);
          assertThat(query(seed, schema, id, 0.25)).isEqualTo(query);
          shapes.add(query.shape());
          Optional<SQLException> error = first.queryError(query.sql());
          assertThat(error).as("%s, seed %d, does not run: %s", id, seed, query.sql()).isEmpty();
        }
        List<List<String>> logs = new ArrayList<>();
        for (CorpusDatabase db : List.of(first, second)) {
          RandomDml dml = new RandomDml(db, new Random(CorpusSettings.derive(seed, schemaId)));
          RandomChanges changes =
              new RandomChanges(db, schema, new Random(CorpusSettings.derive(seed, schemaId)), 12);
          for (int round = 0; round < 3; round++) {
            dml.round(schema.tableNames());
            changes.round();
          }
          List<String> log = new ArrayList<>(dml.log());
          log.addAll(changes.log());
          logs.add(log);
        }
        assertThat(logs.get(1)).isEqualTo(logs.get(0));
        for (String table : schema.tableNames()) {
          String contents = "SELECT x::text FROM " + table + " x ORDER BY x::text COLLATE \"C\"";
          assertThat(second.column(contents)).as(table).isEqualTo(first.column(contents));
        }
        passed = true;
      } finally {
        first.close(passed);
        second.close(passed);
      }
    }
    assertThat(shapes).containsExactlyInAnyOrder(Shape.values());
  }

  private static RandomSchema schema(long seed, String schemaId, int rows) {
    return RandomSchema.generate(
        new Random(CorpusSettings.derive(seed, "random schema " + schemaId)), rows);
  }

  private static RandomQuery query(long seed, RandomSchema schema, String id, double outside) {
    return RandomQueries.generate(
        schema, new Random(CorpusSettings.derive(seed, "random query " + id)), id, outside);
  }

  /** The settings of one run, and the command that replays (part of) it. */
  private record Settings(
      long seed,
      int queries,
      int rounds,
      int rows,
      double outside,
      RefreshMode inClassMode,
      Set<String> only) {
    static Settings read() {
      Set<String> only = new TreeSet<>();
      for (String id : CorpusSettings.string("corpus.random.only", "").split(",", -1)) {
        if (!id.isBlank()) {
          only.add(id.strip().replaceFirst("^random:\\d+/", ""));
        }
      }
      return new Settings(
          CorpusSettings.seed(),
          CorpusSettings.integer("corpus.random.queries", 24),
          CorpusSettings.integer("corpus.random.rounds", 4),
          CorpusSettings.integer("corpus.random.rows", 12),
          CorpusSettings.decimal("corpus.random.outside", 0.25),
          RefreshMode.valueOf(
              CorpusSettings.string("corpus.random.refreshMode", "DIFFERENTIAL")
                  .toUpperCase(Locale.ROOT)),
          only);
    }

    String replay(String method, String only) {
      return "./mvnw -B verify -Dit.test=RandomQueryIT#"
          + method
          + " -Dtest=none -Dsurefire.failIfNoSpecifiedTests=false -Dcorpus.seed="
          + seed
          + " -Dcorpus.random.rounds="
          + rounds
          + " -Dcorpus.random.rows="
          + rows
          + " -Dcorpus.random.outside="
          + outside
          + " -Dcorpus.random.refreshMode="
          + inClassMode
          + " -Dcorpus.random.only="
          + only;
    }

    /**
     * The refreshMode a query is made with: outside the class AUTO; in it the setting, but AUTO for
     * a quarter of the queries (chosen by the seed), to see AUTO choose.
     */
    RefreshMode requested(RandomQuery query) {
      if (!query.inClass() || inClassMode == RefreshMode.AUTO) {
        return RefreshMode.AUTO;
      }
      return Math.floorMod(CorpusSettings.derive(seed, "random mode " + query.id()), 4) == 0
          ? RefreshMode.AUTO
          : inClassMode;
    }
  }

  /**
   * The run's summary: refreshes by the mode they ran, why FULL ran, which queries of the class
   * DIFFERENTIAL refused and why, and queries by shape.
   */
  private static final class Summary {
    private final Map<String, Map<String, Integer>> refreshes = new TreeMap<>();
    private final Map<String, Integer> fullBecause = new TreeMap<>();
    private final Map<String, List<String>> refused = new TreeMap<>();
    private final Map<String, Integer> notDifferential = new TreeMap<>();
    private final Map<Shape, Integer> shapes = new EnumMap<>(Shape.class);

    void shape(Shape shape) {
      shapes.merge(shape, 1, Integer::sum);
    }

    void refresh(String group, String ran) {
      refreshes.computeIfAbsent(group, g -> new TreeMap<>()).merge(ran, 1, Integer::sum);
    }

    void fullBecause(String reason) {
      fullBecause.merge(reason, 1, Integer::sum);
    }

    void refused(String reason, RandomQuery query) {
      refused.computeIfAbsent(reason, r -> new ArrayList<>()).add(query.id() + " " + query.shape());
    }

    void notDifferential(String blocker) {
      notDifferential.merge(blocker, 1, Integer::sum);
    }

    String report() {
      StringBuilder out =
          new StringBuilder("  refreshes by the mode they ran (last_refresh_mode):\n");
      refreshes.forEach(
          (group, ran) -> out.append(String.format("    %-52s %s%n", group + ":", ran)));
      if (!fullBecause.isEmpty()) {
        out.append("  why FULL ran where DIFFERENTIAL could have (last_refresh_reason):\n");
        fullBecause.forEach((why, n) -> out.append(String.format("  %7d  %s%n", n, why)));
      }
      if (!refused.isEmpty()) {
        out.append("  queries of the class refused with DIFFERENTIAL (then made with AUTO):\n");
        refused.forEach(
            (why, ids) ->
                out.append(String.format("  %7d  %s%n", ids.size(), why))
                    .append("           ")
                    .append(ids.size() <= 6 ? ids : ids.subList(0, 6) + " ...")
                    .append('\n'));
      }
      if (!notDifferential.isEmpty()) {
        out.append("  stream tables not maintained differentially (differential_blocker):\n");
        notDifferential.forEach((why, n) -> out.append(String.format("  %7d  %s%n", n, why)));
      }
      out.append("  queries by shape: ").append(shapes).append('\n');
      return out.toString();
    }
  }

  private static void run(String method, CdcModeSpec cdc, int schemas) throws Exception {
    Settings settings = Settings.read();
    String capture = cdc == CdcModeSpec.WAL ? "wal" : "trigger";
    Map<Integer, Set<Integer>> chosen = chosen(settings, capture, schemas);
    assumeTrue(!chosen.isEmpty(), "corpus.random.only names no " + capture + " query");
    System.out.printf(
        "random queries, %s capture: seed %d, %d schemas, %s queries each (%.0f%% outside the"
            + " differential class), %d rounds, about %d rows a table, in-class refreshMode %s;"
            + " replay: %s%n",
        capture,
        settings.seed(),
        chosen.size(),
        settings.only().isEmpty() ? Integer.toString(settings.queries()) : "chosen",
        settings.outside() * 100,
        settings.rounds(),
        settings.rows(),
        settings.inClassMode(),
        settings.replay(method, "<" + capture + "/sN/qNN>"));
    clearScripts(settings.seed() + "-" + capture + "-");
    CorpusTally tally = new CorpusTally("random queries, " + capture + " capture");
    Summary summary = new Summary();
    List<String> failures = new ArrayList<>();
    long started = System.nanoTime();
    try {
      for (Map.Entry<Integer, Set<Integer>> schema : chosen.entrySet()) {
        new SchemaRun(
                method, cdc, capture, schema.getKey(), schema.getValue(), settings, tally, summary)
            .run(failures);
      }
    } finally {
      System.out.print(tally.report());
      System.out.println(summary.report());
      System.out.printf(
          "random queries, %s capture: %d failures, %d ms in all%n",
          capture, failures.size(), (System.nanoTime() - started) / 1_000_000);
    }
    assertThat(failures)
        .as(
            "random queries, %s capture, seed %d: %d failures; replay one with %s",
            capture, settings.seed(), failures.size(), settings.replay(method, "<id>"))
        .isEmpty();
  }

  private static Path scriptDirectory() {
    return Path.of(System.getProperty("project.basedir", "."), "target", "corpus-random");
  }

  /** Scripts an earlier run of the same seed and capture left: they describe other failures. */
  private static void clearScripts(String prefix) throws IOException {
    if (!Files.isDirectory(scriptDirectory())) {
      return;
    }
    try (var files = Files.list(scriptDirectory())) {
      for (Path file : files.filter(f -> f.getFileName().toString().startsWith(prefix)).toList()) {
        Files.delete(file);
      }
    }
  }

  /** Schema number → query numbers, all of them or those {@code corpus.random.only} names. */
  private static Map<Integer, Set<Integer>> chosen(Settings settings, String capture, int schemas) {
    Map<Integer, Set<Integer>> chosen = new TreeMap<>();
    if (settings.only().isEmpty()) {
      for (int s = 1; s <= schemas; s++) {
        Set<Integer> all = new LinkedHashSet<>();
        for (int q = 1; q <= settings.queries(); q++) {
          all.add(q);
        }
        chosen.put(s, all);
      }
      return chosen;
    }
    for (String id : settings.only()) {
      String[] parts = id.split("/", -1);
      assertThat(parts.length == 3 && parts[1].startsWith("s") && parts[2].startsWith("q"))
          .as("corpus.random.only: %s is not like trigger/s2/q07", id)
          .isTrue();
      if (parts[0].equals(capture)) {
        chosen
            .computeIfAbsent(Integer.parseInt(parts[1].substring(1)), s -> new TreeSet<>())
            .add(Integer.parseInt(parts[2].substring(1)));
      }
    }
    return chosen;
  }

  /** One schema in a fresh database: its stream tables, its rounds of changes and checks. */
  private static final class SchemaRun {
    private final String method;
    private final CdcModeSpec cdc;
    private final String schemaId;
    private final Settings settings;
    private final CorpusTally tally;
    private final Summary summary;
    private final RandomSchema schema;
    private final List<RandomQuery> queries = new ArrayList<>();
    private final Map<String, RandomQuery> live = new LinkedHashMap<>();
    private final Map<String, RefreshMode> modes = new HashMap<>();
    private final List<String> log = new ArrayList<>();

    SchemaRun(
        String method,
        CdcModeSpec cdc,
        String capture,
        int number,
        Set<Integer> queryNumbers,
        Settings settings,
        CorpusTally tally,
        Summary summary) {
      this.method = method;
      this.cdc = cdc;
      this.schemaId = capture + "/s" + number;
      this.settings = settings;
      this.tally = tally;
      this.summary = summary;
      this.schema = schema(settings.seed(), schemaId, settings.rows());
      for (int q : queryNumbers) {
        String id = String.format(Locale.ROOT, "%s/q%02d", schemaId, q);
        queries.add(query(settings.seed(), schema, id, settings.outside()));
      }
    }

    void run(List<String> failures) throws Exception {
      long started = System.nanoTime();
      int before = failures.size();
      CorpusDatabase db = CorpusDatabase.fresh();
      try {
        boolean wal = cdc == CdcModeSpec.WAL;
        if (wal) {
          // The server commits with synchronous_commit off, and WAL is decoded once flushed:
          // our commits flush, so a refresh right after them must see every change.
          db.execute("SET synchronous_commit = on");
        }
        for (String sql : schema.ddl(wal)) {
          db.execute(sql);
        }
        for (String sql : schema.initialRows()) {
          db.execute(sql);
        }
        for (RandomQuery query : queries) {
          failures.addAll(create(db, query));
        }
        long created = System.nanoTime();
        RandomDml dml =
            new RandomDml(
                db, new Random(CorpusSettings.derive(settings.seed(), "random dml " + schemaId)));
        RandomChanges changes =
            new RandomChanges(
                db,
                schema,
                new Random(CorpusSettings.derive(settings.seed(), "random changes " + schemaId)),
                settings.rows());
        for (int round = 1; round <= settings.rounds() && !live.isEmpty(); round++) {
          int dmlSeen = dml.log().size();
          int changesSeen = changes.log().size();
          dml.round(schema.tableNames());
          changes.round();
          log.add("-- round " + round);
          dml.log().subList(dmlSeen, dml.log().size()).forEach(s -> log.add(s + ";"));
          log.addAll(changes.log().subList(changesSeen, changes.log().size()));
          for (RandomQuery query : new ArrayList<>(live.values())) {
            check(db, query, round).ifPresent(failures::add);
          }
        }
        System.out.printf(
            "  %s: %d tables, %d of %d queries live, create %d ms, %d rounds %d ms%n",
            schemaId,
            schema.tables().size(),
            live.size(),
            queries.size(),
            (created - started) / 1_000_000,
            settings.rounds(),
            (System.nanoTime() - created) / 1_000_000);
      } finally {
        db.close(failures.size() == before);
      }
    }

    private RefreshMode modeOf(RandomQuery query) {
      return modes.getOrDefault(query.id(), settings.requested(query));
    }

    private static String name(RandomQuery query) {
      return "st_" + query.id().substring(query.id().lastIndexOf('/') + 1);
    }

    private List<String> create(CorpusDatabase db, RandomQuery query) throws Exception {
      String corpusId = "random:" + settings.seed() + "/" + query.id();
      Optional<String> known = KnownIssues.of(corpusId);
      if (known.isPresent()) {
        tally.knownIssueSkipped(corpusId + ": " + known.get());
        System.out.println("SKIPPED (known issue) " + corpusId + ": " + known.get());
        return List.of();
      }
      summary.shape(query.shape());
      Optional<SQLException> runs = db.queryError(query.sql());
      if (runs.isPresent()) {
        // The generator's fault, not the engine's: every generated query must run.
        tally.admitted(
            query.id(),
            Admission.refused(Admission.Verdict.POSTGRES_REFUSES, query.sql(), runs.get()));
        return List.of(
            failure(
                query,
                0,
                "PostgreSQL refuses the generated query: " + runs.get().getMessage(),
                false));
      }
      List<String> failures = new ArrayList<>();
      RefreshMode mode = settings.requested(query);
      if (!query.inClass() && settings.inClassMode() == RefreshMode.DIFFERENTIAL) {
        // Outside the class, DIFFERENTIAL is refused with InvalidSpec (and AUTO falls back);
        // should the engine take one anyway, it is kept, and checked like the others.
        try {
          db.engine().apply(definition(query, RefreshMode.DIFFERENTIAL), OWNER);
          tally.count("queries outside the class accepted with refreshMode DIFFERENTIAL");
          mode = RefreshMode.DIFFERENTIAL;
        } catch (EngineException e) {
          if (e.reason() == Reason.InvalidSpec) {
            tally.count("queries outside the class refused with DIFFERENTIAL (InvalidSpec)");
          } else {
            failures.add(
                failure(
                    query,
                    0,
                    "refreshMode DIFFERENTIAL refused with "
                        + e.reason()
                        + ", not InvalidSpec: "
                        + e.getMessage(),
                    false));
          }
        }
      }
      if (query.inClass() && mode == RefreshMode.DIFFERENTIAL) {
        try {
          db.engine().apply(definition(query, mode), OWNER);
        } catch (EngineException e) {
          if (e.reason() != Reason.InvalidSpec) {
            failures.add(
                failure(
                    query,
                    0,
                    "refreshMode DIFFERENTIAL refused with "
                        + e.reason()
                        + ", not InvalidSpec: "
                        + e.getMessage(),
                    false));
            return failures;
          }
          // The engine does not maintain this one differentially: counted by why, and still
          // checked, with AUTO.
          summary.refused(Admission.normalize(e.getMessage()), query);
          mode = RefreshMode.AUTO;
        }
      }
      modes.put(query.id(), mode);
      if (mode != RefreshMode.DIFFERENTIAL) {
        try {
          db.engine().apply(definition(query, mode), OWNER);
        } catch (EngineException e) {
          Admission refused = Admission.engineRefused(query.sql(), e);
          tally.admitted(query.id(), refused);
          if (refused.unexpectedEngineRefusal()) {
            failures.add(
                failure(
                    query,
                    0,
                    "the engine refused it with refreshMode "
                        + mode
                        + ": "
                        + e.reason()
                        + ": "
                        + e.getMessage(),
                    false));
          }
          return failures;
        }
      }
      tally.admitted(query.id(), Admission.accepted(Admission.Verdict.ACCEPTED, query.sql()));
      live.put(query.id(), query);
      String blocker = catalog(db, query, "differential_blocker");
      if (blocker != null) {
        summary.notDifferential(
            (query.inClass() ? "in the class: " : "outside the class: ")
                + Admission.normalize(blocker));
      }
      System.out.printf(
          "  %s %s (%s, %d rows): %s%n",
          query.id(), query.shape(), mode, db.rowCount(name(query)), query.sql());
      long differences = db.differences(name(query), query.sql());
      if (differences != 0) {
        live.remove(query.id());
        failures.add(
            failure(
                query, 0, differences + " rows differ from the query right after create", true));
      } else {
        tally.count("equal to its query after create");
      }
      return failures;
    }

    /** The rows only the stream table has, and those only the query has (ten of each at most). */
    private static String differingRows(CorpusDatabase db, RandomQuery query) throws SQLException {
      String columns =
          String.join(
              ", ",
              db.column(
                  "SELECT 's.' || quote_ident(attname) FROM pg_attribute WHERE attrelid = '"
                      + name(query)
                      + "'::regclass AND attnum > 0 AND NOT attisdropped"
                      + " AND attname NOT LIKE 'pgt\\_%' ORDER BY attnum"));
      String table = "SELECT ROW(" + columns + ")::text FROM " + name(query) + " s";
      String result = "SELECT ROW(q.*)::text FROM (" + query.sql() + ") q";
      return "\n  only in the stream table: "
          + db.column(
              "SELECT * FROM (" + table + " EXCEPT ALL " + result + ") d ORDER BY 1 LIMIT 10")
          + "\n  only in the query's result: "
          + db.column(
              "SELECT * FROM (" + result + " EXCEPT ALL " + table + ") d ORDER BY 1 LIMIT 10");
    }

    /** A column of the stream table's catalog row, as text. */
    private static String catalog(CorpusDatabase db, RandomQuery query, String column)
        throws SQLException {
      return db.column(
              "SELECT "
                  + column
                  + " FROM pgtrickle.pgt_stream_tables WHERE st_schema = 'public'"
                  + " AND st_name = '"
                  + name(query)
                  + "'")
          .get(0);
    }

    private StreamTableDefinition definition(RandomQuery query, RefreshMode mode)
        throws EngineException {
      StreamTableSpec spec = new StreamTableSpec();
      spec.setName(name(query));
      spec.setQuery(query.sql());
      spec.setSchedule("1s");
      spec.setCdcMode(cdc);
      spec.setRefreshMode(mode);
      return StreamTableDefinition.from(spec);
    }

    private Optional<String> check(CorpusDatabase db, RandomQuery query, int round)
        throws Exception {
      String name = name(query);
      // Whether the round changed the query's result at all: a refresh that did nothing is
      // caught only by those checks, so their share is what the test's changes are worth.
      boolean stale = db.differences(name, query.sql()) != 0;
      tally.count(
          stale
              ? "checks where the round changed the query's result"
              : "checks where the round left the query's result as it was");
      RefreshOutcome outcome;
      try {
        outcome = db.refresh(name);
      } catch (EngineException e) {
        Optional<SQLException> itself = db.queryError(query.sql());
        if (itself.isPresent()) {
          tally.count(
              "refresh failed because the query itself fails on the changed data ("
                  + itself.get().getSQLState()
                  + ")");
          return Optional.empty();
        }
        live.remove(query.id());
        return Optional.of(
            failure(query, round, "refresh failed, the query does not: " + e.getMessage(), true));
      }
      String group =
          (query.inClass() ? "in the class" : "outside the class")
              + ", refreshMode "
              + modeOf(query);
      if (outcome.kind() == RefreshOutcome.Kind.APPLIED) {
        summary.refresh(group, catalog(db, query, "last_refresh_mode"));
        String reason = catalog(db, query, "last_refresh_reason");
        if (reason != null) {
          summary.fullBecause(Admission.normalize(reason));
          if (query.shape() == RandomQueries.Shape.EXTREME_SUBQUERY) {
            // Whether its subquery was joined as a grouped block (then not "read by a subquery
            // of an expression") shows here.
            String normalized = Admission.normalize(reason);
            tally.count(
                "EXTREME_SUBQUERY refreshed FULL: "
                    + normalized
                    + (normalized.contains("subquery of an expression")
                        ? " (not joined: " + query.id() + ")"
                        : ""));
          }
          if (reason.startsWith("the differential refresh failed")
              || reason.startsWith("the query no longer models")) {
            // The table is right only because FULL took over: the differential path is broken.
            live.remove(query.id());
            return Optional.of(failure(query, round, "DIFFERENTIAL fell back: " + reason, true));
          }
        }
      } else {
        summary.refresh(group, outcome.kind().toString());
      }
      long differences = db.differences(name, query.sql());
      if (differences != 0) {
        live.remove(query.id()); // one failure a query: later rounds build on a wrong table
        return Optional.of(
            failure(
                query,
                round,
                differences + " rows differ from the query" + differingRows(db, query),
                true));
      }
      tally.count("equal to its query after a round of changes");
      if (db.rowCount(name) == 0) {
        tally.count("checks where the query's result was empty");
      }
      return Optional.empty();
    }

    /** What failed, with the seed, the query, the schema and the changes, and a psql script. */
    private String failure(RandomQuery query, int round, String what, boolean script) {
      String replay = settings.replay(method, query.id());
      String header =
          String.format(
              Locale.ROOT,
              "seed %d, %s (%s, refreshMode %s, %s capture), %s: %s",
              settings.seed(),
              query.id(),
              query.shape(),
              modeOf(query),
              cdc,
              round == 0 ? "at create" : "after round " + round,
              what);
      List<String> shown =
          log.size() > MAX_LOG_LINES ? log.subList(log.size() - MAX_LOG_LINES, log.size()) : log;
      StringBuilder out = new StringBuilder(header);
      out.append("\n  query: ").append(query.sql());
      out.append("\n  replay: ").append(replay);
      if (script) {
        out.append("\n  script: ").append(writeScript(query, header, replay));
      }
      out.append("\n  schema:\n    ")
          .append(schema.script(cdc == CdcModeSpec.WAL).replace("\n", "\n    "));
      if (!log.isEmpty()) {
        out.append("\n  changes so far")
            .append(shown.size() < log.size() ? " (the last " + MAX_LOG_LINES + " lines)" : "")
            .append(":\n    ")
            .append(String.join("\n    ", shown));
      }
      return out.toString();
    }

    /** A psql script that rebuilds the case: schema, query, changes; its path, or why not. */
    private String writeScript(RandomQuery query, String header, String replay) {
      Path dir = scriptDirectory();
      Path file = dir.resolve(settings.seed() + "-" + query.id().replace('/', '-') + ".sql");
      StringBuilder text = new StringBuilder();
      text.append("-- ").append(header.replace("\n", "\n-- ")).append('\n');
      text.append("-- replay: ").append(replay).append('\n');
      text.append(schema.script(cdc == CdcModeSpec.WAL)).append('\n');
      text.append("-- the stream table, refreshMode ")
          .append(modeOf(query))
          .append(", cdcMode ")
          .append(cdc)
          .append(":\n-- ")
          .append(query.sql())
          .append('\n');
      log.forEach(line -> text.append(line).append('\n'));
      try {
        Files.createDirectories(dir);
        Files.writeString(file, text.toString(), StandardCharsets.UTF_8);
        return file.toString();
      } catch (IOException e) {
        return "not written: " + e.getMessage();
      }
    }
  }
}
