package io.pgtrickle.operator.cdc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The window read from a setting: its name and value never carry anything but their forms. */
class ChangeBufferWindowTest {
  @Test
  void theSettingAndTheConditionNameTheSameSetting() {
    assertThat(ChangeBuffer.windowSetting("pgtrickle.window_0a1b", "10:12:10,11"))
        .isEqualTo("SET LOCAL pgtrickle.window_0a1b = '10:12:10,11'");
    assertThat(ChangeBuffer.unconsumedBySetting("b", "pgtrickle.window_0a1b"))
        .contains("pg_catalog.current_setting('pgtrickle.window_0a1b')::pg_catalog.pg_snapshot")
        .doesNotContain("10:12");
  }

  @Test
  void refusesWhatIsNotASnapshotOrOurSetting() {
    assertThatThrownBy(() -> ChangeBuffer.windowSetting("pgtrickle.w", "1:2:'; DROP TABLE t; --"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> ChangeBuffer.windowSetting("search_path", "1:2:"))
        .isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> ChangeBuffer.unconsumedBySetting("b", "pgtrickle.x') OR (true"))
        .isInstanceOf(IllegalArgumentException.class);
  }
}
