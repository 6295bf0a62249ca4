package io.pgtrickle.operator.engine;

import io.pgtrickle.operator.api.RefreshMode;
import io.pgtrickle.operator.catalog.CdcMode;
import io.pgtrickle.operator.catalog.ChangeTrackingRegistry;
import io.pgtrickle.operator.catalog.Placement;
import io.pgtrickle.operator.catalog.TrackedSource;
import io.pgtrickle.operator.differential.DeparsedQuery;
import io.pgtrickle.operator.differential.Supportability;
import io.pgtrickle.operator.differential.model.NotDifferentialException;
import io.pgtrickle.operator.differential.model.QueryModel;
import io.pgtrickle.operator.differential.plan.Layout;
import io.pgtrickle.operator.differential.sql.StateQuery;
import io.pgtrickle.operator.engine.refresh.DifferentialTarget;
import io.pgtrickle.operator.naming.ObjectNames;
import io.pgtrickle.operator.naming.SqlIdentifiers;
import io.pgtrickle.operator.naming.StableName;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
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
            new Supportability.Facts(
                sources, wal, citusSources, placement != Placement.LOCAL, clockReads));
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
   * What a differential refresh of stream table {@code id} needs; empty (with the reason in the
   * exception) when its query no longer models as it did (it then refreshes in full).
   */
  static DifferentialTarget target(Connection connection, long id, List<StableName> sources)
      throws SQLException, NotDifferentialException {
    ChangeTrackingRegistry registry = new ChangeTrackingRegistry();
    Map<List<String>, StableName> byName = new HashMap<>();
    Map<StableName, String> tables = new HashMap<>();
    Map<StableName, String> buffers = new HashMap<>();
    for (StableName source : sources) {
      Optional<TrackedSource> tracked = registry.find(connection, source);
      if (tracked.isEmpty()) {
        throw new NotDifferentialException("source " + source.value() + " is not tracked");
      }
      var name = tracked.get().table().name();
      byName.put(List.of(name.schema(), name.table()), source);
      tables.put(source, name.sqlName());
      buffers.put(source, new ObjectNames(source).changeBufferQualified());
    }
    String view = StreamTableEngine.viewOf(id);
    QueryModel model = DeparsedQuery.model(connection, view, byName);
    return new DifferentialTarget(
        model, QueryColumns.of(connection, view).quotedNames(), tables, buffers);
  }
}
