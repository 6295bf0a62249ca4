package io.pgtrickle.operator.engine;

import static io.pgtrickle.operator.engine.TwoStreamTables.EVENTS;
import static io.pgtrickle.operator.engine.TwoStreamTables.FOREIGN_OIDS;
import static io.pgtrickle.operator.engine.TwoStreamTables.ORDERS;
import static io.pgtrickle.operator.engine.TwoStreamTables.STABLE_NAMES;
import static io.pgtrickle.operator.engine.TwoStreamTables.engine;
import static io.pgtrickle.operator.engine.TwoStreamTables.makeStreamTables;
import static io.pgtrickle.operator.engine.TwoStreamTables.write;
import static org.assertj.core.api.Assertions.assertThat;

import io.pgtrickle.operator.embedded.PostgresServer;
import io.pgtrickle.operator.testing.PgTools;
import io.pgtrickle.operator.testing.StreamTableAssertions;
import io.pgtrickle.operator.testing.TestDatabase;
import java.sql.SQLException;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A major upgrade by pg_upgrade (PostgreSQL 15 to 17 here): a cluster of the older installation
 * ({@code PGTRICKLE_TEST_PG_BINDIR}) with stream tables over trigger and WAL capture and changes
 * pending, stopped, and upgraded by the newer installation's pg_upgrade ({@code
 * PGTRICKLE_TEST_PG_NEW_BINDIR}) into a new cluster. The DBA does nothing about the operator's
 * slots: pg_upgrade carries logical slots only from a 17 cluster on and leaves those of an older
 * one behind without a word. The new cluster has another system identifier; the engine notices,
 * re-syncs each stream table once, makes the slot again, and from then on refreshes exactly.
 */
class PgUpgradeIT {
  private static final String SERVER = "SELECT server FROM pgtrickle.pgt_server";
  private static final String ORDERS_OID = "SELECT 'public.orders'::regclass::oid";

  @Test
  void aMajorUpgradeByPgUpgradeKeepsStableNamesAndResyncsOnceWithTheSlotMadeAgain()
      throws Exception {
    PgTools oldTools = PgTools.require();
    PgTools newTools = PgTools.requireNewerThan(oldTools, "pg_upgrade");
    PostgresServer old = oldTools.startServer();
    PostgresServer upgraded = null;
    try {
      TestDatabase before = new TestDatabase(old, "shop");
      old.createDatabase(before.name());
      makeStreamTables(before, engine(before));
      String stableNames = before.queryString(STABLE_NAMES);
      String oldServer = before.queryString(SERVER);
      long ordersOid = before.queryLong(ORDERS_OID);
      // Pending at shutdown: in the trigger buffer, and in the slot (left in place).
      write(
          before,
          "INSERT INTO orders VALUES (100, 'north', 7)",
          "UPDATE orders SET amount = amount + 1 WHERE id = 3",
          "INSERT INTO events VALUES (100, 'b')",
          "DELETE FROM events WHERE id = 4");
      assertThat(slots(before)).isEqualTo(1);

      PgTools.Upgraded upgrade = newTools.upgrade(old);
      upgraded = upgrade.server();
      TestDatabase after = new TestDatabase(upgraded, before.name());
      assertThat(major(after)).isEqualTo(newTools.major()).isGreaterThan(oldTools.major());
      assertThat(slots(after))
          .as(
              "pg_upgrade %d carries no logical slot of a %d cluster",
              newTools.major(), oldTools.major())
          .isZero();
      assertThat(upgrade.output()).doesNotContainIgnoringCase("slot");
      assertThat(after.queryString(STABLE_NAMES)).isEqualTo(stableNames);
      assertThat(after.queryLong(ORDERS_OID))
          .as("pg_upgrade keeps tables' OIDs")
          .isEqualTo(ordersOid);
      assertThat(after.queryString("SELECT " + ServerMove.CURRENT))
          .as("a new cluster: another system identifier")
          .isNotEqualTo(oldServer);

      // Written after the upgrade, before the operator is back: triggers fire, no slot yet.
      write(
          after,
          "INSERT INTO orders VALUES (101, 'south', 11)",
          "UPDATE orders SET amount = amount + 1 WHERE id = 1",
          "INSERT INTO events VALUES (101, 'c')",
          "DELETE FROM events WHERE id = 1");
      StreamTableEngine engine = engine(after); // connecting forgets the old cluster's buffers
      assertThat(after.queryString(SERVER)).isNotEqualTo(oldServer);
      // Written between that and the re-sync: in the buffers after they were emptied.
      write(
          after,
          "INSERT INTO orders VALUES (102, 'south', 13)",
          "INSERT INTO events VALUES (102, 'c')");
      engine.refresh("public", "orders_by_region");
      EngineTestSupport.refreshUntilExact(engine, after, "events_by_kind", EVENTS);
      StreamTableAssertions.assertMatchesQuery(after, "orders_by_region", ORDERS);
      for (String name : List.of("orders_by_region", "events_by_kind")) {
        assertThat(engine.report("public", name).lastRefresh().orElseThrow().reason())
            .as(name)
            .hasValueSatisfying(r -> assertThat(r).contains("another server"));
      }
      assertThat(slots(after)).as("the WAL source's slot is made again").isEqualTo(1);
      assertThat(after.queryLong(FOREIGN_OIDS))
          .as("the catalog's OIDs are this cluster's")
          .isZero();

      // From here on, differential and exact: each change applied once, none skipped.
      for (int round = 0; round < 3; round++) {
        write(
            after,
            "INSERT INTO orders VALUES (" + (200 + round) + ", 'east', " + round + ")",
            "UPDATE orders SET amount = amount * 2 WHERE id = " + (5 + round),
            "INSERT INTO events VALUES (" + (200 + round) + ", 'd')",
            "DELETE FROM events WHERE id = " + (5 + round));
        engine.refresh("public", "orders_by_region");
        StreamTableAssertions.assertMatchesQuery(after, "orders_by_region", ORDERS);
        EngineTestSupport.refreshUntilExact(engine, after, "events_by_kind", EVENTS);
        for (String name : List.of("orders_by_region", "events_by_kind")) {
          StreamTableReport.RefreshReport last =
              engine.report("public", name).lastRefresh().orElseThrow();
          assertThat(last.reason()).as(name).isEmpty();
          assertThat(last.mode()).as(name).isEqualTo("DIFFERENTIAL");
        }
      }
      after.dropReplicationSlots();
    } finally {
      old.close();
      if (upgraded != null) {
        upgraded.close();
      }
    }
  }

  private static long slots(TestDatabase db) throws SQLException {
    return db.queryLong(
        "SELECT count(*) FROM pg_replication_slots WHERE database = current_database()");
  }

  private static int major(TestDatabase db) throws SQLException {
    return (int) (db.queryLong("SHOW server_version_num") / 10000);
  }
}
