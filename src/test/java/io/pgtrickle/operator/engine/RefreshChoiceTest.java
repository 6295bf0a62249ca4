package io.pgtrickle.operator.engine;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class RefreshChoiceTest {
  @Test
  void autoLimitIsFourPercentOfTheSourcesPlusThirtyPercentOfTheStreamTable() {
    // The harness's three shapes over 1M sales rows: 10k groups, a 500k-row filter, a 1M-row join.
    assertThat(RefreshChoice.autoLimit(1_000_000, 10_000)).isEqualTo(43_000);
    assertThat(RefreshChoice.autoLimit(1_000_000, 500_000)).isEqualTo(190_000);
    assertThat(RefreshChoice.autoLimit(1_011_000, 1_000_000)).isEqualTo(340_440);
  }

  @Test
  void autoLimitNeverFallsBelowTheFloor() {
    assertThat(RefreshChoice.autoLimit(0, 0)).isEqualTo(RefreshChoice.AUTO_DIFFERENTIAL_FLOOR);
    assertThat(RefreshChoice.autoLimit(1_000, 10)).isEqualTo(RefreshChoice.AUTO_DIFFERENTIAL_FLOOR);
    assertThat(RefreshChoice.autoLimit(-1, -1)).isEqualTo(RefreshChoice.AUTO_DIFFERENTIAL_FLOOR);
    assertThat(RefreshChoice.autoLimit(2_500, 10)).isEqualTo(103);
  }
}
