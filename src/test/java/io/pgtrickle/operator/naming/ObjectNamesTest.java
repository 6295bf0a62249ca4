package io.pgtrickle.operator.naming;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ObjectNamesTest {
  private final ObjectNames names = ObjectNames.of(new QualifiedTable("shop", "public", "orders"));

  @Test
  void derivesEveryNameFromTheStableName() {
    assertThat(names.stableName().value()).isEqualTo("2def2740256dfb26");
    assertThat(names.all())
        .containsEntry("change_buffer", "pgtrickle_changes.changes_2def2740256dfb26")
        .containsEntry("trigger_function", "pg_trickle_cdc_fn_2def2740256dfb26")
        .containsEntry("trigger_ins", "pg_trickle_cdc_ins_2def2740256dfb26")
        .containsEntry("trigger_upd", "pg_trickle_cdc_upd_2def2740256dfb26")
        .containsEntry("trigger_del", "pg_trickle_cdc_del_2def2740256dfb26")
        .containsEntry("trigger_trunc", "pg_trickle_cdc_trunc_2def2740256dfb26")
        .containsEntry("index_xid", "idx_changes_2def2740256dfb26_xid")
        .containsEntry("index_markers", "idx_changes_2def2740256dfb26_markers")
        .containsEntry("slot", "pgtrickle_2def2740256dfb26")
        .containsEntry("publication", "pgtrickle_pub_2def2740256dfb26");
    assertThat(names.changeBufferQualified())
        .isEqualTo("\"pgtrickle_changes\".\"changes_2def2740256dfb26\"");
  }

  @Test
  void everyNameFitsTheIdentifierLimitWhateverTheTableName() {
    String longName = "ž".repeat(63);
    ObjectNames fromLongNames = ObjectNames.of(new QualifiedTable(longName, longName, longName));
    assertThat(fromLongNames.all().values())
        .allSatisfy(
            name -> {
              for (String part : name.split("\\.", -1)) {
                assertThat(part.getBytes(StandardCharsets.UTF_8).length).isLessThanOrEqualTo(63);
              }
              assertThat(name).contains(fromLongNames.stableName().value());
            });
  }

  @Test
  void namesDoNotDependOnAnythingButTheThreeCatalogNames() {
    ObjectNames again = ObjectNames.of(new QualifiedTable("shop", "public", "orders"));
    ObjectNames otherDatabase = ObjectNames.of(new QualifiedTable("shop2", "public", "orders"));
    assertThat(again.all()).isEqualTo(names.all());
    assertThat(otherDatabase.replicationSlot()).isNotEqualTo(names.replicationSlot());
  }
}
