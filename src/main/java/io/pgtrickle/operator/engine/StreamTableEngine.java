package io.pgtrickle.operator.engine;

import io.pgtrickle.operator.api.DeletionPolicy;
import io.pgtrickle.operator.capture.CapturePlan;
import io.pgtrickle.operator.capture.CaptureSetup;
import io.pgtrickle.operator.capture.NodeConnector;
import io.pgtrickle.operator.capture.SlotRemoval;
import io.pgtrickle.operator.capture.WalCapture;
import io.pgtrickle.operator.catalog.CatalogMigrator;
import io.pgtrickle.operator.catalog.CdcMode;
import io.pgtrickle.operator.catalog.ChangeTrackingRegistry;
import io.pgtrickle.operator.catalog.Placement;
import io.pgtrickle.operator.citus.CitusTopology;
import io.pgtrickle.operator.engine.refresh.FullRefresh;
import io.pgtrickle.operator.engine.refresh.RefreshStrategy;
import io.pgtrickle.operator.naming.ObjectNames;
import io.pgtrickle.operator.naming.SqlIdentifiers;
import io.pgtrickle.operator.naming.StableName;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import javax.sql.DataSource;
import org.flywaydb.core.api.FlywayException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The stream-table lifecycle on one database: create, update, drop, refresh and report. Needs no
 * Kubernetes; the CLI's local mode and the operator's reconcilers both drive it. Every change to a
 * stream table happens in one database transaction, so a failure leaves nothing half-created.
 */
public final class StreamTableEngine {
  private static final Logger LOG = LoggerFactory.getLogger(StreamTableEngine.class);

  private final DataSource dataSource;
  private final CitusTopology topology;
  private final CaptureSetup capture;
  private final WalCapture wal;
  private final SlotRemoval slots;
  private final Refresher refresher;
  private final Reporter reporter;
  private final Optional<String> queryRole;

  /** The prefix of the operator's own columns in storage tables; query columns may not use it. */
  static final String RESERVED_PREFIX = "pgt_";

  public StreamTableEngine(DataSource dataSource) {
    this(dataSource, new CitusTopology(), new FullRefresh());
  }

  public StreamTableEngine(
      DataSource dataSource, CitusTopology topology, RefreshStrategy fullRefresh) {
    this(dataSource, topology, fullRefresh, NodeConnector.localOnly(dataSource));
  }

  /** With {@code nodes} to reach Citus workers (for WAL capture of distributed tables). */
  public StreamTableEngine(
      DataSource dataSource,
      CitusTopology topology,
      RefreshStrategy fullRefresh,
      NodeConnector nodes) {
    this(dataSource, topology, fullRefresh, nodes, Optional.empty());
  }

  /**
   * As above; with {@code queryRole}, every query view is owned by that role, so stream tables read
   * only what it may read ({@link QueryViewOwner}).
   */
  public StreamTableEngine(
      DataSource dataSource,
      CitusTopology topology,
      RefreshStrategy fullRefresh,
      NodeConnector nodes,
      Optional<String> queryRole) {
    this(dataSource, topology, fullRefresh, nodes, Refresher.StepHook.NONE, queryRole);
  }

  StreamTableEngine(
      DataSource dataSource,
      CitusTopology topology,
      RefreshStrategy fullRefresh,
      NodeConnector nodes,
      Refresher.StepHook hook,
      Optional<String> queryRole) {
    this.dataSource = dataSource;
    this.queryRole = queryRole;
    this.topology = topology;
    this.capture = new CaptureSetup(new ChangeTrackingRegistry());
    this.slots = new SlotRemoval(dataSource, new ChangeTrackingRegistry(), topology, nodes);
    this.wal = new WalCapture(dataSource, new ChangeTrackingRegistry(), topology, nodes, slots);
    this.refresher = new Refresher(dataSource, fullRefresh, hook, wal);
    this.reporter = new Reporter(dataSource, new ChangeTrackingRegistry(), wal);
  }

  /**
   * Creates or upgrades the catalog schemas, and replaces capture functions an earlier version
   * made; call once after connecting.
   */
  public void migrateCatalog() throws EngineException {
    try {
      try {
        CatalogMigrator.migrate(dataSource);
      } catch (SQLException e) {
        // Not reached, or refused us: say why, as the pool's own message does not.
        throw new EngineException(
            Reason.ClusterUnavailable,
            "could not prepare the pgtrickle catalog: "
                + e.getMessage()
                + (e.getCause() == null ? "" : ": " + e.getCause().getMessage()),
            e);
      }
      try (Connection connection = dataSource.getConnection()) {
        io.pgtrickle.operator.cdc.TriggerCapture.upgradeFunctions(connection);
      }
      ServerMove.forgetOldServer(dataSource);
    } catch (SQLException e) {
      throw unexpected("upgrade the capture functions", e);
    } catch (io.pgtrickle.operator.catalog.UpstreamInstallException e) {
      throw new EngineException(Reason.UpstreamInstall, e.getMessage(), e);
    } catch (io.pgtrickle.operator.catalog.IncompleteCatalogException e) {
      throw new EngineException(Reason.CatalogIncomplete, e.getMessage(), e);
    } catch (FlywayException e) {
      throw new EngineException(
          Reason.ClusterUnavailable,
          "could not prepare the pgtrickle catalog: " + e.getMessage(),
          e);
    }
  }

  /**
   * Makes the database match the definition: creates the stream table, or updates it (rebuilding
   * its contents when the query changed). {@code owner} identifies the declaring resource; a stream
   * table owned by another resource is a Conflict.
   */
  public ApplyResult apply(StreamTableDefinition definition, String owner) throws EngineException {
    return apply(definition, owner, warning -> LOG.warn("{}", warning));
  }

  /**
   * As {@link #apply(StreamTableDefinition, String)}, telling {@code warnings} what goes ahead but
   * deserves attention (e.g. WAL capture of a table with REPLICA IDENTITY DEFAULT).
   */
  public ApplyResult apply(
      StreamTableDefinition definition, String owner, Consumer<String> warnings)
      throws EngineException {
    List<WalCapture.NodeSlot> newSlots = List.of();
    AtomicReference<WalCapture.AfterCommit> after = new AtomicReference<>();
    try {
      ServerMove.forgetOldServer(dataSource);
      Optional<Optional<Long>> slotsFor = streamTableNeedingNewSlots(definition);
      if (slotsFor.isPresent()) {
        // Slots cannot be created inside a transaction that has written: learn the sources with
        // a dry run and prepare their slots first.
        List<CapturePlan> plans;
        try {
          plans = dryRun(definition);
        } catch (EngineException e) {
          throw sourcesGone(definition, e);
        }
        if (slotsFor.get().isPresent()) {
          // Sources the new query stops reading: their slots go first, waiting for every node
          // (after the commit an unreachable node could only be logged, its slot left behind).
          slots.releaseAllBut(slotsFor.get().get(), stableNames(plans));
        }
        newSlots = wal.prepare(plans, definition.immutablePk(), slotsFor.get(), warnings);
      }
      ApplyResult result =
          Transactions.run(
              dataSource,
              Connection.TRANSACTION_READ_COMMITTED,
              connection -> {
                after.set(new WalCapture.AfterCommit());
                Optional<StreamTableRecord> existing =
                    StreamTableCatalog.lock(connection, definition.schema(), definition.name());
                if (existing.isEmpty()) {
                  create(connection, definition, owner, after.get());
                  return ApplyResult.CREATED;
                }
                StreamTableRecord record = existing.get();
                requireOwner(record, owner);
                if (record.owner() == null && owner != null) {
                  StreamTableCatalog.claim(connection, record.id(), owner);
                }
                return update(connection, record, definition, after.get());
              });
      wal.finish(after.get());
      return result;
    } catch (SQLException e) {
      wal.dropSlots(newSlots);
      if ("23505".equals(e.getSQLState())) {
        // Another engine created it at the same moment; the second attempt sees it and updates.
        return apply(definition, owner, warnings);
      }
      throw unexpected("apply " + definition.qualifiedName(), e);
    } catch (EngineException | RuntimeException e) {
      wal.dropSlots(newSlots);
      throw e;
    }
  }

  /**
   * Whether slots may have to be made before the transaction, and if so the id of the stream table
   * being changed (empty when it is new): WAL capture is used when asked for and for Citus tables
   * (which refuse triggers), and only a new stream table, query or capture mode can need a new
   * slot, and a source that was dropped and re-created needs its publication membership back.
   * Reconciles that change nothing skip the dry run; a slot lost meanwhile is re-created by the
   * next refresh. One connection, as this runs on every reconcile.
   */
  private Optional<Optional<Long>> streamTableNeedingNewSlots(StreamTableDefinition definition)
      throws SQLException {
    try (Connection connection = dataSource.getConnection()) {
      if (definition.effectiveCdcMode() != CdcMode.WAL && !topology.isCitusLoaded(connection)) {
        return Optional.empty();
      }
      Optional<StreamTableRecord> existing =
          StreamTableCatalog.find(connection, definition.schema(), definition.name());
      if (existing.isPresent()
          && !existing.get().contentsDifferFrom(definition)
          && QueryHealth.of(connection, existing.get().id()).healthy()
          && !ServerMove.frontierFromAnotherServer(connection, existing.get().id())) {
        return Optional.empty();
      }
      return Optional.of(existing.map(StreamTableRecord::id));
    }
  }

  private static Set<StableName> stableNames(List<CapturePlan> plans) {
    Set<StableName> names = new HashSet<>();
    plans.forEach(p -> names.add(p.source().table().stableName()));
    return names;
  }

  /** How the query's sources would be captured, from a transaction that is rolled back. */
  private List<CapturePlan> dryRun(StreamTableDefinition definition)
      throws SQLException, EngineException {
    try (Connection connection = dataSource.getConnection()) {
      connection.setAutoCommit(false);
      try {
        return CapturePlan.of(
            connection, topology, defineQuery(connection, 0, definition).sources(), definition);
      } finally {
        connection.rollback();
      }
    }
  }

  /**
   * Drops a stream table and every capture object no other stream table uses; keeps the storage
   * table if its deletion policy is Retain. Returns false if there was nothing to drop. Slots go
   * first, on every node: a node that cannot be reached fails the drop (ClusterUnavailable) and
   * nothing else is dropped, so no slot is left behind to pin its WAL.
   */
  public boolean drop(String schema, String name, String owner) throws EngineException {
    try {
      Optional<StreamTableRecord> found = find(schema, name);
      if (found.isPresent()) {
        requireOwner(found.get(), owner);
        try (Connection connection = dataSource.getConnection()) {
          requireNoReaders(connection, found.get()); // before any slot goes
        }
        slots.releaseBeforeDrop(found.get().id());
      }
      AtomicReference<WalCapture.AfterCommit> after = new AtomicReference<>();
      boolean dropped =
          Transactions.run(
              dataSource,
              Connection.TRANSACTION_READ_COMMITTED,
              connection -> {
                after.set(new WalCapture.AfterCommit());
                Optional<StreamTableRecord> existing =
                    StreamTableCatalog.lock(connection, schema, name);
                if (existing.isEmpty()) {
                  return false;
                }
                StreamTableRecord record = existing.get();
                requireOwner(record, owner);
                requireNoReaders(connection, record);
                for (StableName source : StreamTableCatalog.dependencies(connection, record.id())) {
                  capture.detach(connection, record.id(), source, after.get());
                }
                DifferentialStorage.dropStateView(connection, record.id());
                try (Statement statement = connection.createStatement()) {
                  statement.execute("DROP VIEW IF EXISTS " + viewOf(record.id()));
                  if (DeletionPolicy.valueOf(record.deletionPolicy()) == DeletionPolicy.Delete) {
                    statement.execute(
                        "DROP TABLE IF EXISTS " + SqlIdentifiers.qualified(schema, name));
                  }
                }
                StreamTableCatalog.delete(connection, record.id());
                return true;
              });
      wal.finish(after.get());
      return dropped;
    } catch (SQLException e) {
      throw unexpected("drop " + SqlIdentifiers.qualified(schema, name), e);
    }
  }

  /**
   * Applies unconsumed changes, if any, exactly once. A stream table whose query no longer stands
   * on its sources (one dropped, renamed or re-created) is first re-applied from its stored
   * definition: SourceMissing while a source is gone, a full re-sync once it is back.
   */
  public RefreshOutcome refresh(String schema, String name) throws EngineException {
    // One statement for the checks before the refresh: has the server moved, is the query still
    // standing on its sources, and which of them are WAL-captured.
    Optional<StreamTableRecord> broken;
    Optional<List<io.pgtrickle.operator.catalog.TrackedSource>> walSources = Optional.empty();
    try (Connection connection = dataSource.getConnection()) {
      StreamTableCatalog.RefreshCheck check =
          StreamTableCatalog.checkForRefresh(connection, schema, name);
      Optional<StreamTableRecord> record = check.record();
      if (check.databaseMoved()) {
        ServerMove.forgetOldServer(dataSource);
      }
      // A frontier of another server (a restore, an upgrade) is re-synced like a lost source.
      broken =
          record.isPresent() && (check.frontierMoved() || !check.health().healthy())
              ? record
              : Optional.empty();
      if (broken.isEmpty()) {
        walSources = Optional.of(Refresher.walSources(connection, check.walSources()));
      }
    } catch (SQLException e) {
      throw unexpected("check " + SqlIdentifiers.qualified(schema, name), e);
    }
    if (broken.isPresent()) {
      StreamTableRecord record = broken.get();
      apply(record.definition(), record.owner());
    }
    return refresher.refresh(schema, name, walSources);
  }

  public StreamTableReport report(String schema, String name) throws EngineException {
    return reporter.report(schema, name);
  }

  private Optional<StreamTableRecord> find(String schema, String name) throws SQLException {
    try (Connection connection = dataSource.getConnection()) {
      return StreamTableCatalog.find(connection, schema, name);
    }
  }

  /** Which stream tables read which, as the catalog has it now. */
  public StreamTableGraph graph() throws EngineException {
    try (Connection connection = dataSource.getConnection()) {
      return StreamTableGraph.load(connection);
    } catch (SQLException e) {
      throw unexpected("read which stream tables read which", e);
    }
  }

  /** Every stream table in the catalog. */
  public List<StreamTableRecord> list() throws EngineException {
    try (Connection connection = dataSource.getConnection()) {
      return StreamTableCatalog.all(connection);
    } catch (SQLException e) {
      throw unexpected("list stream tables", e);
    }
  }

  private void create(
      Connection connection,
      StreamTableDefinition definition,
      String owner,
      WalCapture.AfterCommit after)
      throws SQLException, EngineException {
    requireSchema(connection, definition.schema());
    if (relationExists(connection, definition.qualifiedName())) {
      throw new EngineException(
          Reason.Conflict,
          definition.qualifiedName()
              + " already exists and is not a stream table; choose another name or drop it");
    }
    long id = StreamTableCatalog.insert(connection, definition, owner);
    QueryAnalyzer.AnalyzedQuery analyzed = defineQuery(connection, id, definition);
    List<SourceTable> sources = analyzed.sources();
    List<CapturePlan> plans = CapturePlan.of(connection, topology, sources, definition);
    Placement placement = storagePlacement(connection, id, definition, plans);
    DifferentialStorage.Outcome differential =
        DifferentialStorage.prepare(
            connection, id, definition, plans, placement, analyzed.clockReads(), queryRole);
    CaptureSetup.lockSources(connection, sources);
    WalCapture.lockSlots(connection, plans);
    capture.attach(connection, id, plans);
    wal.drain(connection, plans, after);
    createStorage(connection, id, definition, placement, differential);
    load(connection, id, definition, placement, sources, differential.differential());
  }

  /**
   * The storage table, from the query or, for a differential layout, from the state view (the
   * query's columns, then the hidden ones), with its row-id index.
   */
  private static void createStorage(
      Connection connection,
      long id,
      StreamTableDefinition definition,
      Placement placement,
      DifferentialStorage.Outcome differential)
      throws SQLException {
    String from = differential.differential() ? DifferentialStorage.stateViewOf(id) : viewOf(id);
    StorageTable.create(
        connection, definition.qualifiedName(), from, placement, differential.layout());
    // Citus storage of groups is keyed by the group's row id already (its primary key).
    if (differential.layout().isPresent() && placement == Placement.LOCAL) {
      DifferentialStorage.index(
          connection, definition.qualifiedName(), differential.layout().get());
    }
    StreamTableCatalog.recordPlacement(connection, id, placement);
    StreamTableCatalog.recordDifferential(
        connection, id, differential.differential(), differential.blocker().orElse(null));
  }

  /**
   * Where the storage goes. Query columns may not start with {@value #RESERVED_PREFIX}: the
   * operator's own columns do (the row id of Citus storage, the row text a refresh computes), and
   * the differential engine's hidden state will.
   */
  private Placement storagePlacement(
      Connection connection, long id, StreamTableDefinition definition, List<CapturePlan> plans)
      throws SQLException, EngineException {
    Placement placement = StorageTable.choose(connection, topology, definition.placement(), plans);
    List<String> reserved =
        QueryColumns.of(connection, viewOf(id)).names().stream()
            .filter(n -> n.startsWith(RESERVED_PREFIX))
            .toList();
    if (!reserved.isEmpty()) {
      throw new EngineException(
          Reason.InvalidQuery,
          "the query has column(s) "
              + String.join(", ", reserved)
              + ": names starting with "
              + RESERVED_PREFIX
              + " are reserved for the operator's own columns; rename them with AS");
    }
    return placement;
  }

  private ApplyResult update(
      Connection connection,
      StreamTableRecord record,
      StreamTableDefinition definition,
      WalCapture.AfterCommit after)
      throws SQLException, EngineException {
    QueryHealth health = QueryHealth.of(connection, record.id());
    boolean moved = ServerMove.frontierFromAnotherServer(connection, record.id());
    boolean restoring = (moved || !health.healthy()) && !record.contentsDifferFrom(definition);
    if (!record.contentsDifferFrom(definition) && health.healthy() && !moved) {
      if (!relationExists(connection, definition.qualifiedName())) {
        throw new EngineException(
            Reason.SourceMissing,
            "storage table "
                + definition.qualifiedName()
                + " was dropped outside the operator; delete and re-create the stream table");
      }
      repairCapture(connection, record.id());
      repairQueryRole(connection, record.id());
      if (record.differsFrom(definition)) {
        StreamTableCatalog.updateDefinition(connection, record.id(), definition);
        return ApplyResult.UPDATED;
      }
      return ApplyResult.UNCHANGED;
    }
    DifferentialStorage.dropStateView(connection, record.id());
    try (Statement statement = connection.createStatement()) {
      statement.execute("DROP VIEW IF EXISTS " + viewOf(record.id()));
    }
    QueryAnalyzer.AnalyzedQuery analyzed;
    try {
      analyzed = defineQuery(connection, record.id(), definition);
    } catch (EngineException e) {
      throw restoring ? sourcesGone(health, e) : e;
    }
    List<SourceTable> sources = analyzed.sources();
    rejectCycles(connection, record, sources);
    List<CapturePlan> plans = CapturePlan.of(connection, topology, sources, definition);
    Placement placement = storagePlacement(connection, record.id(), definition, plans);
    DifferentialStorage.Outcome differential =
        DifferentialStorage.prepare(
            connection,
            record.id(),
            definition,
            plans,
            placement,
            analyzed.clockReads(),
            queryRole);
    CaptureSetup.lockSources(connection, sources);
    WalCapture.lockSlots(connection, plans);
    if (record.cdcModeDiffersFrom(definition)) {
      // Another capture mode: let go of the old capture first (the last consumer removes it);
      // a source other stream tables still capture the old way then refuses the new mode.
      for (StableName old : StreamTableCatalog.dependencies(connection, record.id())) {
        capture.detach(connection, record.id(), old, after);
      }
    }
    capture.attach(connection, record.id(), plans);
    wal.drain(connection, plans, after);
    Set<StableName> kept = new HashSet<>();
    sources.forEach(s -> kept.add(s.table().stableName()));
    for (StableName old : StreamTableCatalog.dependencies(connection, record.id())) {
      if (!kept.contains(old)) {
        capture.detach(connection, record.id(), old, after);
      }
    }
    QueryColumns wanted = QueryColumns.of(connection, viewOf(record.id()));
    QueryColumns present = StorageTable.columns(connection, definition.qualifiedName());
    boolean differentialLayout = differential.differential() || record.differentialStorage();
    if (differentialLayout
        || !wanted.equals(present)
        || !placement.catalogValue().equals(record.placement())) {
      // A different shape, placement or layout cannot be diffed in place: rebuild, still inside
      // this transaction, so readers wait and then see the new table, never an empty one.
      try (Statement statement = connection.createStatement()) {
        statement.execute("DROP TABLE IF EXISTS " + definition.qualifiedName());
      }
      createStorage(connection, record.id(), definition, placement, differential);
    } else {
      StreamTableCatalog.recordPlacement(connection, record.id(), placement);
      StreamTableCatalog.recordDifferential(
          connection, record.id(), false, differential.blocker().orElse(null));
    }
    StreamTableCatalog.updateDefinition(connection, record.id(), definition);
    load(connection, record.id(), definition, placement, sources, differential.differential());
    if (moved) {
      StreamTableCatalog.recordRefreshReason(connection, record.id(), ServerMove.resyncReason());
    }
    return restoring ? ApplyResult.RESYNCED : ApplyResult.REBUILT;
  }

  /**
   * A stream table whose query no longer stands on its sources cannot be re-defined until they are
   * back: whatever PostgreSQL says about the stored query then means SourceMissing.
   */
  private static EngineException sourcesGone(QueryHealth health, EngineException e) {
    return new EngineException(
        Reason.SourceMissing,
        health.describe()
            + "; the stream table keeps its last contents and is re-synced in full once its"
            + " sources are back. "
            + e.getMessage(),
        e);
  }

  /** As above, for a failure before the transaction (the WAL dry run), if it is that case. */
  private EngineException sourcesGone(StreamTableDefinition definition, EngineException e) {
    try (Connection connection = dataSource.getConnection()) {
      Optional<StreamTableRecord> existing =
          StreamTableCatalog.find(connection, definition.schema(), definition.name());
      if (existing.isPresent() && !existing.get().contentsDifferFrom(definition)) {
        QueryHealth health = QueryHealth.of(connection, existing.get().id());
        if (!health.healthy()) {
          return sourcesGone(health, e);
        }
      }
      return e;
    } catch (SQLException checkFailed) {
      e.addSuppressed(checkFailed);
      return e;
    }
  }

  /** The initial load, where the query first reads its tables (with the query role's rights). */
  private void load(
      Connection connection,
      long id,
      StreamTableDefinition definition,
      Placement placement,
      List<SourceTable> sources,
      boolean differentialStorage)
      throws SQLException, EngineException {
    try {
      refresher.load(connection, id, definition, placement, sources, differentialStorage);
    } catch (SQLException e) {
      if ("42501".equals(e.getSQLState())) {
        throw new EngineException(
            Reason.InvalidQuery,
            "the query reads what it may not: "
                + e.getMessage()
                + queryRole
                    .map(r -> " (stream tables read with the rights of queryRole " + r + ")")
                    .orElse(""),
            e);
      }
      throw e;
    }
  }

  /** Re-creates trigger-capture objects someone dropped (a trigger, the buffer, the function). */
  private void repairCapture(Connection connection, long id) throws SQLException {
    ChangeTrackingRegistry registry = new ChangeTrackingRegistry();
    for (StableName source : StreamTableCatalog.dependencies(connection, id)) {
      var tracked = registry.find(connection, source);
      // WAL-captured sources have no triggers; a lost slot is re-made by the next refresh.
      if (tracked.isEmpty() || tracked.get().cdcMode() != CdcMode.TRIGGER) {
        continue;
      }
      var name = tracked.get().table().name();
      ObjectNames names = new ObjectNames(source);
      if (!io.pgtrickle.operator.cdc.TriggerCapture.missingObjects(
              connection, name.schema(), name.table(), names)
          .isEmpty()) {
        io.pgtrickle.operator.cdc.TriggerCapture.install(
            connection, name.schema(), name.table(), names);
      }
    }
  }

  /**
   * Creates the query view and learns what it reads; records whether the result also depends on the
   * clock (such stream tables are refreshed in full on every tick).
   */
  private QueryAnalyzer.AnalyzedQuery defineQuery(
      Connection connection, long id, StreamTableDefinition definition)
      throws SQLException, EngineException {
    long viewOid = QueryAnalyzer.createView(connection, id, definition.query(), definition);
    if (queryRole.isPresent()) {
      QueryViewOwner.assign(connection, viewOf(id), queryRole.get());
    }
    QueryAnalyzer.AnalyzedQuery analyzed = QueryAnalyzer.analyze(connection, viewOid);
    if (id != 0) {
      StreamTableCatalog.recordTimeDependence(connection, id, analyzed.clockReads());
    }
    return analyzed;
  }

  /** A query view whose owner is not the query role (the role changed, or someone altered it). */
  private void repairQueryRole(Connection connection, long id)
      throws SQLException, EngineException {
    if (queryRole.isPresent() && !QueryViewOwner.ownedBy(connection, viewOf(id), queryRole.get())) {
      QueryViewOwner.assign(connection, viewOf(id), queryRole.get());
    }
  }

  private static void rejectCycles(
      Connection connection, StreamTableRecord record, List<SourceTable> sources)
      throws SQLException, EngineException {
    long id = record.id();
    Long[] relids = sources.stream().map(s -> s.table().oid()).toArray(Long[]::new);
    List<String> cycle = StreamTableCatalog.dependentsAmong(connection, id, relids);
    if (!cycle.isEmpty()) {
      // Reading itself is a query error; reading a stream table that reads it is a cycle among
      // the declared resources.
      boolean readsItself =
          cycle.size() == 1
              && sources.stream()
                  .anyMatch(
                      s ->
                          s.table().name().schema().equals(record.schema())
                              && s.table().name().table().equals(record.name()));
      Reason reason = readsItself ? Reason.InvalidQuery : Reason.InvalidSpec;
      throw new EngineException(
          reason,
          "the query reads "
              + String.join(", ", cycle)
              + ", which is this stream table or depends on it; a stream table cannot be"
              + " defined in terms of itself");
    }
  }

  /**
   * A storage table that other stream tables read cannot go first: their query views depend on it.
   * With deletionPolicy Retain the table stays, so they keep reading it.
   */
  private static void requireNoReaders(Connection connection, StreamTableRecord record)
      throws SQLException, EngineException {
    if (DeletionPolicy.valueOf(record.deletionPolicy()) != DeletionPolicy.Delete) {
      return;
    }
    List<String> readers =
        StreamTableGraph.load(connection).downstreamOf(record.schema(), record.name());
    if (!readers.isEmpty()) {
      throw new EngineException(
          Reason.DependedOn,
          "stream table "
              + String.join(", ", readers)
              + " reads "
              + record.schema()
              + "."
              + record.name()
              + "; delete it first (this one is dropped once nothing reads it)");
    }
  }

  private static void requireOwner(StreamTableRecord record, String owner) throws EngineException {
    if (record.owner() != null && !record.owner().equals(owner)) {
      throw new EngineException(
          Reason.Conflict,
          "stream table "
              + SqlIdentifiers.qualified(record.schema(), record.name())
              + " is already claimed by "
              + record.owner()
              + "; two resources cannot manage one table");
    }
  }

  private static void requireSchema(Connection connection, String schema)
      throws SQLException, EngineException {
    try (PreparedStatement statement =
        connection.prepareStatement("SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = ?")) {
      statement.setString(1, schema);
      try (ResultSet rs = statement.executeQuery()) {
        if (!rs.next()) {
          throw new EngineException(
              Reason.InvalidSpec,
              "schema " + SqlIdentifiers.quote(schema) + " does not exist; create it first");
        }
      }
    }
  }

  private static boolean relationExists(Connection connection, String qualified)
      throws SQLException {
    try (PreparedStatement statement =
        connection.prepareStatement("SELECT to_regclass(?) IS NOT NULL")) {
      statement.setString(1, qualified);
      try (ResultSet rs = statement.executeQuery()) {
        rs.next();
        return rs.getBoolean(1);
      }
    }
  }

  static String viewOf(long id) {
    return SqlIdentifiers.qualified(ObjectNames.CATALOG_SCHEMA, QueryAnalyzer.viewName(id));
  }

  static EngineException unexpected(String action, SQLException e) {
    String state = e.getSQLState() == null ? "" : e.getSQLState();
    Reason reason = state.startsWith("08") ? Reason.ClusterUnavailable : Reason.RefreshFailed;
    return new EngineException(reason, "could not " + action + ": " + e.getMessage(), e);
  }

  /** What {@link #apply} did. */
  public enum ApplyResult {
    CREATED,
    REBUILT,
    /** A source came back (re-created, renamed back): capture re-established, re-synced in full. */
    RESYNCED,
    UPDATED,
    UNCHANGED
  }
}
