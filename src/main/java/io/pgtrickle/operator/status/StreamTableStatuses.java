package io.pgtrickle.operator.status;

import io.fabric8.kubernetes.api.model.Condition;
import io.pgtrickle.operator.api.LastRefresh;
import io.pgtrickle.operator.api.NodeFrontier;
import io.pgtrickle.operator.api.SourceStatus;
import io.pgtrickle.operator.api.StreamTable;
import io.pgtrickle.operator.api.StreamTableStatus;
import io.pgtrickle.operator.engine.EngineException;
import io.pgtrickle.operator.engine.Reason;
import io.pgtrickle.operator.engine.StreamTableReport;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;

/**
 * Builds a StreamTable's status from what the engine reports or how it failed. Shared by local mode
 * and the operator, so both show the same shape.
 */
public final class StreamTableStatuses {
  /** Reason of Ready=True. */
  public static final String READY_REASON = "Ready";

  /** Condition: the latest refresh failed (True) or succeeded (False). */
  public static final String DEGRADED = "Degraded";

  /** Condition on stream tables over Citus sources: their nodes or shard placements changed. */
  public static final String TOPOLOGY_CHANGED = "TopologyChanged";

  private StreamTableStatuses() {}

  public static StreamTableStatus ready(
      long generation, StreamTableReport report, StreamTableStatus previous, Instant now) {
    StreamTableStatus status = new StreamTableStatus();
    status.setObservedGeneration(generation);
    status.setStorageTable(report.storageTable());
    status.setRefreshMode(report.refreshMode());
    status.setPlacement(report.placement());
    status.setSources(report.sources().stream().map(StreamTableStatuses::source).toList());
    status.setTimeDependentOn(
        report.timeDependentOn().isEmpty() ? null : List.copyOf(report.timeDependentOn()));
    status.setDependsOn(report.dependsOn().isEmpty() ? null : List.copyOf(report.dependsOn()));
    report.lastRefresh().ifPresent(r -> status.setLastRefresh(lastRefresh(r)));
    status.setMaxLagBytes(
        report.sources().stream()
            .flatMap(s -> s.nodes().stream())
            .mapToLong(StreamTableReport.NodeReport::lagBytes)
            .max()
            .orElse(0));
    status.setConditions(
        Conditions.merge(
            previous == null ? null : previous.getConditions(),
            Conditions.of(
                Conditions.READY,
                true,
                READY_REASON,
                "stream table is up to date as of its last refresh",
                generation,
                now)));
    topologyChanged(report, generation, now)
        .ifPresent(c -> status.setConditions(Conditions.merge(status.getConditions(), c)));
    return status;
  }

  /**
   * For stream tables over Citus sources: True once the nodes or shards holding a source changed
   * after the stream table was created (reason ResyncPending until a refresh has re-read the
   * sources in full, then Resynced); False while they are as when capture began. The message names
   * the change and when it was detected, which also tells one change from the next.
   */
  static Optional<Condition> topologyChanged(
      StreamTableReport report, long generation, Instant now) {
    if (report.sources().stream().allMatch(s -> "local".equals(s.placement()))) {
      return Optional.empty();
    }
    Optional<StreamTableReport.TopologyChange> latest = latestTopologyChange(report);
    if (latest.isEmpty()) {
      return Optional.of(
          Conditions.of(
              TOPOLOGY_CHANGED,
              false,
              "Unchanged",
              "the nodes and shards holding the Citus sources are as when capture began",
              generation,
              now));
    }
    StreamTableReport.TopologyChange change = latest.get();
    Optional<OffsetDateTime> resyncedAt =
        report
            .lastRefresh()
            .map(StreamTableReport.RefreshReport::time)
            .filter(t -> !t.isBefore(change.at()));
    String detected = change.description() + " (" + detectedMarker(change) + ")";
    return Optional.of(
        Conditions.of(
            TOPOLOGY_CHANGED,
            true,
            resyncedAt.isPresent() ? "Resynced" : "ResyncPending",
            resyncedAt
                .map(t -> detected + "; re-synced in full by the refresh at " + t.toInstant())
                .orElse(detected + "; the next refresh re-syncs in full"),
            generation,
            now));
  }

  /** The most recent topology change of any of the stream table's sources. */
  public static Optional<StreamTableReport.TopologyChange> latestTopologyChange(
      StreamTableReport report) {
    return report.sources().stream()
        .flatMap(s -> s.topologyChange().stream())
        .max(Comparator.comparing(StreamTableReport.TopologyChange::at));
  }

  /**
   * The latest topology change, unless the previous status already showed it (its condition's
   * message names the same detection time): what deserves a warning event, once.
   */
  public static Optional<StreamTableReport.TopologyChange> unannouncedTopologyChange(
      StreamTableStatus previous, StreamTableReport report) {
    return latestTopologyChange(report)
        .filter(
            change ->
                Conditions.find(
                        previous == null ? null : previous.getConditions(), TOPOLOGY_CHANGED)
                    .map(Condition::getMessage)
                    .filter(m -> m.contains(detectedMarker(change)))
                    .isEmpty());
  }

  /** Identifies one topology change in the condition's message: "detected <time>". */
  public static String detectedMarker(StreamTableReport.TopologyChange change) {
    return "detected " + change.at().toInstant();
  }

  /**
   * Ready=False with the failure's reason and message. What was known before (sources, last
   * refresh) is kept: a failed refresh does not erase the frontier the table still has.
   */
  public static StreamTableStatus failed(
      long generation, EngineException failure, StreamTableStatus previous, Instant now) {
    StreamTableStatus status = previous == null ? new StreamTableStatus() : copyOf(previous);
    status.setObservedGeneration(generation);
    status.setConditions(
        Conditions.merge(
            status.getConditions(),
            Conditions.of(
                Conditions.READY,
                false,
                failure.reason().name(),
                failure.getMessage(),
                generation,
                now)));
    return status;
  }

  /**
   * Degraded=True with the latest refresh failure's reason and message (the table keeps its last
   * good contents), or False (RefreshSucceeded) when the latest refresh succeeded.
   */
  public static Condition degraded(
      Optional<EngineException> lastRefreshFailure, long generation, Instant now) {
    return lastRefreshFailure
        .map(e -> Conditions.of(DEGRADED, true, e.reason().name(), e.getMessage(), generation, now))
        .orElseGet(
            () ->
                Conditions.of(
                    DEGRADED,
                    false,
                    "RefreshSucceeded",
                    "the last refresh succeeded",
                    generation,
                    now));
  }

  /**
   * A refresh failed: Degraded=True. A failure that may pass by itself (RefreshFailed,
   * ClusterUnavailable) leaves Ready as it was: the table is there with its last good contents. Any
   * other (a source gone, the query no longer valid) also makes Ready=False with its reason.
   */
  public static StreamTableStatus refreshFailed(
      long generation, EngineException failure, StreamTableStatus previous, Instant now) {
    boolean passing =
        failure.reason() == Reason.RefreshFailed || failure.reason() == Reason.ClusterUnavailable;
    StreamTableStatus status =
        passing && previous != null ? copyOf(previous) : failed(generation, failure, previous, now);
    status.setConditions(
        Conditions.merge(status.getConditions(), degraded(Optional.of(failure), generation, now)));
    return status;
  }

  /**
   * A SourceMissing failure whose missing relation is the storage table of another declared
   * StreamTable ({@code declared}, e.g. those of the namespace): the message then says that this
   * one waits for it. Any other failure is returned as it is.
   */
  public static EngineException waitingFor(
      EngineException failure, StreamTable self, Collection<StreamTable> declared) {
    if (failure.reason() != Reason.SourceMissing) {
      return failure;
    }
    String message = failure.getMessage();
    for (StreamTable other : declared) {
      if (other.getSpec() == null
          || other.getSpec().getName() == null
          || other.getMetadata().getName().equals(self.getMetadata().getName())) {
        continue;
      }
      String name = other.getSpec().getName();
      String qualified = other.getSpec().getSchema() + "." + name;
      if (message.contains("\"" + name + "\"") || message.contains("\"" + qualified + "\"")) {
        return new EngineException(
            Reason.SourceMissing,
            "waits for StreamTable "
                + other.getMetadata().getName()
                + " ("
                + qualified
                + "), which is not ready yet: "
                + message,
            failure);
      }
    }
    return failure;
  }

  private static StreamTableStatus copyOf(StreamTableStatus previous) {
    StreamTableStatus copy = new StreamTableStatus();
    copy.setStorageTable(previous.getStorageTable());
    copy.setRefreshMode(previous.getRefreshMode());
    copy.setPlacement(previous.getPlacement());
    copy.setSources(previous.getSources());
    copy.setLastRefresh(previous.getLastRefresh());
    copy.setMaxLagBytes(previous.getMaxLagBytes());
    copy.setTimeDependentOn(previous.getTimeDependentOn());
    copy.setDependsOn(previous.getDependsOn());
    copy.setConditions(previous.getConditions());
    return copy;
  }

  private static SourceStatus source(StreamTableReport.SourceReport report) {
    SourceStatus source = new SourceStatus();
    source.setTable(report.table());
    source.setStableName(report.stableName());
    source.setPlacement(report.placement());
    source.setCdcMode(report.cdcMode());
    List<NodeFrontier> frontier =
        report.nodes().stream()
            .map(n -> new NodeFrontier(n.nodeId(), n.node(), n.lsn(), n.lagBytes()))
            .toList();
    source.setFrontier(frontier);
    return source;
  }

  private static LastRefresh lastRefresh(StreamTableReport.RefreshReport report) {
    LastRefresh last = new LastRefresh();
    last.setTime(report.time().toInstant().toString());
    last.setMode(report.mode());
    last.setDurationMillis(report.durationMillis());
    last.setRowsChanged(report.rowsChanged());
    report.reason().ifPresent(last::setReason);
    return last;
  }
}
