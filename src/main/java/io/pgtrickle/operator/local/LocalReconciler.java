package io.pgtrickle.operator.local;

import io.pgtrickle.operator.api.CitusCluster;
import io.pgtrickle.operator.api.CitusClusterStatus;
import io.pgtrickle.operator.api.StreamTable;
import io.pgtrickle.operator.api.StreamTableStatus;
import io.pgtrickle.operator.citus.ServerVersions;
import io.pgtrickle.operator.db.DatabaseTarget;
import io.pgtrickle.operator.engine.EngineException;
import io.pgtrickle.operator.engine.Reason;
import io.pgtrickle.operator.engine.RefreshOutcome;
import io.pgtrickle.operator.engine.RefreshScheduler;
import io.pgtrickle.operator.engine.StreamTableDefinition;
import io.pgtrickle.operator.engine.StreamTableEngine;
import io.pgtrickle.operator.engine.StreamTableRecord;
import io.pgtrickle.operator.status.Conditions;
import io.pgtrickle.operator.status.StreamTableStatuses;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Local mode's reconciler: makes the databases match the StreamTables in the files and keeps each
 * resource's status, in the shape the Kubernetes resources carry. Owners are "local/ns/name", so
 * {@code --prune} only ever drops stream tables that local mode itself declared.
 */
public final class LocalReconciler implements RefreshScheduler.Listener {
  static final String OWNER_PREFIX = "local/";

  private final Manifests manifests;
  private final TargetResolver targets;
  private final Clock clock;
  private final Map<DatabaseTarget, StreamTableEngine> engines = new HashMap<>(); // by identity
  private final Map<String, StreamTableStatus> statuses = new ConcurrentHashMap<>();
  private final Map<String, StreamTable> byOwner = new ConcurrentHashMap<>();
  private final Map<String, EngineException> lastRefreshFailures = new ConcurrentHashMap<>();
  private final Set<String> refusals = new LinkedHashSet<>();

  public LocalReconciler(Manifests manifests, TargetResolver targets, Clock clock) {
    this.manifests = manifests;
    this.targets = targets;
    this.clock = clock;
  }

  /**
   * The databases local mode refused to touch (they hold the upstream extension, or a catalog a
   * partial restore left incomplete), with why: the command then fails, as running on would only
   * repeat the refusal.
   */
  public synchronized List<String> refusals() {
    return List.copyOf(refusals);
  }

  /** Checks every CitusCluster (reachable, catalog ready) and records its status on it. */
  public void reconcileClusters() {
    for (CitusCluster cluster : manifests.clusters()) {
      long generation = generation(cluster.getMetadata().getGeneration());
      CitusClusterStatus status = new CitusClusterStatus();
      status.setObservedGeneration(generation);
      boolean ready = false;
      String reason;
      String message;
      try {
        DatabaseTarget target = targets.forCluster(cluster);
        engineFor(target);
        try (Connection connection = target.dataSource().getConnection()) {
          ServerVersions versions = ServerVersions.read(connection);
          status.setPostgresVersion(versions.postgres());
          status.setCitusVersion(versions.citus());
        }
        ready = true;
        reason = "Ready";
        message = "connected to " + target.description() + "; catalog is current";
      } catch (EngineException e) {
        reason = e.reason().name();
        message = e.getMessage();
      } catch (SQLException e) {
        reason = Reason.ClusterUnavailable.name();
        message = "cannot query the coordinator: " + e.getMessage();
      }
      status.setConditions(
          List.of(
              Conditions.of(
                  Conditions.READY, ready, reason, message, generation, clock.instant())));
      cluster.setStatus(status);
    }
  }

  /**
   * Creates or updates every StreamTable; with {@code prune}, drops local-mode ones no longer
   * declared. A stream table over another one needs that one first, whatever the file order: they
   * are applied in passes, and one whose source is missing is tried again once another succeeded.
   */
  public void reconcileStreamTables(boolean prune) {
    // The databases the StreamTables in the files live in: prune looks there too.
    Set<DatabaseTarget> declared = new HashSet<>();
    List<StreamTable> pending = manifests.streamTables();
    while (!pending.isEmpty()) {
      List<StreamTable> waiting = new ArrayList<>();
      for (StreamTable streamTable : pending) {
        if (!reconcile(streamTable, declared)) {
          waiting.add(streamTable);
        }
      }
      if (waiting.size() == pending.size()) {
        break; // no progress: what waits now waits for something not declared or broken
      }
      pending = waiting;
    }
    if (prune) {
      prune(declared);
    }
  }

  /** Applies one StreamTable and records its status; false when a source it reads is missing. */
  private boolean reconcile(StreamTable streamTable, Set<DatabaseTarget> declared) {
    String owner = ownerOf(streamTable);
    long generation = generation(streamTable.getMetadata().getGeneration());
    try {
      DatabaseTarget target = targets.forStreamTable(streamTable);
      declared.add(target);
      StreamTableDefinition definition = StreamTableDefinition.from(streamTable.getSpec());
      StreamTableEngine engine = engineFor(target);
      engine.apply(definition, owner);
      byOwner.put(owner, streamTable);
      record(streamTable, engine, definition.schema(), definition.name());
      return true;
    } catch (EngineException e) {
      statuses.put(
          owner,
          StreamTableStatuses.failed(
              generation,
              StreamTableStatuses.waitingFor(e, streamTable, manifests.streamTables()),
              statuses.get(owner),
              clock.instant()));
      return e.reason() != Reason.SourceMissing;
    }
  }

  /**
   * Refreshes every Ready stream table that has unconsumed changes, once, each after the stream
   * tables it reads: a change reaches the top of a chain in one pass.
   */
  public void refreshAll() {
    for (StreamTable streamTable : upstreamFirst(manifests.streamTables())) {
      if (!isReady(streamTable)) {
        continue;
      }
      try {
        DatabaseTarget target = targets.forStreamTable(streamTable);
        StreamTableEngine engine = engineFor(target);
        String schema = streamTable.getSpec().getSchema();
        String name = streamTable.getSpec().getName();
        engine.refresh(schema, name);
        lastRefreshFailures.remove(ownerOf(streamTable));
        record(streamTable, engine, schema, name);
      } catch (EngineException e) {
        refreshFailed(streamTable, e);
      }
    }
  }

  /** The StreamTables with each after those it reads, per database, else in file order. */
  private List<StreamTable> upstreamFirst(List<StreamTable> streamTables) {
    Map<StreamTableEngine, List<StreamTable>> byEngine = new LinkedHashMap<>();
    List<StreamTable> unreachable = new ArrayList<>();
    for (StreamTable streamTable : streamTables) {
      try {
        byEngine
            .computeIfAbsent(engineFor(targets.forStreamTable(streamTable)), e -> new ArrayList<>())
            .add(streamTable);
      } catch (EngineException e) {
        unreachable.add(streamTable); // refreshAll reports the failure
      }
    }
    List<StreamTable> ordered = new ArrayList<>();
    for (Map.Entry<StreamTableEngine, List<StreamTable>> entry : byEngine.entrySet()) {
      try {
        ordered.addAll(
            entry
                .getKey()
                .graph()
                .upstreamFirst(
                    entry.getValue(),
                    st -> st.getSpec().getSchema() + "." + st.getSpec().getName()));
      } catch (EngineException e) {
        ordered.addAll(entry.getValue());
      }
    }
    ordered.addAll(unreachable);
    return ordered;
  }

  /** Schedules every Ready stream table on its own schedule. */
  public void scheduleAll(RefreshScheduler scheduler) {
    for (StreamTable streamTable : manifests.streamTables()) {
      if (!isReady(streamTable)) {
        continue;
      }
      try {
        StreamTableDefinition definition = StreamTableDefinition.from(streamTable.getSpec());
        scheduler.schedule(
            ownerOf(streamTable),
            engineFor(targets.forStreamTable(streamTable)),
            definition.schema(),
            definition.name(),
            definition.schedule().interval());
      } catch (EngineException e) {
        fail(streamTable, e);
      }
    }
  }

  @Override
  public void refreshed(String owner, RefreshOutcome outcome) {
    StreamTable streamTable = byOwner.get(owner);
    boolean recovered = lastRefreshFailures.remove(owner) != null;
    if (streamTable != null && (recovered || outcome.kind() == RefreshOutcome.Kind.APPLIED)) {
      try {
        record(
            streamTable,
            engineFor(targets.forStreamTable(streamTable)),
            streamTable.getSpec().getSchema(),
            streamTable.getSpec().getName());
      } catch (EngineException e) {
        fail(streamTable, e);
      }
    }
  }

  @Override
  public void failed(String owner, EngineException failure) {
    StreamTable streamTable = byOwner.get(owner);
    if (streamTable != null) {
      refreshFailed(streamTable, failure);
    }
  }

  public StreamTableStatus status(StreamTable streamTable) {
    return statuses.get(ownerOf(streamTable));
  }

  public boolean isReady(StreamTable streamTable) {
    StreamTableStatus status = status(streamTable);
    return status != null && Conditions.isTrue(status.getConditions(), Conditions.READY);
  }

  /** Ready, and its latest refresh did not fail (what {@code --once} exits 0 for). */
  public boolean isHealthy(StreamTable streamTable) {
    StreamTableStatus status = status(streamTable);
    return isReady(streamTable)
        && !Conditions.isTrue(status.getConditions(), StreamTableStatuses.DEGRADED);
  }

  public static String ownerOf(StreamTable streamTable) {
    return OWNER_PREFIX
        + Manifests.namespaceOf(streamTable)
        + "/"
        + streamTable.getMetadata().getName();
  }

  private void record(StreamTable streamTable, StreamTableEngine engine, String schema, String name)
      throws EngineException {
    String owner = ownerOf(streamTable);
    long generation = generation(streamTable.getMetadata().getGeneration());
    StreamTableStatus status =
        StreamTableStatuses.ready(
            generation, engine.report(schema, name), statuses.get(owner), clock.instant());
    status.setConditions(
        Conditions.merge(
            status.getConditions(),
            StreamTableStatuses.degraded(
                java.util.Optional.ofNullable(lastRefreshFailures.get(owner)),
                generation,
                clock.instant())));
    statuses.put(owner, status);
  }

  /** A refresh failed: Degraded=True, and Ready=False unless the failure may pass by itself. */
  private void refreshFailed(StreamTable streamTable, EngineException e) {
    String owner = ownerOf(streamTable);
    lastRefreshFailures.put(owner, e);
    statuses.put(
        owner,
        StreamTableStatuses.refreshFailed(
            generation(streamTable.getMetadata().getGeneration()),
            e,
            statuses.get(owner),
            clock.instant()));
  }

  private void fail(StreamTable streamTable, EngineException e) {
    String owner = ownerOf(streamTable);
    statuses.put(
        owner,
        StreamTableStatuses.failed(
            generation(streamTable.getMetadata().getGeneration()),
            e,
            statuses.get(owner),
            clock.instant()));
  }

  /**
   * Drops, in every database local mode declares stream tables in (see {@link
   * TargetResolver#declaredDatabases}; with no StreamTable left in the files too), the stream
   * tables local mode declared that no StreamTable in the files declares any more. A StreamTable
   * still in the files keeps its table wherever it is, whether or not its database could be told
   * this time. Goes on past a failure, then throws one naming each.
   */
  private void prune(Set<DatabaseTarget> declared) {
    List<String> failures = new ArrayList<>();
    Set<DatabaseTarget> databases =
        new LinkedHashSet<>(targets.declaredDatabases(e -> failures.add(e.getMessage())));
    databases.addAll(declared);
    Set<String> inTheFiles = new HashSet<>();
    manifests.streamTables().forEach(streamTable -> inTheFiles.add(ownerOf(streamTable)));
    for (DatabaseTarget database : databases) {
      try {
        StreamTableEngine engine = engineFor(database);
        // Readers first: a stream table's storage cannot go while another one reads it.
        for (StreamTableRecord record :
            engine.graph().downstreamFirst(engine.list(), r -> r.schema() + "." + r.name())) {
          String owner = record.owner();
          if (owner != null && owner.startsWith(OWNER_PREFIX) && !inTheFiles.contains(owner)) {
            try {
              engine.drop(record.schema(), record.name(), owner);
            } catch (EngineException e) {
              failures.add(database.description() + ": " + e.getMessage());
            }
          }
        }
      } catch (EngineException e) {
        failures.add(database.description() + ": " + e.getMessage());
      }
    }
    if (!failures.isEmpty()) {
      throw new IllegalStateException("prune failed: " + String.join("; ", failures));
    }
  }

  private synchronized StreamTableEngine engineFor(DatabaseTarget target) throws EngineException {
    StreamTableEngine engine = engines.get(target);
    if (engine == null) {
      engine = target.engine(endpoints(), queryRole());
      try {
        engine.migrateCatalog();
      } catch (EngineException e) {
        if (e.reason() == Reason.UpstreamInstall || e.reason() == Reason.CatalogIncomplete) {
          refusals.add(target.description() + ": " + e.getMessage());
        }
        throw e;
      }
      engines.put(target, engine);
    }
    return engine;
  }

  /** Node endpoint overrides from the CitusClusters in the files (all of them: one database). */
  private Map<String, String> endpoints() {
    Map<String, String> endpoints = new HashMap<>();
    for (CitusCluster cluster : manifests.clusters()) {
      if (cluster.getSpec() != null && cluster.getSpec().getEndpoints() != null) {
        endpoints.putAll(cluster.getSpec().getEndpoints());
      }
    }
    return endpoints;
  }

  /** The query role the CitusClusters in the files name, if any (they describe one database). */
  private java.util.Optional<String> queryRole() {
    return manifests.clusters().stream()
        .map(c -> c.getSpec() == null ? null : c.getSpec().getQueryRole())
        .filter(java.util.Objects::nonNull)
        .findFirst();
  }

  private static long generation(Long generation) {
    return generation == null ? 1 : generation;
  }
}
