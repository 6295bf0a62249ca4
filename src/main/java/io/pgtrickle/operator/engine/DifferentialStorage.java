package io.pgtrickle.operator.engine;

import com.fasterxml.jackson.databind.JsonNode;
import io.pgtrickle.operator.api.RefreshMode;
import io.pgtrickle.operator.capture.CapturePlan;
import io.pgtrickle.operator.catalog.CdcMode;
import io.pgtrickle.operator.catalog.Placement;
import io.pgtrickle.operator.differential.DeparsedQuery;
import io.pgtrickle.operator.differential.Supportability;
import io.pgtrickle.operator.differential.model.NotDifferentialException;
import io.pgtrickle.operator.differential.model.QueryModel;
import io.pgtrickle.operator.differential.plan.Layout;
import io.pgtrickle.operator.differential.sql.ApplySql;
import io.pgtrickle.operator.differential.sql.StateQuery;
import io.pgtrickle.operator.engine.refresh.DifferentialTarget;
import io.pgtrickle.operator.engine.refresh.RefreshTarget;
import io.pgtrickle.operator.naming.ObjectNames;
import io.pgtrickle.operator.naming.QualifiedTable;
import io.pgtrickle.operator.naming.SqlIdentifiers;
import io.pgtrickle.operator.naming.StableName;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The engine's side of the differential layout: deciding at create/rebuild whether a stream table
 * is differential (and refusing an explicit DIFFERENTIAL that is not), the state view {@code
 * pgtrickle.pgt_state_<id>} its storage equals, and what a differential refresh needs.
 */
final class DifferentialStorage {
  private static final org.slf4j.Logger LOG =
      org.slf4j.LoggerFactory.getLogger(DifferentialStorage.class);

  private DifferentialStorage() {}

  /** {@code pgtrickle.pgt_state_<id>}: the query with the hidden state of its layout. */
  static String stateViewOf(long id) {
    return SqlIdentifiers.qualified(ObjectNames.CATALOG_SCHEMA, "pgt_state_" + id);
  }

  /**
   * What was decided: the layout when the storage is differential, and why the query is not
   * differential when it is not.
   */
  record Outcome(Optional<Layout> layout, Optional<String> blocker) {
    boolean differential() {
      return layout.isPresent();
    }
  }

  /**
   * Decides and, for a differential layout, creates the state view (owned by {@code queryRole} when
   * there is one). An explicit DIFFERENTIAL whose query is not differential is InvalidSpec, naming
   * the construct; the caller's transaction then rolls back, leaving nothing.
   */
  static Outcome prepare(
      Connection connection,
      long id,
      StreamTableDefinition definition,
      List<CapturePlan> plans,
      Placement placement,
      List<String> clockReads,
      Optional<String> queryRole)
      throws SQLException, EngineException {
    Map<List<String>, StableName> sources = new HashMap<>();
    Set<StableName> wal = new HashSet<>();
    boolean citusSources = false;
    for (CapturePlan plan : plans) {
      var name = plan.source().table().name();
      sources.put(List.of(name.schema(), name.table()), plan.source().table().stableName());
      if (plan.mode() == CdcMode.WAL) {
        wal.add(plan.source().table().stableName());
      }
      citusSources |= plan.placement() != Placement.LOCAL;
    }
    Supportability.Decision decision =
        Supportability.decide(
            connection,
            StreamTableEngine.viewOf(id),
            new Supportability.Facts(sources, wal, citusSources, clockReads));
    Optional<String> blocker = decision.blocker();
    boolean differential = false;
    if (decision.model().isPresent() && definition.refreshMode() != RefreshMode.FULL) {
      blocker = createStateView(connection, id, decision.model().get(), queryRole);
      if (blocker.isEmpty()) {
        blocker = Supportability.stateTypeBlocker(connection, stateViewOf(id));
      }
      differential = blocker.isEmpty();
      if (!differential) {
        dropStateView(connection, id);
      }
    }
    if (definition.refreshMode() == RefreshMode.DIFFERENTIAL && blocker.isPresent()) {
      throw new EngineException(
          Reason.InvalidSpec,
          "refreshMode DIFFERENTIAL: the query cannot be maintained differentially: "
              + blocker.get()
              + "; use refreshMode AUTO (refreshes in full when it must) or FULL");
    }
    return new Outcome(
        differential ? Optional.of(Layout.of(decision.model().get())) : Optional.empty(), blocker);
  }

  /**
   * Creates the state view; a query PostgreSQL will not take in that form (a case the model got
   * wrong) is rolled back to a savepoint and becomes the reason the table is refreshed in full.
   */
  private static Optional<String> createStateView(
      Connection connection, long id, QueryModel model, Optional<String> queryRole)
      throws SQLException, EngineException {
    List<String> columns = QueryColumns.of(connection, StreamTableEngine.viewOf(id)).quotedNames();
    String sql = new StateQuery(model, columns).sql(StreamTableEngine.viewOf(id));
    try (Statement statement = connection.createStatement()) {
      statement.setEscapeProcessing(false);
      statement.execute("SAVEPOINT pgt_state_view");
      // The text is PostgreSQL's deparse, printed under this search_path: it must be read under it.
      String previous = DeparsedQuery.pinSearchPath(connection);
      try {
        statement.execute("CREATE VIEW " + stateViewOf(id) + " AS " + sql);
      } catch (SQLException e) {
        statement.execute("ROLLBACK TO SAVEPOINT pgt_state_view");
        LOG.warn("stream table {}: no differential state query: {}", id, e.getMessage());
        return Optional.of(
            "the differential engine could not build its state query (" + e.getMessage() + ")");
      }
      DeparsedQuery.restoreSearchPath(connection, previous);
      statement.execute("RELEASE SAVEPOINT pgt_state_view");
    }
    if (queryRole.isPresent()) {
      QueryViewOwner.assign(connection, stateViewOf(id), queryRole.get());
    }
    return Optional.empty();
  }

  static void dropStateView(Connection connection, long id) throws SQLException {
    try (Statement statement = connection.createStatement()) {
      statement.execute("DROP VIEW IF EXISTS " + stateViewOf(id));
    }
  }

  /** The storage's row-id index: unique where a row is a group, not for a bag of copies. */
  static void index(Connection connection, String storage, Layout layout) throws SQLException {
    try (Statement statement = connection.createStatement()) {
      statement.execute(
          "CREATE "
              + (layout == Layout.BAG ? "" : "UNIQUE ")
              + "INDEX ON "
              + storage
              + " ("
              + Layout.ROW_ID
              + ")");
    }
  }

  /**
   * What a refresh of stream table {@code id} needs, read in one statement: the FULL target (the
   * state view and how FULL matches its rows) and, when {@code withQuery}, the query view's text
   * and the sources, for {@link Facts#differential}. The caller has pinned {@code search_path}
   * ({@link DeparsedQuery#PIN_SEARCH_PATH}) when it wants the query's text.
   */
  static Facts read(
      Connection connection, long id, String storage, List<StableName> sources, boolean withQuery)
      throws SQLException {
    return read(connection, id, storage, sources, withQuery, List.of());
  }

  /**
   * {@link #read}, after {@code ahead} (commands without parameters, run in order in the same round
   * trip; the facts are not read if one fails).
   */
  static Facts read(
      Connection connection,
      long id,
      String storage,
      List<StableName> sources,
      boolean withQuery,
      List<String> ahead)
      throws SQLException {
    String sql =
        Statements.ahead(ahead)
            + "SELECT CASE WHEN ? THEN pg_catalog.pg_get_viewdef(pg_catalog.to_regclass(?)) END,"
            + COLUMNS_OF.formatted("?")
            + ", "
            + COLUMNS_OF.formatted("?")
            // A bag's row-id index is the one that is not unique (see index()); in Citus storage
            // a bag numbers its copies instead.
            + ", coalesce((SELECT NOT i.indisunique FROM pg_catalog.pg_index i"
            + " JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]"
            + " WHERE i.indrelid = pg_catalog.to_regclass(?) AND i.indnkeyatts = 1"
            + " AND a.attname = 'pgt_row_id' AND i.indpred IS NULL"
            + " ORDER BY i.indisunique DESC LIMIT 1), false)"
            + " OR EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a"
            + " WHERE a.attrelid = pg_catalog.to_regclass(?) AND a.attname = '"
            + ApplySql.COPY
            + "' AND NOT a.attisdropped),"
            + " CASE WHEN ? THEN (SELECT pg_catalog.json_agg(pg_catalog.json_build_object("
            + "'stable_name', t.source_stable_name, 'database', t.source_database,"
            + " 'schema', t.source_schema, 'table', t.source_table, 'columns', "
            + COLUMNS_OF.formatted("pg_catalog.format('%I.%I', t.source_schema, t.source_table)")
            + ", 'indexes', ARRAY(SELECT pg_catalog.array_to_json(ARRAY(SELECT a.attname::text"
            + " FROM pg_catalog.unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, n)"
            + " JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum"
            + " WHERE k.n <= i.indnkeyatts ORDER BY k.n)) FROM pg_catalog.pg_index i"
            + " JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid"
            + " JOIN pg_catalog.pg_am am ON am.oid = ic.relam"
            + " WHERE i.indrelid = pg_catalog.to_regclass(pg_catalog.format('%I.%I',"
            + " t.source_schema, t.source_table))"
            + " AND am.amname = 'btree' AND i.indexprs IS NULL AND i.indisvalid"
            + " ORDER BY i.indexrelid), 'key', ARRAY(SELECT a.attname::text"
            + " FROM pg_catalog.pg_index i"
            + " CROSS JOIN pg_catalog.unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, n)"
            + " JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum"
            + " WHERE i.indrelid = pg_catalog.to_regclass(pg_catalog.format('%I.%I',"
            + " t.source_schema, t.source_table)) AND i.indisprimary ORDER BY k.n)))"
            + " FROM pgtrickle.pgt_change_tracking t WHERE t.source_stable_name = ANY (?)) END";
    String queryView = StreamTableEngine.viewOf(id);
    try (PreparedStatement statement = connection.prepareStatement(sql)) {
      statement.setBoolean(1, withQuery);
      statement.setString(2, queryView);
      statement.setString(3, queryView);
      statement.setString(4, stateViewOf(id));
      statement.setString(5, storage);
      statement.setString(6, storage);
      statement.setBoolean(7, withQuery);
      statement.setArray(
          8, connection.createArrayOf("text", sources.stream().map(StableName::value).toArray()));
      try (ResultSet rs = Statements.firstResultSet(statement)) {
        rs.next();
        return new Facts(
            id,
            storage,
            rs.getString(1),
            quoted(rs.getArray(2)),
            quoted(rs.getArray(3)),
            rs.getBoolean(4),
            sources,
            rs.getString(5));
      }
    }
  }

  /** A relation's column names, in order, as a text[] (the relation as a regclass or text). */
  private static final String COLUMNS_OF =
      " ARRAY(SELECT a.attname::text FROM pg_catalog.pg_attribute a"
          + " WHERE a.attrelid = pg_catalog.to_regclass(%1$s::text) AND a.attnum > 0"
          + " AND NOT a.attisdropped ORDER BY a.attnum)";

  private static List<String> quoted(java.sql.Array array) throws SQLException {
    List<String> names = new ArrayList<>();
    for (String name : (String[]) array.getArray()) {
      names.add(SqlIdentifiers.quote(name));
    }
    return names;
  }

  /** What {@link #read} found. */
  record Facts(
      long id,
      String storage,
      String queryText,
      List<String> queryColumns,
      List<String> stateColumns,
      boolean bag,
      List<StableName> sources,
      String sourcesJson) {
    /**
     * FULL's target: for a bag the query's view and columns (the row id is derived from the row's
     * text, as the state view derives it), else the state view. Citus storage is keyed by row id: a
     * group's, or a bag's with its copies numbered.
     */
    RefreshTarget fullTarget(Placement placement) {
      if (placement != Placement.LOCAL) {
        return new RefreshTarget(
            storage,
            bag ? StreamTableEngine.viewOf(id) : stateViewOf(id),
            bag ? queryColumns : stateColumns,
            Optional.of(SqlIdentifiers.quote(Layout.ROW_ID)),
            Optional.empty(),
            bag ? RefreshTarget.RowMatch.NUMBERED_COPIES : RefreshTarget.RowMatch.GROUP_ID);
      }
      return bag
          ? new RefreshTarget(
              storage,
              StreamTableEngine.viewOf(id),
              queryColumns,
              Optional.empty(),
              Optional.empty(),
              RefreshTarget.RowMatch.BAG)
          : new RefreshTarget(
              storage,
              stateViewOf(id),
              stateColumns,
              Optional.empty(),
              Optional.empty(),
              RefreshTarget.RowMatch.STATE_TEXT);
    }

    /**
     * What a differential refresh needs; the reason in the exception when the query no longer
     * models as it did (it then refreshes in full).
     */
    DifferentialTarget differential(Connection connection) throws NotDifferentialException {
      if (queryText == null || sourcesJson == null) {
        throw new NotDifferentialException("the query view is gone or its sources are not tracked");
      }
      Map<List<String>, StableName> byName = new HashMap<>();
      Map<StableName, String> tables = new HashMap<>();
      Map<StableName, String> buffers = new HashMap<>();
      Map<StableName, List<String>> columns = new HashMap<>();
      Map<StableName, List<List<String>>> indexes = new HashMap<>();
      Map<StableName, List<String>> keys = new HashMap<>();
      try {
        for (JsonNode source : JSON.readTree(sourcesJson)) {
          StableName name = new StableName(source.get("stable_name").asText());
          QualifiedTable table =
              new QualifiedTable(
                  source.get("database").asText(),
                  source.get("schema").asText(),
                  source.get("table").asText());
          byName.put(List.of(table.schema(), table.table()), name);
          tables.put(name, table.sqlName());
          buffers.put(name, new ObjectNames(name).changeBufferQualified());
          List<String> names = new ArrayList<>();
          source.get("columns").forEach(c -> names.add(SqlIdentifiers.quote(c.asText())));
          columns.put(name, names);
          List<List<String>> lists = new ArrayList<>();
          for (JsonNode index : source.get("indexes")) {
            List<String> list = new ArrayList<>();
            index.forEach(c -> list.add(SqlIdentifiers.quote(c.asText())));
            lists.add(list);
          }
          indexes.put(name, lists);
          List<String> key = new ArrayList<>();
          source.get("key").forEach(c -> key.add(SqlIdentifiers.quote(c.asText())));
          keys.put(name, key);
        }
      } catch (java.io.IOException e) {
        throw new IllegalStateException("read the sources of stream table " + id, e);
      }
      for (StableName source : sources) {
        if (!tables.containsKey(source)) {
          throw new NotDifferentialException("source " + source.value() + " is not tracked");
        }
      }
      QueryModel model = DeparsedQuery.modelOfText(connection, queryText, byName);
      return new DifferentialTarget(
          model, queryColumns, tables, buffers, columns, indexes, keys, false);
    }
  }

  private static final com.fasterxml.jackson.databind.ObjectMapper JSON =
      new com.fasterxml.jackson.databind.ObjectMapper();
}
