package io.pgtrickle.operator.engine;

import static io.pgtrickle.operator.engine.EngineTestSupport.OWNER;
import static io.pgtrickle.operator.engine.EngineTestSupport.spec;
import static io.pgtrickle.operator.engine.TwoStreamTables.STABLE_NAMES;
import static io.pgtrickle.operator.testing.StreamTableAssertions.assertMatchesQuery;
import static org.assertj.core.api.Assertions.assertThat;

import io.pgtrickle.operator.embedded.PostgresServer;
import io.pgtrickle.operator.naming.ObjectNames;
import io.pgtrickle.operator.naming.QualifiedTable;
import io.pgtrickle.operator.testing.CitusTestCluster;
import io.pgtrickle.operator.testing.PgTools;
import io.pgtrickle.operator.testing.RequiresCitus;
import io.pgtrickle.operator.testing.TestDatabase;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Item 1 of issue 12 over Citus sources: a coordinator database with stream tables over a
 * distributed and a reference source (WAL capture, a slot per node), dumped with pg_dump and
 * restored with pg_restore into a fresh cluster (new coordinator and workers). pg_dump of a
 * coordinator carries no Citus metadata: its tables come back plain, so the DBA restores the
 * schema, distributes the tables again, then restores the data. The engine then notices the new
 * server, re-syncs each stream table once, and refreshes exactly again.
 */
@RequiresCitus
class CitusDumpRestoreIT {
  /** Only distributed sources: distributed storage. */
  private static final String TOTALS =
      "SELECT tenant % 3 AS bucket, count(*) AS n, sum(amount) AS total FROM cdr_orders GROUP BY 1";

  /** A distributed and a reference source: local storage. */
  private static final String NAMED =
      "SELECT r.name, count(*) AS n, sum(o.amount) AS total FROM cdr_orders o"
          + " JOIN cdr_regions r ON r.id = o.region GROUP BY r.name";

  private static final Map<String, String> STREAM_TABLES =
      Map.of("cdr_totals", TOTALS, "cdr_named", NAMED);

  /** What the DBA runs between the schema and the data: the dump made the tables plain. */
  private static final String[] DISTRIBUTE_AGAIN = {
    "SELECT create_reference_table('cdr_regions')",
    "SELECT create_distributed_table('cdr_orders', 'tenant')",
    "SELECT create_distributed_table('cdr_totals', 'pgt_row_id')"
  };

  @TempDir Path dir;

  @Test
  void aRestoredCoordinatorDumpIsResyncedOnceAndRefreshesExactly() throws Exception {
    PgTools tools = PgTools.require();
    try (CitusTestCluster old = CitusTestCluster.startNew();
        CitusTestCluster fresh = CitusTestCluster.startNew()) {
      TestDatabase original = coordinatorDatabase(old);
      old.onCoordinator(
          "CREATE TABLE cdr_regions (id int PRIMARY KEY, name text)",
          "SELECT create_reference_table('cdr_regions')",
          "CREATE TABLE cdr_orders (tenant int, id int, region int, amount int,"
              + " PRIMARY KEY (tenant, id))",
          "SELECT create_distributed_table('cdr_orders', 'tenant', shard_count := 4)",
          "ALTER TABLE cdr_orders REPLICA IDENTITY FULL",
          "ALTER TABLE cdr_regions REPLICA IDENTITY FULL",
          "INSERT INTO cdr_regions VALUES (1, 'emea'), (2, 'amer')",
          "INSERT INTO cdr_orders SELECT g, g, 1 + g % 2, g FROM generate_series(1, 60) g");
      StreamTableEngine before = EngineTestSupport.citusEngine(original);
      for (Map.Entry<String, String> st : STREAM_TABLES.entrySet()) {
        before.apply(StreamTableDefinition.from(spec(st.getKey(), st.getValue())), OWNER);
      }
      // Far more xids on the old coordinator than the new one will have used.
      original.execute(
          "DO $$ BEGIN FOR i IN 1..30000 LOOP PERFORM pg_current_xact_id(); COMMIT; END LOOP; END"
              + " $$");
      original.execute(
          "UPDATE cdr_orders SET amount = amount + 1 WHERE tenant % 5 = 0",
          "UPDATE cdr_regions SET name = 'europe' WHERE id = 1");
      refreshAllUntilExact(before, original);
      long oldXid = original.queryLong("SELECT pg_current_xact_id()::text::bigint");
      // Pending at dump time, in the nodes' slots, which no dump carries.
      original.execute(
          "INSERT INTO cdr_orders SELECT g, g, 1 + g % 2, g FROM generate_series(100, 120) g",
          "DELETE FROM cdr_orders WHERE tenant < 5");
      Path dump = dir.resolve("coordinator.dump");
      tools.dump(original, dump);
      dropSlotsOnEveryNode(old);

      TestDatabase restored = coordinatorDatabase(fresh);
      tools.restore(dump, restored, "--section=pre-data");
      fresh.onCoordinator(DISTRIBUTE_AGAIN);
      tools.restore(dump, restored, "--section=data", "--section=post-data");
      assertThat(restored.queryString(STABLE_NAMES)).isEqualTo(original.queryString(STABLE_NAMES));
      assertThat(restored.queryLong("SELECT pg_current_xact_id()::text::bigint"))
          .as("the new coordinator's xid counter is far below the old one's")
          .isLessThan(oldXid - 20_000);
      // Written right after the restore, before the operator is back: no slot on any node yet.
      restored.execute(
          "INSERT INTO cdr_orders SELECT g, g, 1 + g % 2, g FROM generate_series(200, 210) g",
          "UPDATE cdr_orders SET amount = amount * 2 WHERE tenant % 7 = 0",
          "UPDATE cdr_regions SET name = 'americas' WHERE id = 2");

      StreamTableEngine after = EngineTestSupport.citusEngine(restored);
      // Written between connecting and the re-sync.
      restored.execute("INSERT INTO cdr_orders VALUES (300, 1, 1, 30), (301, 1, 2, 31)");
      for (String name : STREAM_TABLES.keySet()) {
        after.refresh("public", name);
        assertThat(after.report("public", name).lastRefresh().orElseThrow().reason())
            .as(name + " re-synced for the move")
            .hasValueSatisfying(r -> assertThat(r).contains("another server"));
      }
      refreshAllUntilExact(after, restored);
      ObjectNames orders = names("cdr_orders");
      for (PostgresServer worker : fresh.workers()) {
        assertThat(slots(new TestDatabase(worker, CitusTestCluster.DATABASE), orders))
            .as("the distributed source's slot, made again on each worker")
            .isEqualTo(1);
      }
      assertThat(slots(restored, names("cdr_regions")))
          .as("the reference source's slot, made again on the coordinator")
          .isEqualTo(1);

      // From here on, incremental and exact, with writes on both workers at low xids.
      for (int round = 0; round < 3; round++) {
        restored.execute(
            "INSERT INTO cdr_orders SELECT g, g, 1 + g % 2, g FROM generate_series("
                + (400 + 10 * round)
                + ", "
                + (409 + 10 * round)
                + ") g",
            "UPDATE cdr_orders SET amount = amount + 3 WHERE tenant % 4 = " + round,
            "DELETE FROM cdr_orders WHERE tenant = " + (10 + round));
        refreshAllUntilExact(after, restored);
        for (String name : STREAM_TABLES.keySet()) {
          assertThat(after.report("public", name).lastRefresh().orElseThrow().reason())
              .as(name + " refreshed without a re-sync")
              .isEmpty();
        }
      }
      dropSlotsOnEveryNode(fresh);
    }
  }

  private static TestDatabase coordinatorDatabase(CitusTestCluster cluster) {
    return new TestDatabase(cluster.coordinator(), CitusTestCluster.DATABASE);
  }

  private static void refreshAllUntilExact(StreamTableEngine engine, TestDatabase db)
      throws Exception {
    for (Map.Entry<String, String> st : STREAM_TABLES.entrySet()) {
      EngineTestSupport.refreshUntilExact(engine, db, st.getKey(), st.getValue());
      assertMatchesQuery(db, st.getKey(), st.getValue());
    }
  }

  private static void dropSlotsOnEveryNode(CitusTestCluster cluster) throws Exception {
    coordinatorDatabase(cluster).dropReplicationSlots();
    for (PostgresServer worker : cluster.workers()) {
      new TestDatabase(worker, CitusTestCluster.DATABASE).dropReplicationSlots();
    }
  }

  private static ObjectNames names(String table) {
    return ObjectNames.of(new QualifiedTable(CitusTestCluster.DATABASE, "public", table));
  }

  private static long slots(TestDatabase node, ObjectNames names) throws Exception {
    return node.queryLong(
        "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '"
            + names.replicationSlot()
            + "'");
  }
}
