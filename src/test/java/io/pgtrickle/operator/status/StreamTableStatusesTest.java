package io.pgtrickle.operator.status;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Condition;
import io.pgtrickle.operator.engine.StreamTableReport;
import io.pgtrickle.operator.engine.StreamTableReport.RefreshReport;
import io.pgtrickle.operator.engine.StreamTableReport.SourceReport;
import io.pgtrickle.operator.engine.StreamTableReport.TopologyChange;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class StreamTableStatusesTest {
  private static final OffsetDateTime T0 =
      OffsetDateTime.of(2026, 1, 1, 0, 0, 0, 0, ZoneOffset.UTC);

  @Test
  void onlyStreamTablesOverCitusSourcesHaveTheTopologyCondition() {
    assertThat(topology(report("local", Optional.empty(), Optional.empty()))).isEmpty();
    assertThat(topology(report("distributed", Optional.empty(), Optional.empty())))
        .hasValueSatisfying(c -> assertThat(c.getStatus()).isEqualTo("False"));
  }

  @Test
  void aChangeIsPendingUntilARefreshAfterItAndThenResynced() {
    TopologyChange change = new TopologyChange("public.orders: node w3:5432 (id 3) added", T0);
    Condition pending =
        topology(report("distributed", Optional.of(change), Optional.of(T0.minusSeconds(5))))
            .orElseThrow();
    assertThat(pending.getStatus()).isEqualTo("True");
    assertThat(pending.getReason()).isEqualTo("ResyncPending");
    assertThat(pending.getMessage())
        .startsWith(change.description())
        .contains(StreamTableStatuses.detectedMarker(change));

    Condition resynced =
        topology(report("distributed", Optional.of(change), Optional.of(T0.plusSeconds(1))))
            .orElseThrow();
    assertThat(resynced.getReason()).isEqualTo("Resynced");
    assertThat(resynced.getMessage()).contains("re-synced in full");
  }

  @Test
  void eachTopologyChangeIsAnnouncedOnce() {
    TopologyChange first =
        new TopologyChange("public.orders: shard 7 moved from node 1 to node 2", T0);
    StreamTableReport report = report("distributed", Optional.of(first), Optional.of(T0));
    assertThat(StreamTableStatuses.unannouncedTopologyChange(null, report)).contains(first);

    var shown = StreamTableStatuses.ready(1, report, null, Instant.now());
    assertThat(StreamTableStatuses.unannouncedTopologyChange(shown, report))
        .as("already in the status")
        .isEmpty();

    TopologyChange next =
        new TopologyChange("public.orders: node w3:5432 (id 3) added", T0.plusMinutes(1));
    StreamTableReport later = report("distributed", Optional.of(next), Optional.of(T0));
    assertThat(StreamTableStatuses.unannouncedTopologyChange(shown, later)).contains(next);
  }

  @Test
  void lastRefreshSaysWhichModeRanAndWhyItWasFull() {
    var status =
        StreamTableStatuses.ready(
            1, report("local", Optional.empty(), Optional.of(T0)), null, Instant.now());
    assertThat(status.getLastRefresh().getMode()).isEqualTo("FULL");
    assertThat(status.getLastRefresh().getReason()).isEqualTo("a TRUNCATE among the changes");
  }

  private static Optional<Condition> topology(StreamTableReport report) {
    return Conditions.find(
        StreamTableStatuses.ready(1, report, null, Instant.now()).getConditions(),
        StreamTableStatuses.TOPOLOGY_CHANGED);
  }

  private static StreamTableReport report(
      String placement, Optional<TopologyChange> change, Optional<OffsetDateTime> lastRefresh) {
    return new StreamTableReport(
        "public.totals",
        "FULL",
        "local",
        List.of(
            new SourceReport(
                "public.orders", "0123456789abcdef", placement, "wal", List.of(), change)),
        lastRefresh.map(
            t -> new RefreshReport(t, "FULL", 1, 1, Optional.of("a TRUNCATE among the changes"))),
        Optional.empty(),
        List.of(),
        List.of());
  }
}
