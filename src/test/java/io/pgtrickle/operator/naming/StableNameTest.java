package io.pgtrickle.operator.naming;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class StableNameTest {
  /**
   * Pinned values, computed independently of this code (a separate FNV-1a-64 over the UTF-8 bytes
   * of "database/schema.table"). If one changes, every installed object name changes with it.
   */
  @ParameterizedTest(name = "{0}/{1}.{2} -> {3}")
  @CsvSource({
    "shop, public, orders, 2def2740256dfb26",
    "shop, public, Orders, 48ec542c4e15be46",
    "Shop, Sales, LineItems, 9b034eb02322f33e",
    "café, schéma, tàble_ü, b8e961fc0c3d5c3a",
    "db, my.schema, t, 998cea6b64a01cf9",
    "analytics, 数据, 表, 3f99cc31bcfe3fff"
  })
  void isPinnedForKnownTables(String database, String schema, String table, String expected) {
    assertThat(StableName.of(new QualifiedTable(database, schema, table)).value())
        .isEqualTo(expected);
  }

  @ParameterizedTest
  @CsvSource({"2DEF2740256DFB26", "2def2740256dfb2", "2def2740256dfb26a", "2def2740256dfb2g"})
  void rejectsAnythingButSixteenLowerHexDigits(String value) {
    assertThatThrownBy(() -> new StableName(value))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("16 lower-case hex digits");
  }
}
