package io.pgtrickle.operator.engine;

import static io.pgtrickle.operator.engine.EngineTestSupport.OWNER;
import static io.pgtrickle.operator.engine.EngineTestSupport.spec;
import static io.pgtrickle.operator.engine.TwoStreamTables.STABLE_NAMES;
import static io.pgtrickle.operator.testing.CitusTestCluster.slots;
import static io.pgtrickle.operator.testing.CitusTestCluster.sourceNames;
import static io.pgtrickle.operator.testing.StreamTableAssertions.assertMatchesQuery;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgtrickle.operator.api.CdcModeSpec;
import io.pgtrickle.operator.api.StreamTableSpec;
import io.pgtrickle.operator.embedded.PostgresServer;
import io.pgtrickle.operator.naming.ObjectNames;
import io.pgtrickle.operator.testing.CitusTestCluster;
import io.pgtrickle.operator.testing.PgTools;
import io.pgtrickle.operator.testing.RequiresCitus;
import io.pgtrickle.operator.testing.TestDatabase;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Item 1 of issue 12 over Citus sources: a coordinator database with stream tables over a
 * distributed and a reference source (WAL capture, a slot per node) and over a plain table
 * (triggers), dumped with pg_dump and restored with pg_restore into a fresh cluster (new
 * coordinator and workers). pg_dump of a coordinator carries no Citus metadata: its tables come
 * back plain, so the DBA restores the schema, distributes the tables again, then restores the data.
 * The engine then notices the new server, re-syncs each stream table once, and refreshes exactly
 * again.
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

  /**
   * A plain table on the coordinator, captured by triggers: its frontier is an MVCC snapshot, the
   * one that would skip the writes made at the new server's low xids if the move went unnoticed.
   */
  private static final String NOTES = "SELECT kind, count(*) AS n FROM cdr_notes GROUP BY kind";

  private static final Map<String, String> STREAM_TABLES =
      Map.of("cdr_totals", TOTALS, "cdr_named", NAMED, "cdr_kinds", NOTES);

  /** What the DBA runs between the schema and the data: the dump made the tables plain. */
  private static final String[] DISTRIBUTE_AGAIN = {
    "SELECT create_reference_table('cdr_regions')",
    "SELECT create_distributed_table('cdr_orders', 'tenant')",
    "SELECT create_distributed_table('cdr_totals', 'pgt_row_id')"
  };

  @TempDir Path dir;

  @Test
  void restoredWithItsTablesDistributedAgainItIsResyncedOnceAndRefreshesExactly() throws Exception {
    PgTools tools = PgTools.require();
    try (CitusTestCluster old = CitusTestCluster.startNew();
        CitusTestCluster fresh = CitusTestCluster.startNew()) {
      Dumped dumped = dumpStreamTables(old, tools);
      TestDatabase restored = coordinatorDatabase(fresh);
      tools.restore(dumped.file(), restored, "--section=pre-data");
      fresh.onCoordinator(DISTRIBUTE_AGAIN);
      tools.restore(dumped.file(), restored, "--section=data", "--section=post-data");
      assertThat(
              restored.queryLong(
                  "SELECT count(*) FROM pg_dist_partition WHERE logicalrelid::text LIKE 'cdr_%'"))
          .isEqualTo(DISTRIBUTE_AGAIN.length);

      StreamTableEngine after = resyncsOnce(dumped, restored);
      ObjectNames orders = sourceNames("cdr_orders");
      for (PostgresServer worker : fresh.workers()) {
        assertThat(slots(new TestDatabase(worker, CitusTestCluster.DATABASE), orders))
            .as("the distributed source's slot, made again on each worker")
            .isEqualTo(1);
      }
      assertThat(slots(restored, sourceNames("cdr_regions")))
          .as("the reference source's slot, made again on the coordinator")
          .isEqualTo(1);
      refreshesExactlyFromNowOn(after, restored);
      dropSlotsOnEveryNode(fresh);
    }
  }

  /**
   * A DBA who restores the dump in one go gets plain tables on the coordinator (Citus does not
   * distribute them by itself). The catalog still records their capture as WAL of a distributed and
   * a reference table; under cdcMode auto the re-sync wants triggers for a plain table and is
   * refused. A known limitation (docs/upgrade.md): distribute the tables again as above. (Switching
   * the stream tables to cdcMode: wal was tried: the re-sync then passes, but later writes to the
   * plain cdr_orders were not applied, its coordinator slot being taken for a distributed table's
   * TRUNCATE-only one.)
   */
  @Test
  void restoredInOneGoItsSourcesArePlainTablesAndTheResyncIsRefused() throws Exception {
    PgTools tools = PgTools.require();
    try (CitusTestCluster old = CitusTestCluster.startNew();
        CitusTestCluster fresh = CitusTestCluster.startNew()) {
      Dumped dumped = dumpStreamTables(old, tools);
      TestDatabase restored = coordinatorDatabase(fresh);
      tools.restore(dumped.file(), restored);
      assertThat(restored.queryLong("SELECT count(*) FROM pg_dist_partition")).isZero();
      assertThat(restored.queryString(STABLE_NAMES)).isEqualTo(dumped.stableNames());

      StreamTableEngine after = EngineTestSupport.citusEngine(restored);
      for (String name : List.of("cdr_totals", "cdr_named")) {
        assertThatThrownBy(() -> after.refresh("public", name))
            .isInstanceOfSatisfying(
                EngineException.class,
                e -> {
                  assertThat(e.reason()).isEqualTo(Reason.NotSupported);
                  assertThat(e.getMessage())
                      .containsPattern(
                          "was captured as a (distributed|reference) table and is a local table"
                              + " now");
                });
      }
      // Asked for WAL capture instead, the refresh fails saying why: the plain table's changes
      // reach only the coordinator's slot, read for a distributed table's TRUNCATEs alone, and
      // were lost without a word before.
      StreamTableSpec wal = spec("cdr_totals", TOTALS);
      wal.setCdcMode(CdcModeSpec.WAL);
      assertThatThrownBy(
              () -> {
                after.apply(StreamTableDefinition.from(wal), OWNER);
                restored.execute("INSERT INTO cdr_orders VALUES (400, 1, 1, 40)");
                after.refresh("public", "cdr_totals");
              })
          .isInstanceOfSatisfying(
              EngineException.class,
              e -> {
                assertThat(e.reason()).isEqualTo(Reason.NotSupported);
                assertThat(e.getMessage()).contains("was captured as a distributed");
              });
      dropSlotsOnEveryNode(fresh);
    }
  }

  /** The dump of the old cluster's coordinator and what it was taken at. */
  private record Dumped(Path file, long xid, String stableNames) {}

  /**
   * Stream tables over a distributed and a reference source on {@code old}, refreshed at high xids,
   * with changes pending in the nodes' slots, dumped; then the old nodes' slots are dropped.
   */
  private Dumped dumpStreamTables(CitusTestCluster old, PgTools tools) throws Exception {
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
        "INSERT INTO cdr_orders SELECT g, g, 1 + g % 2, g FROM generate_series(1, 60) g",
        "CREATE TABLE cdr_notes (id int PRIMARY KEY, kind text)",
        "INSERT INTO cdr_notes SELECT g, 'k' || g % 3 FROM generate_series(1, 30) g");
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
        "UPDATE cdr_regions SET name = 'europe' WHERE id = 1",
        "UPDATE cdr_notes SET kind = 'k9' WHERE id = 1");
    refreshAllUntilExact(before, original);
    long xid = original.queryLong("SELECT pg_current_xact_id()::text::bigint");
    // Pending at dump time: in the nodes' slots, which no dump carries, and in a trigger buffer.
    original.execute(
        "INSERT INTO cdr_orders SELECT g, g, 1 + g % 2, g FROM generate_series(100, 120) g",
        "DELETE FROM cdr_orders WHERE tenant < 5", "INSERT INTO cdr_notes VALUES (100, 'k1')");
    Path file = dir.resolve("coordinator.dump");
    tools.dump(original, file);
    dropSlotsOnEveryNode(old);
    return new Dumped(file, xid, original.queryString(STABLE_NAMES));
  }

  /**
   * Checks the restored catalog, writes before and after the engine connects, and asserts that each
   * stream table's first refresh is the re-sync for the move, with its reason; returns the engine.
   */
  private static StreamTableEngine resyncsOnce(Dumped dumped, TestDatabase restored)
      throws Exception {
    assertThat(restored.queryString(STABLE_NAMES)).isEqualTo(dumped.stableNames());
    assertThat(restored.queryLong("SELECT pg_current_xact_id()::text::bigint"))
        .as("the new coordinator's xid counter is far below the old one's")
        .isLessThan(dumped.xid() - 20_000);
    // Written right after the restore, before the operator is back: no slot on any node yet.
    restored.execute(
        "INSERT INTO cdr_orders SELECT g, g, 1 + g % 2, g FROM generate_series(200, 210) g",
        "UPDATE cdr_orders SET amount = amount * 2 WHERE tenant % 7 = 0",
        "UPDATE cdr_regions SET name = 'americas' WHERE id = 2",
        "INSERT INTO cdr_notes VALUES (200, 'k2')",
        "DELETE FROM cdr_notes WHERE id = 2");
    StreamTableEngine after = EngineTestSupport.citusEngine(restored);
    // Written between connecting and the re-sync.
    restored.execute(
        "INSERT INTO cdr_orders VALUES (300, 1, 1, 30), (301, 1, 2, 31)",
        "INSERT INTO cdr_notes VALUES (300, 'k0')");
    for (String name : STREAM_TABLES.keySet()) {
      after.refresh("public", name);
      assertThat(after.report("public", name).lastRefresh().orElseThrow().reason())
          .as(name + " re-synced for the move")
          .hasValueSatisfying(r -> assertThat(r).contains("another server"));
      assertMatchesQuery(restored, name, STREAM_TABLES.get(name));
    }
    return after;
  }

  /** Writes on both workers at low xids: every refresh incremental (no reason) and exact. */
  private static void refreshesExactlyFromNowOn(StreamTableEngine engine, TestDatabase db)
      throws Exception {
    for (int round = 0; round < 3; round++) {
      db.execute(
          "INSERT INTO cdr_orders SELECT g, g, 1 + g % 2, g FROM generate_series("
              + (400 + 10 * round)
              + ", "
              + (409 + 10 * round)
              + ") g",
          "UPDATE cdr_orders SET amount = amount + 3 WHERE tenant % 4 = " + round,
          "DELETE FROM cdr_orders WHERE tenant = " + (10 + round),
          "INSERT INTO cdr_notes VALUES (" + (400 + round) + ", 'k" + round + "')",
          "UPDATE cdr_notes SET kind = 'k5' WHERE id = " + (3 + round));
      refreshAllUntilExact(engine, db);
      for (String name : STREAM_TABLES.keySet()) {
        assertThat(engine.report("public", name).lastRefresh().orElseThrow().reason())
            .as(name + " refreshed without a re-sync")
            .isEmpty();
      }
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
}
