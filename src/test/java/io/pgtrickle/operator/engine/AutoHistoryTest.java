package io.pgtrickle.operator.engine;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class AutoHistoryTest {
  @Test
  void aDifferentialRefreshSlowerThanFullBoundsTheChangesAutoTakesDifferentially() {
    AutoHistory history = AutoHistory.NONE.afterFull(40).afterDifferential(5_000, 90);

    assertThat(history.limit()).hasValue(4_999);
    assertThat(history.reason())
        .hasValue(
            "a differential refresh of 5000 changed rows took 90 ms, longer than a full refresh"
                + " (40 ms), and this change is at least as large");
  }

  @Test
  void withoutAFullRefreshToCompareWithNothingIsLearned() {
    assertThat(AutoHistory.NONE.afterDifferential(5_000, 90).limit()).isEmpty();
  }

  @Test
  void theBoundOnlyComesDownUntilAFastRefreshOfASimilarChangeClearsIt() {
    AutoHistory slow = AutoHistory.NONE.afterFull(40).afterDifferential(5_000, 90);

    assertThat(slow.afterDifferential(8_000, 200).limit()).hasValue(4_999); // larger: no news
    assertThat(slow.afterDifferential(3_000, 50).limit()).hasValue(2_999); // smaller, also slow
    assertThat(slow.afterDifferential(3_000, 30).limit()).hasValue(4_999); // faster, not by half
    assertThat(slow.afterDifferential(1_000, 10).limit()).hasValue(4_999); // too small to tell
    assertThat(slow.afterDifferential(2_500, 10).limit()).isEmpty(); // half the size, < half FULL
  }

  @Test
  void aNewFullDurationIsKeptWithTheBoundWhileTheSlowRefreshWasSlowerStill() {
    AutoHistory slow = AutoHistory.NONE.afterFull(40).afterDifferential(5_000, 90);

    assertThat(slow.afterFull(60).fullMillis()).isEqualTo(60);
    assertThat(slow.afterFull(60).limit()).hasValue(4_999);
    assertThat(slow.afterFull(90).limit()).isEmpty(); // FULL no faster than that refresh
  }
}
