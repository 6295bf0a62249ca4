package io.pgtrickle.operator.engine.refresh;

import io.pgtrickle.operator.api.RefreshMode;
import io.pgtrickle.operator.cdc.ChangeBuffer;
import io.pgtrickle.operator.differential.DeparsedQuery;
import io.pgtrickle.operator.differential.model.Grouping;
import io.pgtrickle.operator.differential.model.QueryModel;
import io.pgtrickle.operator.differential.model.TableOccurrence;
import io.pgtrickle.operator.differential.plan.Layout;
import io.pgtrickle.operator.differential.sql.ApplySql;
import io.pgtrickle.operator.differential.sql.ChangedSources;
import io.pgtrickle.operator.differential.sql.DeltaSql;
import io.pgtrickle.operator.differential.sql.StateQuery;
import io.pgtrickle.operator.naming.StableName;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Applies only the change of the query's result: each source's net change in the window (an insert
 * and a delete of the same row cancel; an update is the old row out and the new one in), the
 * query's change derived from them ({@link DeltaSql}), and that applied to the storage. Reads the
 * window of each change buffer and, through indexes, the rows the change touches; never a whole
 * source or the whole storage (except where the query itself must, e.g. a join without an index).
 *
 * <p>Statements whose results are not read go to the server together, in one round trip each group;
 * the temp tables are {@code ON COMMIT DROP}, and a rollback to the caller's savepoint drops them
 * too, so a refresh never finds one left over.
 */
public final class DifferentialRefresh implements RefreshStrategy {
  /** Test seam: called once the query's change is computed, before it is applied. */
  public interface DeltaHook {
    DeltaHook NONE = connection -> {};

    void computed(Connection connection) throws SQLException;
  }

  /**
   * A delta table of at least this many rows gets its source's indexes (when a term may probe it,
   * see {@link #probedPerRow}): then a term that probes a source's old state once per row of
   * another change finds both halves of it (the table and the delta) through an index, instead of
   * scanning the delta once per probe. Measured with TPC-H at SF 0.1 (docs/benchmarks.md): without
   * them q4 at 1% took 10 s instead of 0.27 s; from 100 rows up rather than 1,000 was as fast or
   * faster.
   */
  static final long DELTA_INDEX_MIN_ROWS = 100;

  /**
   * Up to this many rows in the sources' delta tables the query's change is applied in one
   * statement ({@link ApplySql#applyInOne}), without temp tables of its own; the planner estimates
   * its steps from the analyzed delta tables. Past it the change and the touched groups are kept in
   * analyzed temp tables, so joining them with a large storage probes its row-id index.
   */
  static final long IN_ONE_MAX_DELTA_ROWS = 10_000;

  private final DeltaHook hook;

  public DifferentialRefresh(DeltaHook hook) {
    this.hook = hook;
  }

  @Override
  public RefreshMode mode() {
    return RefreshMode.DIFFERENTIAL;
  }

  @Override
  public long apply(Connection connection, RefreshTarget target, ChangeWindow window)
      throws SQLException {
    DifferentialTarget differential =
        target
            .differential()
            .orElseThrow(() -> new IllegalStateException("not a differential layout"));
    try (Statement statement = connection.createStatement()) {
      List<String> settings = new ArrayList<>(SETTINGS);
      Optional<StableName> inline = inlineDelta(differential.model(), window);
      inline
          .map(source -> window.consumedSnapshots().get(source))
          .ifPresent(
              snapshot ->
                  settings.add(ChangeBuffer.windowSetting(windowSetting(inline.get()), snapshot)));
      Map<StableName, Long> deltaRows =
          inline.isPresent() ? Map.of() : netChanges(statement, differential, window, settings);
      Set<StableName> changed = new LinkedHashSet<>(deltaRows.keySet());
      inline.ifPresent(changed::add);
      ChangedSources sources =
          new Sources(
              changed,
              differential,
              inline.map(source -> Map.of(source, inlineSql(differential, window, source))));
      Optional<String> core = new DeltaSql(differential.model(), sources).coreQuery();
      if (core.isEmpty()) {
        return 0;
      }
      ApplySql sql =
          new ApplySql(
              differential.model(),
              differential.queryColumns(),
              target.storageTable(),
              target.rowMatch() == RefreshTarget.RowMatch.NUMBERED_COPIES
                  || target.rowMatch() == RefreshTarget.RowMatch.GROUP_ID);
      // A change read straight from the buffer made no delta table: 0 rows here.
      long changedRows = deltaRows.values().stream().mapToLong(Long::longValue).sum();
      boolean inOne =
          sql.appliesInOne()
              && changedRows <= IN_ONE_MAX_DELTA_ROWS
              && !differential.readsAcrossNodes();
      // The settings if not sent yet and the delta tables' indexes and statistics, then the core's
      // change (or the whole apply), in one round trip.
      for (String setting : settings) {
        statement.addBatch(setting);
      }
      analyzeDeltas(statement, differential, deltaRows, changed);
      if (inOne) {
        // No temp table for the query's change or its application: for a small change their
        // creation, statistics and drop at commit would be most of the refresh.
        statement.executeBatch();
        hook.computed(connection);
        return countOf(connection, statement, sql.applyInOne(core.get()));
      }
      statement.addBatch(DeltaSql.intoCoreDelta(core.get()));
      statement.executeBatch();
      hook.computed(connection);
      Layout layout = Layout.of(differential.model());
      List<String> statements =
          switch (layout) {
            case BAG -> sql.applyBag();
            case GROUPS_ALGEBRAIC -> sql.applyAlgebraicGroups();
            case GROUPS_RECOMPUTED -> sql.touchedGroups();
          };
      for (String each : statements) {
        statement.addBatch(each);
      }
      int[] counts = statement.executeBatch();
      long rows = 0;
      for (int i = 0; i < statements.size(); i++) {
        String each = statements.get(i);
        if (each.startsWith("DELETE") || each.startsWith("INSERT")) {
          rows += Math.max(0, counts[i]); // the storage's rows; the temp tables' are not changes
        }
      }
      if (layout != Layout.BAG) {
        rows += recompute(statement, sql, differential);
      }
      return rows;
    }
  }

  /**
   * Runs a statement that returns one count. As a prepared statement, which the driver keeps on the
   * server once run a few times with the same text (an inlined window's text is the same from one
   * refresh to the next): PostgreSQL then neither parses nor plans it again. Not when the text has
   * a {@code ?}, which the driver would read as a parameter (jsonb's operators).
   */
  private static long countOf(Connection connection, Statement statement, String sql)
      throws SQLException {
    if (sql.indexOf('?') >= 0) {
      try (ResultSet rs = statement.executeQuery(sql)) {
        rs.next();
        return rs.getLong(1);
      }
    }
    try (PreparedStatement prepared = connection.prepareStatement(sql);
        ResultSet rs = prepared.executeQuery()) {
      rs.next();
      return rs.getLong(1);
    }
  }

  /**
   * The delta tables' indexes (where a term may probe them) and statistics, added to the batch.
   * Statistics only of the columns the query names (no other is ever estimated), and none for the
   * delta of a query over one table occurrence: its one term scans the delta, nothing is joined
   * (ANALYZE of 1,500 TPC-H line items was 6 ms of q6's refresh). A sample of 3,000 rows is
   * statistics enough for a delta, and ANALYZE of a wide one with the default 30,000 costs as much
   * as decoding it.
   */
  private static void analyzeDeltas(
      Statement statement,
      DifferentialTarget differential,
      Map<StableName, Long> deltaRows,
      Set<StableName> changed)
      throws SQLException {
    QueryModel model = differential.model();
    if (deltaRows.isEmpty() || model.everyTable().size() == 1) {
      return;
    }
    statement.addBatch("SET LOCAL default_statistics_target = 10");
    for (StableName source : deltaRows.keySet()) {
      String temp = ChangedSources.deltaTable(source);
      if (deltaRows.get(source) >= DELTA_INDEX_MIN_ROWS && probedPerRow(model, source, changed)) {
        for (List<String> columns :
            indexColumns(differential.sourceIndexes().get(source), model.text())) {
          statement.addBatch("CREATE INDEX ON " + temp + " (" + String.join(", ", columns) + ")");
        }
      }
      List<String> named =
          differential.sourceColumns().get(source).stream()
              .filter(column -> names(model.text(), column))
              .toList();
      statement.addBatch(
          "ANALYZE " + temp + (named.isEmpty() ? "" : " (" + String.join(", ", named) + ")"));
    }
    statement.addBatch("SET LOCAL default_statistics_target TO DEFAULT");
  }

  /**
   * What the differential step sets for its transaction (sent with its first batch): the model's
   * text was printed under search_path pg_catalog (the caller pinned it; pinned again here, as the
   * SQL is made from that text); and the planner settings.
   */
  private static final List<String> SETTINGS =
      List.of(
          DeparsedQuery.PIN_SEARCH_PATH,
          // The caller asked for generic plans for its catalog statement; the change's statements
          // are planned with their values, as the server's default does.
          "SET LOCAL plan_cache_mode = auto",
          "SET LOCAL jit = off",
          // A refresh reads few rows of tables that are mostly cached: index probes are cheap, and
          // at the default 4.0 the planner scans a whole table where a few probes would do (TPC-H
          // q12 at 1%: 239 ms against 140 ms, docs/benchmarks.md).
          "SET LOCAL random_page_cost = 1.1");

  /**
   * The one changed source whose change can be read straight from its buffer, with no temp table:
   * the only source with rows in the window, a handful of them, read by one linear occurrence (a
   * term then reads its change once, and no term reads its old state) and not by a subquery of an
   * expression. A temp table, its statistics and its drop at commit cost more than a one-row
   * refresh's work itself.
   */
  static Optional<StableName> inlineDelta(QueryModel model, ChangeWindow window) {
    Set<StableName> read = new LinkedHashSet<>();
    model.everyTable().forEach(t -> read.add(t.source()));
    read.addAll(model.frozen());
    List<StableName> candidates = read.stream().filter(window::mayHaveChanges).toList();
    if (candidates.size() != 1) {
      return Optional.empty();
    }
    StableName source = candidates.get(0);
    long linear = model.allTables().stream().filter(t -> t.source().equals(source)).count();
    long every = model.everyTable().stream().filter(t -> t.source().equals(source)).count();
    boolean few = window.fewRows(source).isPresent();
    return few && linear == 1 && every == 1 && !model.frozen().contains(source)
        ? Optional.of(source)
        : Optional.empty();
  }

  /**
   * The change of a source as a subquery over its buffer, the same rows its delta table would hold.
   * {@code LIMIT} the window's buffer rows, which the change cannot exceed (a row per copy, a copy
   * per buffer row at most): it changes nothing but the planner's estimate, which is otherwise
   * 1,000 rows per buffer row (generate_series).
   */
  private static String inlineSql(
      DifferentialTarget target, ChangeWindow window, StableName source) {
    String unconsumed =
        window.consumedSnapshots().get(source) == null
            ? "true"
            : ChangeBuffer.unconsumedBySetting("b", windowSetting(source));
    return "("
        + deltaQuery(target, source, unconsumed)
        + " LIMIT "
        + window.fewRows(source).getAsLong()
        + ")";
  }

  /** The setting that holds the consumed snapshot of an inlined source's window. */
  private static String windowSetting(StableName source) {
    return "pgtrickle.window_" + source.value();
  }

  /** The net change of a source's window: a row per copy, weight +1 or -1. */
  private static String deltaQuery(
      DifferentialTarget target, ChangeWindow window, StableName source) {
    return deltaQuery(
        target, source, ChangeBuffer.unconsumed("b", window.consumedSnapshots().get(source)));
  }

  /** The net change of the buffer rows {@code unconsumed} selects (alias {@code b}). */
  private static String deltaQuery(
      DifferentialTarget target, StableName source, String unconsumed) {
    return "SELECT (x.r).*, x.w AS pgt__w FROM (SELECT c.row_data::"
        + target.sourceTables().get(source)
        + " AS r, sign(c.n)::int AS w, abs(c.n) AS k FROM (SELECT b.row_data,"
        + " sum(CASE b.op WHEN 'I' THEN 1 ELSE -1 END) AS n FROM "
        + target.changeBuffers().get(source)
        + " b WHERE b.op IN ('I', 'D') AND "
        + unconsumed
        // OFFSET 0 keeps the subquery from being pulled up, which would expand (x.r).* into one
        // record_in of the row's text per column.
        + " GROUP BY b.row_data) c WHERE c.n <> 0 OFFSET 0) x"
        + " CROSS JOIN LATERAL pg_catalog.generate_series(1, x.k)";
  }

  /** Inserts the groups marked for recomputation, read from the sources. */
  private static long recompute(Statement statement, ApplySql sql, DifferentialTarget target)
      throws SQLException {
    boolean anyNullKey;
    boolean any;
    try (ResultSet rs = statement.executeQuery(sql.recomputedWithNullKey())) {
      rs.next();
      anyNullKey = rs.getBoolean(1);
      any = rs.getBoolean(2);
    }
    if (!any) {
      return 0;
    }
    StateQuery state = new StateQuery(target.model(), target.queryColumns());
    if (target.model().grouping().kind() == Grouping.Kind.SINGLE_GROUP) {
      return statement.executeUpdate(sql.insertRecomputed(state, false));
    }
    long rows = statement.executeUpdate(sql.insertRecomputed(state, false));
    if (anyNullKey) {
      rows += statement.executeUpdate(sql.insertRecomputed(state, true));
    }
    return rows;
  }

  /**
   * One temp table per source the query reads whose window holds buffer rows: the net change of its
   * window, a row per copy with weight +1 or -1. A source whose window is empty did not change and
   * gets none. Returns the sources whose net change is not empty, with its rows. {@code settings}
   * go with the first batch, and are emptied once sent.
   */
  private static Map<StableName, Long> netChanges(
      Statement statement, DifferentialTarget target, ChangeWindow window, List<String> settings)
      throws SQLException {
    Set<StableName> read = new LinkedHashSet<>();
    for (TableOccurrence table : target.model().everyTable()) {
      read.add(table.source());
    }
    read.addAll(target.model().frozen());
    List<StableName> candidates = new ArrayList<>();
    for (StableName source : read) {
      if (window.mayHaveChanges(source)) {
        candidates.add(source);
      }
    }
    if (window.bufferRows().isPresent()) {
      // Some changes mean FULL whatever they are (a table read by a subquery of an expression,
      // two non-linear tables): DeltaSql says so from which sources changed, so it is asked
      // first, with the sources that have rows in their window, before any is decoded. (A window
      // whose rows cancel out then also runs FULL, which is exact all the same.)
      new DeltaSql(target.model(), new Sources(Set.copyOf(candidates), target, Optional.empty()))
          .coreQuery();
    }
    return candidates.isEmpty()
        ? Map.of()
        : createDeltas(statement, target, window, candidates, settings);
  }

  /** Creates the sources' delta tables in one round trip; returns the non-empty, with rows. */
  private static Map<StableName, Long> createDeltas(
      Statement statement,
      DifferentialTarget target,
      ChangeWindow window,
      List<StableName> sources,
      List<String> settings)
      throws SQLException {
    int first = settings.size();
    for (String setting : settings) {
      statement.addBatch(setting);
    }
    settings.clear();
    for (StableName source : sources) {
      statement.addBatch(
          "CREATE TEMP TABLE "
              + ChangedSources.deltaTable(source).substring("pg_temp.".length())
              + " ON COMMIT DROP AS "
              + deltaQuery(target, window, source));
    }
    int[] counts = statement.executeBatch();
    Map<StableName, Long> changed = new LinkedHashMap<>();
    for (int i = 0; i < sources.size(); i++) {
      long rows = counts[first + i];
      if (rows > 0) {
        changed.put(sources.get(i), rows);
      }
    }
    return changed;
  }

  /**
   * Whether a term may read the source's delta once per row of something else, where an index on
   * the delta pays: as part of its old state, which a term reads when another source changed too,
   * or another occurrence of the same source (a self-join); or as the change of a non-linear table
   * (the right side of a LEFT JOIN, an EXISTS table), counted per preserved or outer row. The delta
   * of the only changed source, occurring once and linear, is read once, as the driving side.
   */
  static boolean probedPerRow(QueryModel model, StableName source, Set<StableName> changed) {
    if (changed.size() > 1) {
      return true;
    }
    long linear = model.allTables().stream().filter(t -> t.source().equals(source)).count();
    long every = model.everyTable().stream().filter(t -> t.source().equals(source)).count();
    return linear > 1 || every > linear;
  }

  /**
   * The column lists to index a delta table on: its source's B-tree indexes' keys whose first
   * column the query names at all (only those can serve a probe of it), without one that is a
   * prefix of another (the longer serves the same probes) or repeats one.
   */
  static List<List<String>> indexColumns(List<List<String>> sourceIndexes, String queryText) {
    List<List<String>> kept = new ArrayList<>();
    if (sourceIndexes == null) {
      return kept;
    }
    for (List<String> index : sourceIndexes) {
      boolean prefixOfAnother =
          sourceIndexes.stream()
              .anyMatch(
                  other ->
                      other.size() > index.size() && other.subList(0, index.size()).equals(index));
      if (!index.isEmpty()
          && !prefixOfAnother
          && !kept.contains(index)
          && names(queryText, index.get(0))) {
        kept.add(index);
      }
    }
    return kept;
  }

  /**
   * Whether PostgreSQL's text of the query names a column: as its quoted identifier, or, for a name
   * that needs no quotes, as a word.
   */
  static boolean names(String queryText, String quotedColumn) {
    if (queryText.contains(quotedColumn)) {
      return true;
    }
    String raw = quotedColumn.substring(1, quotedColumn.length() - 1).replace("\"\"", "\"");
    return raw.matches("[a-z_][a-z0-9_$]*")
        && java.util.regex.Pattern.compile(
                "(?<![A-Za-z0-9_$\"])" + java.util.regex.Pattern.quote(raw) + "(?![A-Za-z0-9_$\"])")
            .matcher(queryText)
            .find();
  }

  /** The changed sources of this refresh and their old state (now minus the change). */
  private static final class Sources implements ChangedSources {
    private final Set<StableName> changed;
    private final DifferentialTarget target;
    private final Optional<Map<StableName, String>> inline;

    Sources(
        Set<StableName> changed,
        DifferentialTarget target,
        Optional<Map<StableName, String>> inline) {
      this.changed = changed;
      this.target = target;
      this.inline = inline;
    }

    @Override
    public boolean changed(StableName source) {
      return changed.contains(source);
    }

    @Override
    public String delta(StableName source) {
      return inline.map(i -> i.get(source)).orElseGet(() -> ChangedSources.deltaTable(source));
    }

    @Override
    public Optional<String> oldBag(StableName source) {
      List<String> key = target.sourceKeys().getOrDefault(source, List.of());
      if (key.isEmpty()) {
        return Optional.empty();
      }
      // With a key, the rows the window added or changed are the table's rows whose key an added
      // row of the change has; the rows it removed or changed come back from the change.
      List<String> columns = target.sourceColumns().get(source);
      String sameKey = String.join(" AND ", key.stream().map(k -> "d." + k + " = t." + k).toList());
      return Optional.of(
          "SELECT t.* FROM "
              + target.sourceTables().get(source)
              + " t WHERE NOT EXISTS (SELECT 1 FROM "
              + delta(source)
              + " d WHERE d.pgt__w > 0 AND "
              + sameKey
              + ") UNION ALL SELECT "
              + String.join(", ", columns.stream().map(c -> "d." + c).toList())
              + " FROM "
              + delta(source)
              + " d WHERE d.pgt__w < 0");
    }

    @Override
    public String oldState(StableName source) {
      // A UNION ALL of two plain SELECTs: PostgreSQL flattens it into an append, so a join
      // condition on it still reaches the source's indexes (and the delta table's, when it has
      // them).
      return "SELECT t.*, 1 AS pgt__w FROM "
          + target.sourceTables().get(source)
          + " t UNION ALL SELECT "
          + String.join(
              ", ", target.sourceColumns().get(source).stream().map(c -> "d." + c).toList())
          + ", - d.pgt__w FROM "
          + delta(source)
          + " d";
    }
  }
}
