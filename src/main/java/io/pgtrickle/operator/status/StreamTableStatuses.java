package io.pgtrickle.operator.status;

import io.pgtrickle.operator.api.LastRefresh;
import io.pgtrickle.operator.api.NodeFrontier;
import io.pgtrickle.operator.api.SourceStatus;
import io.pgtrickle.operator.api.StreamTableStatus;
import io.pgtrickle.operator.engine.EngineException;
import io.pgtrickle.operator.engine.StreamTableReport;
import java.time.Instant;
import java.util.List;

/**
 * Builds a StreamTable's status from what the engine reports or how it failed. Shared by local mode
 * and the operator, so both show the same shape.
 */
public final class StreamTableStatuses {
  /** Reason of Ready=True. */
  public static final String READY_REASON = "Ready";

  private StreamTableStatuses() {}

  public static StreamTableStatus ready(
      long generation, StreamTableReport report, StreamTableStatus previous, Instant now) {
    StreamTableStatus status = new StreamTableStatus();
    status.setObservedGeneration(generation);
    status.setStorageTable(report.storageTable());
    status.setRefreshMode(report.refreshMode());
    status.setPlacement(report.placement());
    status.setSources(report.sources().stream().map(StreamTableStatuses::source).toList());
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
    return status;
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

  private static StreamTableStatus copyOf(StreamTableStatus previous) {
    StreamTableStatus copy = new StreamTableStatus();
    copy.setStorageTable(previous.getStorageTable());
    copy.setRefreshMode(previous.getRefreshMode());
    copy.setPlacement(previous.getPlacement());
    copy.setSources(previous.getSources());
    copy.setLastRefresh(previous.getLastRefresh());
    copy.setMaxLagBytes(previous.getMaxLagBytes());
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
    return last;
  }
}
