package io.pgtrickle.operator.engine;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class RefreshChoiceTest {
  @Test
  void autoLimitIsFourPercentOfTheSourcesPerTablePlusThirtyPercentOfTheStreamTable() {
    // The harness's three shapes over 1M sales rows: 10k groups, a 500k-row filter, a 1M-row join
    // of three tables.
    assertThat(RefreshChoice.autoLimit(1_000_000, 1, 10_000)).isEqualTo(43_000);
    assertThat(RefreshChoice.autoLimit(1_000_000, 1, 500_000)).isEqualTo(190_000);
    assertThat(RefreshChoice.autoLimit(1_011_000, 3, 1_000_000)).isEqualTo(313_480);
    // TPC-H q5 at scale 0.1: six tables, 766k rows, five result rows.
    assertThat(RefreshChoice.autoLimit(766_000, 6, 5)).isEqualTo(5_109);
  }

  @Test
  void autoLimitNeverFallsBelowTheFloor() {
    assertThat(RefreshChoice.autoLimit(0, 1, 0)).isEqualTo(RefreshChoice.AUTO_DIFFERENTIAL_FLOOR);
    assertThat(RefreshChoice.autoLimit(1_000, 1, 10))
        .isEqualTo(RefreshChoice.AUTO_DIFFERENTIAL_FLOOR);
    assertThat(RefreshChoice.autoLimit(-1, 0, -1)).isEqualTo(RefreshChoice.AUTO_DIFFERENTIAL_FLOOR);
    assertThat(RefreshChoice.autoLimit(2_500, 1, 10)).isEqualTo(103);
  }
}
