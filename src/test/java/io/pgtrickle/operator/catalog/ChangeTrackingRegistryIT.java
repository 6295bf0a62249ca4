package io.pgtrickle.operator.catalog;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgtrickle.operator.naming.StableName;
import io.pgtrickle.operator.testing.TestDatabase;
import io.pgtrickle.operator.testing.TestPostgres;
import java.sql.Connection;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class ChangeTrackingRegistryIT {
  private TestDatabase db;

  @BeforeEach
  void setUp() throws Exception {
    db = TestPostgres.freshDatabase();
    CatalogMigrator.migrate(db.dataSource());
    db.execute("CREATE TABLE public.orders (id int)", "CREATE TABLE public.customers (id int)");
  }

  @Test
  void registersASourceUnderItsStableName() throws Exception {
    try (Connection connection = db.connect()) {
      ResolvedTable orders = TableLookup.byName(connection, "public", "orders").orElseThrow();

      StableName name =
          new ChangeTrackingRegistry()
              .register(
                  connection, new SourceRegistration(orders, Placement.LOCAL, CdcMode.TRIGGER));

      assertThat(name).isEqualTo(orders.stableName());
    }
    assertThat(
            db.queryString(
                "SELECT source_stable_name || ' ' || source_placement || ' ' || cdc_mode || ' '"
                    + " || (frontier_per_node IS NULL) FROM pgtrickle.pgt_change_tracking"))
        .isEqualTo(
            StableName.of(
                    new io.pgtrickle.operator.naming.QualifiedTable(db.name(), "public", "orders"))
                + " local trigger true");
  }

  @Test
  void registeringTheSameTableAgainRefreshesItsOid() throws Exception {
    try (Connection connection = db.connect()) {
      ResolvedTable orders = TableLookup.byName(connection, "public", "orders").orElseThrow();
      ChangeTrackingRegistry registry = new ChangeTrackingRegistry();
      registry.register(
          connection, new SourceRegistration(orders, Placement.LOCAL, CdcMode.TRIGGER));
      // As after a dump/restore: same names, new OID.
      ResolvedTable restored = new ResolvedTable(orders.oid() + 1000, orders.name());
      registry.register(
          connection, new SourceRegistration(restored, Placement.LOCAL, CdcMode.TRIGGER));
    }
    assertThat(db.queryLong("SELECT count(*) FROM pgtrickle.pgt_change_tracking")).isEqualTo(1);
    assertThat(db.queryLong("SELECT source_relid FROM pgtrickle.pgt_change_tracking"))
        .isEqualTo(db.queryLong("SELECT 'public.orders'::regclass::oid") + 1000);
  }

  @Test
  void aDifferentTableWithTheSameStableNameIsRefusedNamingBothAndLeavesNothing() throws Exception {
    StableName forced = new StableName("00000000deadbeef");
    ChangeTrackingRegistry colliding = new ChangeTrackingRegistry(table -> forced);
    try (Connection connection = db.connect()) {
      connection.setAutoCommit(false);
      ResolvedTable orders = TableLookup.byName(connection, "public", "orders").orElseThrow();
      colliding.register(
          connection, new SourceRegistration(orders, Placement.LOCAL, CdcMode.TRIGGER));
      connection.commit();

      ResolvedTable customers = TableLookup.byName(connection, "public", "customers").orElseThrow();
      assertThatThrownBy(
              () ->
                  colliding.register(
                      connection,
                      new SourceRegistration(customers, Placement.LOCAL, CdcMode.TRIGGER)))
          .isInstanceOf(StableNameCollisionException.class)
          .hasMessageContaining("00000000deadbeef")
          .hasMessageContaining("\"public\".\"orders\"")
          .hasMessageContaining("\"public\".\"customers\"");
      connection.rollback();
    }
    assertThat(
            db.queryString(
                "SELECT string_agg(source_table, ',') FROM pgtrickle.pgt_change_tracking"))
        .isEqualTo("orders");
  }
}
