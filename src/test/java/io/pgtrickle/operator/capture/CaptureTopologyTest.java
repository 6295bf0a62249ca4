package io.pgtrickle.operator.capture;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class CaptureTopologyTest {
  private static final CaptureNode W1 = new CaptureNode(2, "w1:5432", "w1", 5432, false);
  private static final CaptureNode W2 = new CaptureNode(3, "w2:5432", "w2", 5432, false);
  private static final CaptureNode C = new CaptureNode(1, "c:5432", "c", 5432, true);

  @Test
  void aShardThatMovedIsNamed() {
    CaptureTopology before = CaptureTopology.of(List.of(W1, W2), Map.of(100L, 2, 101L, 3));
    CaptureTopology after = CaptureTopology.of(List.of(W1, W2), Map.of(100L, 3, 101L, 3));
    assertThat(after.changesSince(before)).isEqualTo("shard 100 moved from node 2 to node 3");
  }

  @Test
  void newShardIdsThroughoutAreAReplacementNotASplit() {
    // What Citus does when a distributed table is dropped and created again under its name.
    CaptureTopology before = CaptureTopology.of(List.of(W1, W2), Map.of(100L, 2, 101L, 3));
    CaptureTopology after = CaptureTopology.of(List.of(W1, W2), Map.of(200L, 2, 201L, 3));
    assertThat(after.changesSince(before)).isEqualTo("every shard replaced (2 → 2)");
  }

  @Test
  void someShardsKeptIsASplitOrMerge() {
    CaptureTopology before = CaptureTopology.of(List.of(W1, W2), Map.of(100L, 2, 101L, 3));
    CaptureTopology after = CaptureTopology.of(List.of(W1, W2), Map.of(100L, 2, 102L, 3, 103L, 3));
    assertThat(after.changesSince(before)).isEqualTo("shards split or merged (2 → 3)");
  }

  @Test
  void nothingChangedSaysNothing() {
    CaptureTopology before = CaptureTopology.of(List.of(W1, W2), Map.of(100L, 2, 101L, 3));
    assertThat(before.changesSince(before)).isEmpty();
  }

  @Test
  void theCoordinatorsTruncateSlotIsNoTopologyChange() {
    // Recorded before the coordinator got a slot for TRUNCATE of distributed tables.
    CaptureTopology before =
        CaptureTopology.fromJson(
            CaptureTopology.of(List.of(W1, W2), Map.of(100L, 2, 101L, 3))
                .toJson()
                .replace(",\"truncateOnlyNodes\":[]", ""));
    assertThat(before.truncateOnlyNodes()).isEmpty();
    CaptureTopology now =
        CaptureTopology.of(List.of(W1, W2, C), Map.of(100L, 2, 101L, 3), Set.of(1));
    assertThat(now.changesSince(before)).isEmpty();
    assertThat(before.changesSince(now)).isEmpty();
    assertThat(now.truncatesOnly(C)).isTrue();
    assertThat(now.truncatesOnly(W1)).isFalse();
    assertThat(CaptureTopology.fromJson(now.toJson())).isEqualTo(now);
  }

  @Test
  void aCoordinatorThatGaveUpItsShardsKeepsItsSlotAndOnlyTheMoveCounts() {
    CaptureTopology before = CaptureTopology.of(List.of(W1, C), Map.of(100L, 2, 101L, 1));
    CaptureTopology after = CaptureTopology.of(List.of(W1, C), Map.of(100L, 2, 101L, 2), Set.of(1));
    assertThat(after.changesSince(before)).isEqualTo("shard 101 moved from node 1 to node 2");
  }
}
