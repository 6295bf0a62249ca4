package io.pgtrickle.operator.engine;

import java.time.OffsetDateTime;
import java.util.List;
import java.util.Optional;

/** What the engine knows of one stream table, for status. */
public record StreamTableReport(
    String storageTable,
    String refreshMode,
    String placement,
    List<SourceReport> sources,
    Optional<RefreshReport> lastRefresh,
    Optional<String> lastError,
    List<String> timeDependentOn,
    List<String> dependsOn) {

  /**
   * A source with its frontier on every node that holds its data, and the last change of those
   * nodes or of its shard placement since the stream table was created.
   */
  public record SourceReport(
      String table,
      String stableName,
      String placement,
      String cdcMode,
      List<NodeReport> nodes,
      Optional<TopologyChange> topologyChange) {}

  /** Nodes joined or left a source, or its shards moved; the source was marked for re-sync. */
  public record TopologyChange(String description, OffsetDateTime at) {}

  /** One node's frontier for one source; lag is 0 when nothing is waiting to be applied. */
  public record NodeReport(int nodeId, String node, String lsn, long lagBytes) {}

  /**
   * The last refresh that applied changes: the mode that ran, and why it ran FULL when the stream
   * table is not refreshMode FULL (empty otherwise).
   */
  public record RefreshReport(
      OffsetDateTime time,
      String mode,
      long durationMillis,
      long rowsChanged,
      Optional<String> reason) {
    /** Whether this was the one full re-sync after the database moved to another server. */
    public boolean resyncedAfterServerMove() {
      return reason.filter(ServerMove.resyncReason()::equals).isPresent();
    }
  }
}
