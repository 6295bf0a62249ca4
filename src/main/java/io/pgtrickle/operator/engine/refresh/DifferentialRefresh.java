package io.pgtrickle.operator.engine.refresh;

import io.pgtrickle.operator.api.RefreshMode;
import io.pgtrickle.operator.cdc.ChangeBuffer;
import io.pgtrickle.operator.differential.DeparsedQuery;
import io.pgtrickle.operator.differential.model.Grouping;
import io.pgtrickle.operator.differential.model.TableOccurrence;
import io.pgtrickle.operator.differential.plan.Layout;
import io.pgtrickle.operator.differential.sql.ApplySql;
import io.pgtrickle.operator.differential.sql.ChangedSources;
import io.pgtrickle.operator.differential.sql.DeltaSql;
import io.pgtrickle.operator.differential.sql.StateQuery;
import io.pgtrickle.operator.naming.StableName;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Applies only the change of the query's result: each source's net change in the window (an insert
 * and a delete of the same row cancel; an update is the old row out and the new one in), the
 * query's change derived from them ({@link DeltaSql}), and that applied to the storage. Reads the
 * window of each change buffer and, through indexes, the rows the change touches; never a whole
 * source or the whole storage (except where the query itself must, e.g. a join without an index).
 */
public final class DifferentialRefresh implements RefreshStrategy {
  /** Test seam: called once the query's change is computed, before it is applied. */
  public interface DeltaHook {
    DeltaHook NONE = connection -> {};

    void computed(Connection connection) throws SQLException;
  }

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
    // The model's text was printed under this search_path; the SQL built from it runs under it
    // (for the rest of the refresh transaction, or until a savepoint around this is rolled back).
    DeparsedQuery.pinSearchPath(connection);
    try (Statement statement = connection.createStatement()) {
      statement.execute("SET LOCAL jit = off");
      Set<StableName> changed = netChanges(statement, differential, window);
      ChangedSources sources = new Sources(changed, differential.sourceTables(), connection);
      DeltaSql delta = new DeltaSql(differential.model(), sources);
      ApplySql sql =
          new ApplySql(differential.model(), differential.queryColumns(), target.storageTable());
      var core = delta.coreDelta();
      if (core.isEmpty()) {
        return 0;
      }
      statement.execute("DROP TABLE IF EXISTS pg_temp.pgt_dq");
      statement.execute(core.get());
      hook.computed(connection);
      Layout layout = Layout.of(differential.model());
      long rows = 0;
      List<String> statements =
          switch (layout) {
            case BAG -> sql.applyBag();
            case GROUPS_ALGEBRAIC -> sql.applyAlgebraicGroups();
            case GROUPS_RECOMPUTED -> sql.touchedGroups();
          };
      for (String each : statements) {
        long count = run(statement, each);
        if (each.startsWith("DELETE") || each.startsWith("INSERT")) {
          rows += count; // the storage's rows; the temp tables' are not changes
        }
      }
      if (layout != Layout.BAG) {
        rows += recompute(statement, sql, differential);
      }
      return rows;
    }
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
   * One temp table per source the query reads: the net change of its window, a row per copy with
   * weight +1 or -1. Returns the sources whose net change is not empty.
   */
  private static Set<StableName> netChanges(
      Statement statement, DifferentialTarget target, ChangeWindow window) throws SQLException {
    Set<StableName> sources = new LinkedHashSet<>();
    for (TableOccurrence table : target.model().everyTable()) {
      sources.add(table.source());
    }
    sources.addAll(target.model().frozen());
    Set<StableName> changed = new LinkedHashSet<>();
    for (StableName source : sources) {
      String temp = ChangedSources.deltaTable(source);
      statement.execute("DROP TABLE IF EXISTS " + temp);
      long rows =
          run(
              statement,
              "CREATE TEMP TABLE "
                  + temp.substring("pg_temp.".length())
                  + " ON COMMIT DROP AS SELECT (x.r).*, x.w AS pgt__w FROM (SELECT c.row_data::"
                  + target.sourceTables().get(source)
                  + " AS r, sign(c.n)::int AS w, abs(c.n) AS k FROM (SELECT b.row_data,"
                  + " sum(CASE b.op WHEN 'I' THEN 1 ELSE -1 END) AS n FROM "
                  + target.changeBuffers().get(source)
                  + " b WHERE b.op IN ('I', 'D') AND "
                  + ChangeBuffer.unconsumed("b", window.consumedSnapshots().get(source))
                  // OFFSET 0 keeps the subquery from being pulled up, which would expand
                  // (x.r).* into one record_in of the row's text per column.
                  + " GROUP BY b.row_data) c WHERE c.n <> 0 OFFSET 0) x"
                  + " CROSS JOIN LATERAL pg_catalog.generate_series(1, x.k)");
      if (rows > 0) {
        statement.execute("ANALYZE " + temp);
        changed.add(source);
      }
    }
    return changed;
  }

  private static long run(Statement statement, String sql) throws SQLException {
    statement.execute(sql);
    return Math.max(0, statement.getUpdateCount());
  }

  /** The changed sources of this refresh and their old state (now minus the change). */
  private static final class Sources implements ChangedSources {
    private final Set<StableName> changed;
    private final Map<StableName, String> tables;
    private final Connection connection;
    private final Map<StableName, String> columns = new HashMap<>();

    Sources(Set<StableName> changed, Map<StableName, String> tables, Connection connection) {
      this.changed = changed;
      this.tables = tables;
      this.connection = connection;
    }

    @Override
    public boolean changed(StableName source) {
      return changed.contains(source);
    }

    @Override
    public String delta(StableName source) {
      return ChangedSources.deltaTable(source);
    }

    @Override
    public String oldState(StableName source) {
      // A UNION ALL of two plain SELECTs: PostgreSQL flattens it into an append, so a join
      // condition on it still reaches the source's indexes.
      return "SELECT t.*, 1 AS pgt__w FROM "
          + tables.get(source)
          + " t UNION ALL SELECT "
          + columnsOf(source)
          + ", - d.pgt__w FROM "
          + delta(source)
          + " d";
    }

    private String columnsOf(StableName source) {
      return columns.computeIfAbsent(
          source,
          s -> {
            try (Statement statement = connection.createStatement();
                ResultSet rs =
                    statement.executeQuery(
                        "SELECT string_agg('d.' || quote_ident(attname), ', ' ORDER BY attnum)"
                            + " FROM pg_catalog.pg_attribute WHERE attrelid = '"
                            + delta(s)
                            + "'::regclass AND attnum > 0 AND NOT attisdropped"
                            + " AND attname <> 'pgt__w'")) {
              rs.next();
              return rs.getString(1);
            } catch (SQLException e) {
              throw new IllegalStateException("read the columns of " + delta(s), e);
            }
          });
    }
  }
}
