package io.pgtrickle.operator.catalog;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgtrickle.operator.engine.EngineException;
import io.pgtrickle.operator.engine.Reason;
import io.pgtrickle.operator.engine.StreamTableEngine;
import io.pgtrickle.operator.testing.TestDatabase;
import io.pgtrickle.operator.testing.TestPostgres;
import io.pgtrickle.operator.testing.UpstreamFixture;
import java.sql.Connection;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A database that holds the upstream pg_trickle extension (which uses our schema names) is refused
 * before anything is created or changed in it.
 */
class UpstreamInstallIT {
  private TestDatabase db;

  @AfterEach
  void dropSlots() throws Exception {
    if (db != null) {
      db.dropReplicationSlots();
    }
  }

  @Test
  void theEngineRefusesTheUpstreamExtensionAndTouchesNothing() throws Exception {
    db = TestPostgres.freshDatabase();
    UpstreamFixture fixture = UpstreamFixture.build(db);
    String before = fixture.snapshot();

    StreamTableEngine engine = new StreamTableEngine(db.dataSource());
    assertThatThrownBy(engine::migrateCatalog)
        .isInstanceOfSatisfying(
            EngineException.class,
            e -> {
              assertThat(e.reason()).isEqualTo(Reason.UpstreamInstall);
              assertThat(e.getMessage())
                  .contains("the upstream pg_trickle extension " + UpstreamFixture.VERSION)
                  .contains("pgtrickle_changes.changes_" + fixture.triggerSources().get(0))
                  .contains("nothing was created or changed");
            });

    assertThat(fixture.snapshot()).isEqualTo(before);
    assertThat(db.queryLong("SELECT count(*) FROM pg_class WHERE relname = 'pgt_schema_history'"))
        .isZero();
  }

  @Test
  void leftoversOfTheUpstreamWithoutItsExtensionAreRefusedToo() throws Exception {
    db = TestPostgres.freshDatabase();
    UpstreamFixture fixture = UpstreamFixture.build(db);
    // DROP EXTENSION ... CASCADE takes its schemas with everything in them; slots and
    // publications are not in a schema and stay.
    db.execute("DROP EXTENSION pg_trickle CASCADE");
    long slotSource = fixture.walSources().get(0);

    try (Connection connection = db.connect()) {
      UpstreamInstall found = UpstreamInstall.detect(connection).orElseThrow();
      assertThat(found.extensionVersion()).isEmpty();
      assertThat(found.oidNamedObjects())
          .contains(
              "replication slot pgtrickle_" + slotSource,
              "publication pgtrickle_cdc_" + slotSource);
    }
    assertThatThrownBy(() -> CatalogMigrator.migrate(db.dataSource()))
        .isInstanceOf(UpstreamInstallException.class)
        .hasMessageContaining("OID-named capture objects");
    assertThat(db.queryLong("SELECT count(*) FROM pg_namespace WHERE nspname = 'pgtrickle'"))
        .isZero();
  }

  @Test
  void ourOwnObjectsAreNeverTakenForTheUpstreams() throws Exception {
    db = TestPostgres.freshDatabase();
    db.execute(
        "CREATE TABLE t (id int PRIMARY KEY)",
        // A stable name may be all digits; an OID never has 16.
        "SELECT pg_create_logical_replication_slot('pgtrickle_1234567890123456', 'pgoutput')");
    CatalogMigrator.migrate(db.dataSource());
    db.execute(
        "CREATE TABLE pgtrickle_changes.changes_0123456789012345 (x int)",
        "CREATE PUBLICATION pgtrickle_pub_1234567890123456 FOR TABLE t");

    try (Connection connection = db.connect()) {
      assertThat(UpstreamInstall.detect(connection)).isEmpty();
    }
    assertThat(CatalogMigrator.migrate(db.dataSource())).isZero();
  }
}
