package io.pgtrickle.operator.engine;

import io.pgtrickle.operator.api.RefreshMode;
import io.pgtrickle.operator.capture.CaptureNode;
import io.pgtrickle.operator.capture.WalCapture;
import io.pgtrickle.operator.catalog.Placement;
import io.pgtrickle.operator.cdc.ChangeBuffer;
import io.pgtrickle.operator.cdc.ChangeText;
import io.pgtrickle.operator.differential.DeparsedQuery;
import io.pgtrickle.operator.differential.Supportability;
import io.pgtrickle.operator.differential.model.NotDifferentialException;
import io.pgtrickle.operator.differential.sql.FullRefreshNeeded;
import io.pgtrickle.operator.engine.refresh.ChangeWindow;
import io.pgtrickle.operator.engine.refresh.DifferentialRefresh;
import io.pgtrickle.operator.engine.refresh.DifferentialTarget;
import io.pgtrickle.operator.engine.refresh.RefreshStrategy;
import io.pgtrickle.operator.engine.refresh.RefreshTarget;
import io.pgtrickle.operator.naming.ObjectNames;
import io.pgtrickle.operator.naming.SqlIdentifiers;
import io.pgtrickle.operator.naming.StableName;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import javax.sql.DataSource;

/**
 * Applies captured changes exactly once. A refresh runs in one REPEATABLE READ transaction: it
 * locks the stream table's row (a second engine skips), decides from the change buffers whether
 * anything is unconsumed, applies the difference, and records the new frontier — the transaction's
 * own snapshot — in the same commit. A crash anywhere before the commit leaves the old contents and
 * the old frontier; after it, both new. Nothing is applied twice or lost.
 */
final class Refresher {
  /** Trigger capture lives on the server we are connected to. */
  static final int LOCAL_NODE_ID = CaptureNode.LOCAL.nodeId();

  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(Refresher.class);

  private final DataSource dataSource;
  private final RefreshStrategy fullRefresh;
  private final RefreshStrategy differentialRefresh;
  private final StepHook hook;

  private final WalCapture wal;

  Refresher(DataSource dataSource, RefreshStrategy fullRefresh, StepHook hook, WalCapture wal) {
    this.dataSource = dataSource;
    this.fullRefresh = fullRefresh;
    this.differentialRefresh =
        new DifferentialRefresh(connection -> hook.at(Step.DELTA_COMPUTED, connection));
    this.hook = hook;
    this.wal = wal;
  }

  /** The points of a refresh transaction, in order; tests fail or kill the session at each. */
  enum Step {
    /**
     * WAL sources drained into the buffers, the refresh's transaction not begun: the hook gets no
     * connection (tests commit writes here that the refresh's snapshot sees but no slot delivered).
     */
    DRAINED,
    LOCKED,
    /** Inside a differential refresh: the query's change computed, not yet applied. */
    DELTA_COMPUTED,
    APPLIED,
    /**
     * The frontier recorded and the buffers compacted (one round trip: there is no point between
     * them), not committed.
     */
    RECORDED
  }

  /** Test seam: called at each step with the refresh's connection. */
  interface StepHook {
    StepHook NONE = (step, connection) -> {};

    void at(Step step, Connection connection) throws SQLException;
  }

  /** Generic plans for the catalog statements of a refresh (see {@link #differential}). */
  static final String GENERIC_PLANS = "SET LOCAL plan_cache_mode = force_generic_plan";

  RefreshOutcome refresh(String schema, String name) throws EngineException {
    return refresh(schema, name, Optional.empty());
  }

  /**
   * @param walSources the stream table's WAL-captured sources when the caller has just read them
   *     (empty: read here)
   */
  RefreshOutcome refresh(
      String schema,
      String name,
      Optional<List<io.pgtrickle.operator.catalog.TrackedSource>> walSources)
      throws EngineException {
    String qualified = SqlIdentifiers.qualified(schema, name);
    try {
      // WAL sources first move what their slots hold into the buffers (committed on their own);
      // the refresh then treats those rows exactly like captured trigger rows.
      List<io.pgtrickle.operator.catalog.TrackedSource> wals =
          walSources.isPresent() ? walSources.get() : walSources(schema, name);
      wal.consume(wals);
      hook.at(Step.DRAINED, null);
      try {
        return Transactions.runIsolationSetByWork(
            dataSource,
            connection -> refreshLocked(connection, schema, name, !wals.isEmpty(), null));
      } catch (BarrierNeeded e) {
        return refreshBehindBarrier(schema, name, wals);
      }
    } catch (SQLException e) {
      EngineException failure = StreamTableEngine.unexpected("refresh " + qualified, e);
      recordError(schema, name, failure.getMessage());
      throw failure;
    } catch (EngineException e) {
      recordError(schema, name, e.getMessage());
      throw e;
    }
  }

  /**
   * The initial load (or reload after a query change), inside the creating transaction, which holds
   * the sources' SHARE ROW EXCLUSIVE locks: no source change can commit between the load and the
   * frontier taken right after it.
   */
  void load(
      Connection connection,
      long id,
      StreamTableDefinition definition,
      Placement placement,
      List<SourceTable> sources,
      boolean differentialStorage)
      throws SQLException {
    long started = System.nanoTime();
    ChangeText.pinForTransaction(connection);
    long rows =
        fullRefresh.apply(
            connection,
            target(connection, id, definition.qualifiedName(), placement, differentialStorage),
            emptyWindow());
    long millis = millisSince(started);
    // A new storage starts AUTO's history afresh: the query or the mode may have changed.
    StreamTableCatalog.recordRefresh(
        connection,
        id,
        Frontier.empty(),
        sources.stream().map(s -> s.table().stableName()).toList(),
        LOCAL_NODE_ID,
        fullRefresh.mode().name(),
        null,
        millis,
        rows,
        AutoHistory.NONE.afterFull(millis),
        List.of());
  }

  /**
   * A FULL refresh of a differential layout over WAL-captured sources (differential refreshes will
   * follow it), or a differential one that reads their state: it must read exactly what the slots
   * delivered ({@link WriteBarrier}). The refresh is run again behind the barrier: drained once
   * more with writers held, its snapshot taken, writers released.
   */
  private RefreshOutcome refreshBehindBarrier(
      String schema, String name, List<io.pgtrickle.operator.catalog.TrackedSource> wals)
      throws SQLException, EngineException {
    for (int attempt = 1; ; attempt++) {
      try (WriteBarrier barrier = WriteBarrier.hold(dataSource, wals)) {
        wal.consume(wals, true);
        return Transactions.runIsolationSetByWork(
            dataSource, connection -> refreshLocked(connection, schema, name, true, barrier));
      } catch (BarrierNeeded e) {
        // The transaction was retried (a serialization failure or deadlock) after the barrier
        // was released: a new barrier, a new drain, a new snapshot.
        if (attempt >= BARRIER_ATTEMPTS) {
          throw new EngineException(
              Reason.RefreshFailed,
              "the refresh behind a write barrier was retried "
                  + attempt
                  + " times after the barrier was released; the next refresh tries again",
              e);
        }
      }
    }
  }

  private static final int BARRIER_ATTEMPTS = 3;

  /**
   * Thrown, rolling the refresh back, when it would run FULL, or a differential refresh that reads
   * the sources' state, where {@link WriteBarrier} is due.
   */
  private static final class BarrierNeeded extends RuntimeException {
    private static final long serialVersionUID = 1L;

    BarrierNeeded() {
      super("this refresh over WAL-captured sources needs a write barrier", null, false, false);
    }
  }

  /**
   * @param walSources whether the stream table reads WAL-captured sources
   * @param barrier held until this transaction's snapshot is taken, then released (null: none)
   */
  private RefreshOutcome refreshLocked(
      Connection connection, String schema, String name, boolean walSources, WriteBarrier barrier)
      throws SQLException, EngineException {
    long started = System.nanoTime();
    Optional<StreamTableCatalog.Locked> locked =
        StreamTableCatalog.lockForRefresh(connection, schema, name);
    // The statement above made the transaction REPEATABLE READ and took its snapshot: what it sees
    // is exactly what was drained.
    boolean behindBarrier = barrier != null && barrier.held();
    if (barrier != null) {
      barrier.releaseAfterSnapshot();
    }
    if (locked.isEmpty()) {
      if (StreamTableCatalog.find(connection, schema, name).isEmpty()) {
        throw new EngineException(
            Reason.SourceMissing,
            "stream table " + SqlIdentifiers.qualified(schema, name) + " does not exist");
      }
      return RefreshOutcome.skipped();
    }
    StreamTableRecord record = locked.get().record();
    if (locked.get().frontierMoved()) {
      // Its snapshots and LSNs mean nothing here: the engine re-syncs it before a refresh.
      throw new EngineException(
          Reason.RefreshFailed,
          "the frontier of "
              + SqlIdentifiers.qualified(schema, name)
              + " was taken on another server; it is re-synced in full first");
    }
    hook.at(Step.LOCKED, connection);
    List<StableName> sources = locked.get().sources();
    Map<StableName, String> consumed = new HashMap<>();
    for (StableName source : sources) {
      record
          .frontier()
          .mark(source, LOCAL_NODE_ID)
          .map(NodeMark::snapshot)
          .ifPresent(snapshot -> consumed.put(source, snapshot));
    }
    WindowFacts facts = windowFacts(connection, sources, consumed, record.differentialStorage());
    // A query that reads the clock changes with time alone: refreshed in full on every tick.
    if (facts.pending().isEmpty() && record.timeDependentOn().isEmpty()) {
      return RefreshOutcome.noChanges();
    }
    ChangeWindow window = new ChangeWindow(consumed, Optional.of(facts.bufferRows()));
    RefreshChoice choice =
        RefreshChoice.choose(connection, record, sources, facts.pending(), window, facts.marker());
    boolean fullNeedsBarrier = walSources && record.differentialStorage() && !behindBarrier;
    if (!choice.differential() && fullNeedsBarrier) {
      throw new BarrierNeeded();
    }
    Applied applied =
        choice.differential()
            ? differential(
                connection,
                record,
                sources,
                window,
                fullNeedsBarrier,
                walSources,
                barrier != null && barrier.untilCommit())
            : full(connection, record, sources, window, choice.reason().orElse(null));
    long rows = applied.rows();
    hook.at(Step.APPLIED, connection);
    long millis = millisSince(started);
    AutoHistory history = record.autoHistory();
    if (applied.mode() == RefreshMode.FULL) {
      // A FULL that took over from a differential attempt also paid for the attempt.
      if (!choice.differential()) {
        history = history.afterFull(millis);
      }
    } else if (choice.changes().isPresent()) {
      history = history.afterDifferential(choice.changes().getAsLong(), millis);
    }
    // One round trip: the frontier, marked with this transaction's snapshot (taken in the UPDATE,
    // after the change was applied), and the compaction, which reads the frontier just written.
    StreamTableCatalog.recordRefresh(
        connection,
        record.id(),
        record.frontier().retainOnly(sources),
        sources,
        LOCAL_NODE_ID,
        applied.mode().name(),
        applied.reason(),
        millis,
        rows,
        history,
        compactions(sources));
    hook.at(Step.RECORDED, connection);
    return new RefreshOutcome(RefreshOutcome.Kind.APPLIED, rows, millis);
  }

  /**
   * Per source, its window's buffer rows (counted up to {@link ChangeWindow#COUNTED_UP_TO} and one
   * more); the sources with any; whether any window holds a TRUNCATE or re-sync marker (asked only
   * for a differential layout, of the markers' partial index). One statement, after a cheaper one
   * that says whether there is anything at all.
   */
  private record WindowFacts(
      Map<StableName, Long> bufferRows, List<StableName> pending, boolean marker) {}

  /**
   * Whether any window holds buffer rows: the question of every tick, so asked on its own, in a
   * statement PostgreSQL plans once (the counts and markers' statement is planned each time).
   */
  private static boolean anyPending(
      Connection connection, List<StableName> sources, Map<StableName, String> consumed)
      throws SQLException {
    List<ChangeBuffer.Bound> checks = new ArrayList<>();
    for (StableName source : sources) {
      checks.add(ChangeBuffer.anyUnconsumed(new ObjectNames(source), consumed.get(source)));
    }
    try (PreparedStatement statement =
        connection.prepareStatement(
            "SELECT "
                + String.join(" OR ", checks.stream().map(ChangeBuffer.Bound::sql).toList()))) {
      int parameter = 1;
      for (ChangeBuffer.Bound check : checks) {
        parameter = check.bind(statement, parameter);
      }
      try (ResultSet rs = statement.executeQuery()) {
        rs.next();
        return rs.getBoolean(1);
      }
    }
  }

  private static WindowFacts windowFacts(
      Connection connection,
      List<StableName> sources,
      Map<StableName, String> consumed,
      boolean markers)
      throws SQLException {
    if (sources.isEmpty() || !anyPending(connection, sources, consumed)) {
      return new WindowFacts(Map.of(), List.of(), false);
    }
    List<ChangeBuffer.Bound> counts = new ArrayList<>();
    List<ChangeBuffer.Bound> anyMarker = new ArrayList<>();
    List<String> columns = new ArrayList<>();
    for (int i = 0; i < sources.size(); i++) {
      ObjectNames names = new ObjectNames(sources.get(i));
      String snapshot = consumed.get(sources.get(i));
      counts.add(ChangeBuffer.countUpTo(names, snapshot, ChangeWindow.COUNTED_UP_TO + 1));
      anyMarker.add(ChangeBuffer.anyMarker(names, snapshot));
      columns.add("c.n" + i);
    }
    List<String> markerChecks = new ArrayList<>();
    List<String> countColumns = new ArrayList<>();
    for (int i = 0; i < sources.size(); i++) {
      markerChecks.add("(c.n" + i + " > 0 AND " + anyMarker.get(i).sql() + ")");
      countColumns.add(counts.get(i).sql() + " AS n" + i);
    }
    String sql =
        "SELECT "
            + String.join(", ", columns)
            + ", "
            + (markers ? String.join(" OR ", markerChecks) : "false")
            + " FROM (SELECT "
            + String.join(", ", countColumns)
            + ") c";
    Map<StableName, Long> rows = new HashMap<>();
    List<StableName> pending = new ArrayList<>();
    // Prepared, with the snapshots as parameters: the text is the same every tick.
    try (PreparedStatement statement = connection.prepareStatement(sql)) {
      int parameter = 1;
      if (markers) {
        for (ChangeBuffer.Bound marker : anyMarker) {
          parameter = marker.bind(statement, parameter);
        }
      }
      for (ChangeBuffer.Bound count : counts) {
        parameter = count.bind(statement, parameter);
      }
      try (ResultSet rs = statement.executeQuery()) {
        rs.next();
        for (int i = 0; i < sources.size(); i++) {
          long n = rs.getLong(i + 1);
          rows.put(sources.get(i), n);
          if (n > 0) {
            pending.add(sources.get(i));
          }
        }
        return new WindowFacts(rows, pending, rs.getBoolean(sources.size() + 1));
      }
    }
  }

  /** What a refresh applied: rows changed, the mode that ran, why FULL ran when it did. */
  private record Applied(long rows, RefreshMode mode, String reason) {}

  private Applied full(
      Connection connection,
      StreamTableRecord record,
      List<StableName> sources,
      ChangeWindow window,
      String reason)
      throws SQLException {
    // Row text (row ids) and the query's own results do not depend on which session refreshes.
    ChangeText.pinForTransaction(connection);
    RefreshTarget target =
        record.differentialStorage()
            ? DifferentialStorage.read(connection, record.id(), storageOf(record), sources, false)
                .fullTarget(Placement.fromCatalog(record.placement()))
            : target(
                connection,
                record.id(),
                storageOf(record),
                Placement.fromCatalog(record.placement()),
                false);
    return new Applied(fullRefresh.apply(connection, target, window), fullRefresh.mode(), reason);
  }

  /**
   * Applies the change differentially, under a savepoint: if that fails for a reason other than the
   * connection or the transaction itself, it is rolled back to the savepoint and the refresh runs
   * FULL in the same transaction, so the table is never left stale; the reason is recorded. A
   * rollback to the savepoint also drops the temp tables the differential step made, so nothing of
   * it is in FULL's way.
   */
  private Applied differential(
      Connection connection,
      StreamTableRecord record,
      List<StableName> sources,
      ChangeWindow window,
      boolean fullNeedsBarrier,
      boolean overWal,
      boolean acrossNodes)
      throws SQLException {
    long id = record.id();
    try (Statement statement = connection.createStatement()) {
      // Sent with the facts' statement, in one round trip: row text and the query's results do not
      // depend on the session (pinned before the savepoint, so FULL after a rollback keeps them),
      // and the query's text is printed, and the SQL made from it runs, under search_path
      // pg_catalog.
      List<String> ahead = new ArrayList<>(ChangeText.PIN_STATEMENTS);
      ahead.add("SAVEPOINT pgt_differential");
      ahead.add(DeparsedQuery.PIN_SEARCH_PATH);
      // The facts' catalog statement is the same every refresh and cheap to run, but a custom
      // plan of it costs ~1 ms to make each time (a third of a one-row refresh); its generic
      // plan is made once per connection. DifferentialRefresh sets this back for its own SQL.
      ahead.add(GENERIC_PLANS);
      DifferentialStorage.Facts facts = null;
      try {
        facts = DifferentialStorage.read(connection, id, storageOf(record), sources, true, ahead);
        RefreshTarget target = facts.fullTarget(Placement.fromCatalog(record.placement()));
        DifferentialTarget plan = facts.differential(connection).forWindow(window, acrossNodes);
        if (overWal && Supportability.readsState(plan.model())) {
          if (fullNeedsBarrier) {
            // Not behind the barrier yet (a refresh with nothing to do never takes it): again,
            // behind it.
            throw new BarrierNeeded();
          }
          if (acrossNodes) {
            plan = plan.readingAcrossNodes();
          }
        }
        RefreshTarget withPlan =
            new RefreshTarget(
                target.storageTable(),
                target.queryView(),
                target.columns(),
                target.rowIdColumn(),
                Optional.of(plan),
                target.rowMatch());
        long rows = differentialRefresh.apply(connection, withPlan, window);
        // No RELEASE: the commit releases the savepoint, one round trip fewer.
        return new Applied(rows, differentialRefresh.mode(), null);
      } catch (SQLException e) {
        if (!recoverable(e)) {
          throw e;
        }
        statement.execute("ROLLBACK TO SAVEPOINT pgt_differential");
        LOG.warn(
            "differential refresh of stream table {} failed, refreshing in full: {}",
            id,
            e.getMessage());
        requireNoBarrierNeeded(fullNeedsBarrier);
        return new Applied(
            fullRefresh.apply(connection, fullTarget(connection, record, sources, facts), window),
            fullRefresh.mode(),
            "the differential refresh failed (" + e.getMessage() + "); ran FULL");
      } catch (FullRefreshNeeded e) {
        statement.execute("ROLLBACK TO SAVEPOINT pgt_differential");
        requireNoBarrierNeeded(fullNeedsBarrier);
        return new Applied(
            fullRefresh.apply(connection, fullTarget(connection, record, sources, facts), window),
            fullRefresh.mode(),
            e.getMessage());
      } catch (NotDifferentialException e) {
        statement.execute("ROLLBACK TO SAVEPOINT pgt_differential");
        requireNoBarrierNeeded(fullNeedsBarrier);
        return new Applied(
            fullRefresh.apply(connection, fullTarget(connection, record, sources, facts), window),
            fullRefresh.mode(),
            "the query no longer models differentially (" + e.getMessage() + "); ran FULL");
      }
    }
  }

  /** A FULL in place of a differential step, when it needs the barrier, runs again behind it. */
  private static void requireNoBarrierNeeded(boolean fullNeedsBarrier) {
    if (fullNeedsBarrier) {
      throw new BarrierNeeded();
    }
  }

  /** FULL's target after a rollback to the savepoint: as read before it, or read again. */
  private static RefreshTarget fullTarget(
      Connection connection,
      StreamTableRecord record,
      List<StableName> sources,
      DifferentialStorage.Facts facts)
      throws SQLException {
    return (facts != null
            ? facts
            : DifferentialStorage.read(connection, record.id(), storageOf(record), sources, false))
        .fullTarget(Placement.fromCatalog(record.placement()));
  }

  private static String storageOf(StreamTableRecord record) {
    return SqlIdentifiers.qualified(record.schema(), record.name());
  }

  /**
   * Whether FULL can take over after a failure: not when the connection, the transaction
   * (serialization, deadlock), the server (shutdown, cancel) or its resources failed.
   */
  private static boolean recoverable(SQLException e) {
    String state = e.getSQLState() == null ? "" : e.getSQLState();
    return !(state.startsWith("08")
        || state.startsWith("40")
        || state.startsWith("53")
        || state.startsWith("57")
        || state.startsWith("58"));
  }

  /**
   * Trims each source's buffer below the oldest frontier of its consumers, as this transaction sees
   * them (a stale view only trims less), run after the frontier is recorded. A consumer that has
   * consumed nothing yet keeps everything (the bound is then NULL, and nothing is deleted).
   */
  private static List<String> compactions(List<StableName> sources) {
    List<String> statements = new ArrayList<>();
    for (StableName source : sources) {
      // Stable names are 16 hex digits: safe to inline.
      statements.add(
          "DELETE FROM "
              + new ObjectNames(source).changeBufferQualified()
              + " WHERE xid < (SELECT CASE WHEN bool_or(f.snapshot IS NULL) THEN NULL"
              + " ELSE min(split_part(f.snapshot, ':', 1)::bigint) END FROM (SELECT"
              + " st.frontier -> '"
              + source.value()
              + "' -> '"
              + LOCAL_NODE_ID
              + "' ->> 'snapshot' AS snapshot FROM pgtrickle.pgt_stream_tables st"
              + " JOIN pgtrickle.pgt_dependencies d ON d.stream_table_id = st.id"
              + " WHERE d.source_stable_name = '"
              + source.value()
              + "') f)");
    }
    return statements;
  }

  private List<io.pgtrickle.operator.catalog.TrackedSource> walSources(String schema, String name)
      throws SQLException {
    try (Connection connection = dataSource.getConnection()) {
      return walSources(connection, schema, name);
    }
  }

  /** The stream table's WAL-captured sources. */
  static List<io.pgtrickle.operator.catalog.TrackedSource> walSources(
      Connection connection, String schema, String name) throws SQLException {
    List<StableName> names = new ArrayList<>();
    try (PreparedStatement statement =
        connection.prepareStatement(
            "SELECT t.source_stable_name FROM pgtrickle.pgt_stream_tables st"
                + " JOIN pgtrickle.pgt_dependencies d ON d.stream_table_id = st.id"
                + " JOIN pgtrickle.pgt_change_tracking t"
                + "  ON t.source_stable_name = d.source_stable_name"
                + " WHERE st.st_schema = ? AND st.st_name = ? AND t.cdc_mode = 'wal'")) {
      statement.setString(1, schema);
      statement.setString(2, name);
      try (ResultSet rs = statement.executeQuery()) {
        while (rs.next()) {
          names.add(new StableName(rs.getString(1)));
        }
      }
    }
    return walSources(connection, names);
  }

  /** The WAL-captured sources named (by {@link StreamTableCatalog#checkForRefresh}). */
  static List<io.pgtrickle.operator.catalog.TrackedSource> walSources(
      Connection connection, List<StableName> names) throws SQLException {
    List<io.pgtrickle.operator.catalog.TrackedSource> sources = new ArrayList<>();
    io.pgtrickle.operator.catalog.ChangeTrackingRegistry registry =
        new io.pgtrickle.operator.catalog.ChangeTrackingRegistry();
    for (StableName source : names) {
      registry.find(connection, source).ifPresent(sources::add);
    }
    return sources;
  }

  /**
   * The storage and what it must equal: the query view, or for a differential layout the state view
   * (the query's columns and the hidden state), which FULL then recomputes as a whole.
   */
  private static RefreshTarget target(
      Connection connection,
      long id,
      String storage,
      Placement placement,
      boolean differentialStorage)
      throws SQLException {
    String view =
        differentialStorage ? DifferentialStorage.stateViewOf(id) : StreamTableEngine.viewOf(id);
    if (differentialStorage && placement != Placement.LOCAL) {
      // Keyed as the layout keys it (groups, or numbered copies): as every later FULL reads it.
      return DifferentialStorage.read(connection, id, storage, List.of(), false)
          .fullTarget(placement);
    }
    return new RefreshTarget(
        storage,
        view,
        QueryColumns.of(connection, view).quotedNames(),
        placement == Placement.LOCAL
            ? Optional.empty()
            : Optional.of(SqlIdentifiers.quote(StorageTable.ROW_ID)));
  }

  private static ChangeWindow emptyWindow() {
    return new ChangeWindow(Map.of());
  }

  private void recordError(String schema, String name, String message) {
    try (Connection connection = dataSource.getConnection()) {
      Optional<StreamTableRecord> record = StreamTableCatalog.find(connection, schema, name);
      if (record.isPresent()) {
        StreamTableCatalog.recordError(connection, record.get().id(), message);
      }
    } catch (SQLException ignored) {
      // Best effort: the failure itself is reported to the caller either way.
    }
  }

  private static long millisSince(long startedNanos) {
    return (System.nanoTime() - startedNanos) / 1_000_000;
  }
}
