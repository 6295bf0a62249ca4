package io.pgtrickle.operator.operator;

import io.fabric8.kubernetes.api.model.Condition;
import io.javaoperatorsdk.operator.api.reconciler.Cleaner;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.DeleteControl;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.pgtrickle.operator.api.CitusCluster;
import io.pgtrickle.operator.api.StreamTable;
import io.pgtrickle.operator.api.StreamTableStatus;
import io.pgtrickle.operator.engine.EngineException;
import io.pgtrickle.operator.engine.Reason;
import io.pgtrickle.operator.engine.StreamTableDefinition;
import io.pgtrickle.operator.engine.StreamTableEngine;
import io.pgtrickle.operator.engine.StreamTableReport;
import io.pgtrickle.operator.status.Conditions;
import io.pgtrickle.operator.status.StreamTableStatuses;
import java.time.Clock;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Thin controller for StreamTables: observe (cluster, spec), validate, act (the engine applies the
 * definition and the scheduler refreshes it), record status (through the StatusRecorder). It runs
 * again every status interval, which writes frontier progress and repairs drift such as a dropped
 * trigger. The finalizer drops every object the resource created.
 */
@ControllerConfiguration(name = "streamtable", finalizerName = StreamTableReconciler.FINALIZER)
public final class StreamTableReconciler implements Reconciler<StreamTable>, Cleaner<StreamTable> {
  public static final String FINALIZER = "pgtrickle.io/cleanup";
  static final String SLOT_LAG = "SlotLagHigh";
  private static final String OWNER_PREFIX = "k8s/";

  private final ClusterConnections connections;
  private final Scheduling scheduling;
  private final RefreshTracker tracker;
  private final StatusRecorder recorder;
  private final Events events;
  private final OperatorSettings settings;
  private final Clock clock;

  /** Per stream table, the server-move re-sync already announced (its refresh time). */
  private final java.util.Map<String, String> announcedMoves =
      new java.util.concurrent.ConcurrentHashMap<>();

  public StreamTableReconciler(
      ClusterConnections connections,
      Scheduling scheduling,
      RefreshTracker tracker,
      StatusRecorder recorder,
      Events events,
      OperatorSettings settings,
      Clock clock) {
    this.connections = connections;
    this.scheduling = scheduling;
    this.tracker = tracker;
    this.recorder = recorder;
    this.events = events;
    this.settings = settings;
    this.clock = clock;
  }

  @Override
  public UpdateControl<StreamTable> reconcile(StreamTable resource, Context<StreamTable> context) {
    String key = keyOf(resource);
    StreamTableStatus previous = resource.getStatus();
    long generation = Objects.requireNonNullElse(resource.getMetadata().getGeneration(), 1L);
    StreamTableStatus next;
    try {
      StreamTableDefinition definition = StreamTableDefinition.from(resource.getSpec());
      StreamTableEngine engine = engineFor(resource);
      StreamTableEngine.ApplyResult result =
          engine.apply(
              definition,
              ownerOf(resource),
              warning -> events.warning(resource, "CaptureWarning", warning));
      // The refresh scheduler may restore a source's stream table before this reconcile does:
      // a Ready that was SourceMissing and now holds means the same.
      boolean sourcesWereMissing =
          Conditions.find(previous == null ? null : previous.getConditions(), Conditions.READY)
              .map(c -> "False".equals(c.getStatus()) && "SourceMissing".equals(c.getReason()))
              .orElse(false);
      boolean sourcesBack =
          result == StreamTableEngine.ApplyResult.RESYNCED
              || (sourcesWereMissing && result != StreamTableEngine.ApplyResult.CREATED);
      // A re-sync is announced below, once the report tells a server move from sources back.
      if (!sourcesBack
          && (result == StreamTableEngine.ApplyResult.CREATED
              || result == StreamTableEngine.ApplyResult.REBUILT)) {
        events.normal(
            resource,
            result == StreamTableEngine.ApplyResult.CREATED ? "Created" : "Rebuilt",
            "stream table "
                + definition.qualifiedName()
                + " "
                + result.name().toLowerCase(java.util.Locale.ROOT));
      }
      scheduling.ensure(key, engine, definition);
      StreamTableReport report = engine.report(definition.schema(), definition.name());
      if (!announceServerMove(resource, key, definition, report) && sourcesBack) {
        events.normal(
            resource,
            "Resynced",
            "the sources of "
                + definition.qualifiedName()
                + " are back: capture re-established and the table re-synced in full");
      }
      tracker.recordLag(key, report);
      next = StreamTableStatuses.ready(generation, report, previous, clock.instant());
      next.setConditions(
          Conditions.merge(
              next.getConditions(),
              StreamTableStatuses.degraded(tracker.lastFailure(key), generation, clock.instant())));
      Condition lag = slotLag(report, generation);
      if ("True".equals(lag.getStatus())
          && !Conditions.isTrue(previous == null ? null : previous.getConditions(), SLOT_LAG)) {
        events.warning(resource, SLOT_LAG, lag.getMessage());
      }
      next.setConditions(Conditions.merge(next.getConditions(), lag));
      announceTopologyChange(resource, previous, report);
    } catch (EngineException failure) {
      EngineException e =
          failure.reason() == Reason.SourceMissing
              ? StreamTableStatuses.waitingFor(
                  failure,
                  resource,
                  connections.streamTables(resource.getMetadata().getNamespace()))
              : failure;
      next = StreamTableStatuses.failed(generation, e, previous, clock.instant());
      if (!sameReadyReason(previous, e.reason().name())) {
        events.warning(resource, e.reason().name(), e.getMessage());
      }
    }
    UpdateControl<StreamTable> control;
    if (recorder.shouldWrite(resource.getMetadata().getUid(), previous, next)) {
      resource.setStatus(next);
      control = UpdateControl.patchStatus(resource);
    } else {
      control = UpdateControl.noUpdate();
    }
    return control.rescheduleAfter(settings.statusInterval());
  }

  /**
   * A re-sync because the database now runs on another server (a restore, an upgrade), whoever ran
   * it (this reconcile or the refresh scheduler): event Resynced, once per re-sync. True if the
   * latest refresh was one.
   */
  private boolean announceServerMove(
      StreamTable resource,
      String key,
      StreamTableDefinition definition,
      StreamTableReport report) {
    Optional<String> at =
        report
            .lastRefresh()
            .filter(StreamTableReport.RefreshReport::resyncedAfterServerMove)
            .map(r -> r.time().toInstant().toString());
    if (at.isPresent() && !at.get().equals(announcedMoves.put(key, at.get()))) {
      events.normal(
          resource,
          "Resynced",
          "the database now runs on another server than the one the frontier of "
              + definition.qualifiedName()
              + " was taken on (restored, upgraded, or a new timeline): capture re-established"
              + " and the table re-synced in full at "
              + at.get());
    }
    return at.isPresent();
  }

  @Override
  public DeleteControl cleanup(StreamTable resource, Context<StreamTable> context) {
    String key = keyOf(resource);
    announcedMoves.remove(key);
    scheduling.cancel(key);
    tracker.untrack(key);
    recorder.forget(resource.getMetadata().getUid());
    if (resource.getSpec() == null || resource.getSpec().getName() == null) {
      return DeleteControl.defaultDelete();
    }
    String table = resource.getSpec().getSchema() + "." + resource.getSpec().getName();
    Optional<CitusCluster> cluster = cluster(resource);
    if (cluster.isEmpty()) {
      events.warning(
          resource,
          "CleanupSkipped",
          "CitusCluster "
              + resource.getSpec().getClusterRef()
              + " is gone, so nothing was dropped: the capture triggers and buffers of "
              + table
              + "'s sources and the table itself may remain in that database");
      return DeleteControl.defaultDelete();
    }
    try {
      boolean dropped =
          connections
              .handle(cluster.get())
              .engine()
              .drop(
                  resource.getSpec().getSchema(), resource.getSpec().getName(), ownerOf(resource));
      if (dropped) {
        events.normal(resource, "Deleted", "dropped " + table + " and its capture objects");
      }
      return DeleteControl.defaultDelete();
    } catch (EngineException e) {
      if (e.reason() == Reason.Conflict) {
        // Not ours to drop: another resource manages this table.
        return DeleteControl.defaultDelete();
      }
      events.warning(
          resource,
          "CleanupFailed",
          e.getMessage()
              + "; retrying. To give up and leave the objects, remove the finalizer "
              + FINALIZER);
      return DeleteControl.noFinalizerRemoval().rescheduleAfter(settings.statusInterval());
    }
  }

  private StreamTableEngine engineFor(StreamTable resource) throws EngineException {
    CitusCluster cluster =
        cluster(resource)
            .orElseThrow(
                () ->
                    new EngineException(
                        Reason.ClusterUnavailable,
                        "CitusCluster "
                            + resource.getMetadata().getNamespace()
                            + "/"
                            + resource.getSpec().getClusterRef()
                            + " does not exist"));
    return connections.handle(cluster).engine();
  }

  private Optional<CitusCluster> cluster(StreamTable resource) {
    String clusterRef = resource.getSpec() == null ? null : resource.getSpec().getClusterRef();
    if (clusterRef == null) {
      return Optional.empty();
    }
    return connections.cluster(resource.getMetadata().getNamespace(), clusterRef);
  }

  /** True when a WAL capture slot holds back more than the configured limit on some node. */
  private Condition slotLag(StreamTableReport report, long generation) {
    List<String> lagging = new java.util.ArrayList<>();
    for (StreamTableReport.SourceReport source : report.sources()) {
      if (!"wal".equals(source.cdcMode())) {
        continue;
      }
      for (StreamTableReport.NodeReport node : source.nodes()) {
        if (node.lagBytes() > settings.slotLagLimitBytes()) {
          lagging.add(source.table() + " on " + node.node() + ": " + node.lagBytes() + " bytes");
        }
      }
    }
    return lagging.isEmpty()
        ? Conditions.of(
            SLOT_LAG,
            false,
            "WithinLimit",
            "every capture slot holds back at most " + settings.slotLagLimitBytes() + " bytes",
            generation,
            clock.instant())
        : Conditions.of(
            SLOT_LAG,
            true,
            "SlotLagAboveLimit",
            "capture slots hold back WAL above the limit of "
                + settings.slotLagLimitBytes()
                + " bytes (WAL is pinned on those nodes): "
                + String.join("; ", lagging),
            generation,
            clock.instant());
  }

  /** One warning event per topology change. */
  private void announceTopologyChange(
      StreamTable resource, StreamTableStatus previous, StreamTableReport report) {
    StreamTableStatuses.unannouncedTopologyChange(previous, report)
        .ifPresent(
            change ->
                events.warning(
                    resource,
                    StreamTableStatuses.TOPOLOGY_CHANGED,
                    change.description()
                        + " ("
                        + StreamTableStatuses.detectedMarker(change)
                        + "); the stream table is re-synced in full"));
  }

  private static boolean sameReadyReason(StreamTableStatus previous, String reason) {
    return previous != null
        && Conditions.find(previous.getConditions(), Conditions.READY)
            .map(c -> reason.equals(c.getReason()))
            .orElse(false);
  }

  static String keyOf(StreamTable resource) {
    return resource.getMetadata().getNamespace() + "/" + resource.getMetadata().getName();
  }

  static String ownerOf(StreamTable resource) {
    return OWNER_PREFIX + keyOf(resource);
  }
}
