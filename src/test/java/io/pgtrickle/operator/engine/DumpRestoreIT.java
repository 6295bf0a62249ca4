package io.pgtrickle.operator.engine;

import static io.pgtrickle.operator.engine.TwoStreamTables.EVENTS;
import static io.pgtrickle.operator.engine.TwoStreamTables.FOREIGN_OIDS;
import static io.pgtrickle.operator.engine.TwoStreamTables.ORDERS;
import static io.pgtrickle.operator.engine.TwoStreamTables.STABLE_NAMES;
import static io.pgtrickle.operator.engine.TwoStreamTables.engine;
import static io.pgtrickle.operator.engine.TwoStreamTables.makeStreamTables;
import static io.pgtrickle.operator.engine.TwoStreamTables.write;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgtrickle.operator.embedded.EmbeddedPostgresServer;
import io.pgtrickle.operator.embedded.PostgresServer;
import io.pgtrickle.operator.testing.PgTools;
import io.pgtrickle.operator.testing.StreamTableAssertions;
import io.pgtrickle.operator.testing.TestDatabase;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A database with stream tables (trigger and WAL capture) dumped with pg_dump and restored with
 * pg_restore into a fresh server: other OIDs, another system identifier, no replication slots, and
 * an xid counter far below the one the frontiers were taken at. The engine notices, re-syncs each
 * stream table once, and from then on refreshes exactly: writes made right after the restore are
 * never skipped, and no change is applied twice.
 */
class DumpRestoreIT {
  private static final AtomicInteger DATABASES = new AtomicInteger();
  private static PgTools tools;
  private static PostgresServer source;
  private static PostgresServer target;

  @TempDir Path dir;

  @BeforeAll
  static void startServers() {
    tools = PgTools.require();
    source = tools.startServer();
    target = tools.startServer();
  }

  @AfterAll
  static void stopServers() {
    if (source != null) {
      source.close();
    }
    if (target != null) {
      target.close();
    }
  }

  @Test
  void restoredOnAServerWithAFarLowerXidCounterNothingIsSkippedOrAppliedTwice() throws Exception {
    restoreOnto(target, tools);
  }

  /**
   * PostgreSQL 15 to 17 (or whatever the tools' and the embedded binaries' majors are): dumped from
   * a server of the tools' installation, restored into a fresh embedded server of a newer major.
   * The dump is made by the older pg_dump, which needs no newer installation; the next test uses
   * the newer one's, as PostgreSQL recommends.
   */
  @Test
  void aMajorUpgradeByDumpAndRestoreKeepsStableNamesAndResyncsOnce() throws Exception {
    try (EmbeddedPostgresServer newer = EmbeddedPostgresServer.start()) {
      int from = major(source);
      int to = major(newer);
      Assumptions.assumeTrue(
          to > from,
          "needs embedded binaries of a newer major than the tools' installation (PostgreSQL "
              + from
              + "); they are "
              + to
              + " (-Dpg.binaries.version)");
      restoreOnto(newer, tools);
    }
  }

  /**
   * PostgreSQL 15 to 17 as PostgreSQL recommends it: the new version's pg_dump against the old
   * server, its pg_restore into a server of the new version (PGTRICKLE_TEST_PG_NEW_BINDIR).
   */
  @Test
  void aMajorUpgradeByTheNewVersionsDumpAndRestoreKeepsStableNamesAndResyncsOnce()
      throws Exception {
    PgTools newTools = PgTools.requireNewerThan(tools);
    try (PostgresServer newer = newTools.startServer()) {
      assertThat(major(newer)).isEqualTo(newTools.major()).isGreaterThan(major(source));
      restoreOnto(newer, newTools);
    }
  }

  /**
   * The whole dump, restore and re-sync story, restored into {@code into}, dumped and restored with
   * {@code with}'s pg_dump and pg_restore.
   */
  private void restoreOnto(PostgresServer into, PgTools with) throws Exception {
    TestDatabase original = database(source);
    StreamTableEngine before = engine(original);
    makeStreamTables(original, before);
    // Far more xids on the old server than the new one will have used when the operator returns.
    original.execute(
        "DO $$ BEGIN FOR i IN 1..30000 LOOP PERFORM pg_current_xact_id(); COMMIT; END LOOP; END"
            + " $$");
    // Refreshed after that, so the frontiers hold snapshots at those high xids.
    write(
        original,
        "UPDATE orders SET amount = amount + 1 WHERE id = 5",
        "INSERT INTO events VALUES (32, 'a')");
    before.refresh("public", "orders_by_region");
    EngineTestSupport.refreshUntilExact(before, original, "events_by_kind", EVENTS);
    long oldXid = original.queryLong("SELECT pg_current_xact_id()::text::bigint");
    assertThat(
            original.queryLong(
                "SELECT split_part(frontier -> min(k) -> '0' ->> 'snapshot', ':', 1)::bigint"
                    + " FROM pgtrickle.pgt_stream_tables, jsonb_object_keys(frontier) k"
                    + " WHERE st_name = 'orders_by_region' GROUP BY frontier"))
        .isGreaterThan(30_000);
    // Pending at dump time: in the trigger buffer, and in the slot (which no dump carries).
    write(
        original,
        "INSERT INTO orders VALUES (100, 'north', 7)",
        "INSERT INTO events VALUES (100, 'b')");
    Path dump = dir.resolve("db.dump");
    with.dump(original, dump);

    TestDatabase restored = new TestDatabase(into, original.name());
    into.createDatabase(restored.name());
    with.restore(dump, restored);
    assertThat(restored.queryString(STABLE_NAMES)).isEqualTo(original.queryString(STABLE_NAMES));
    assertThat(restored.queryLong("SELECT pg_current_xact_id()::text::bigint"))
        .as("the new server's xid counter is far below the old one's")
        .isLessThan(oldXid - 20_000);
    // Written right after the restore, before the operator is back: triggers fire, no slot yet.
    write(
        restored,
        "INSERT INTO orders VALUES (101, 'south', 11)",
        "UPDATE orders SET amount = amount + 1 WHERE id = 1",
        "INSERT INTO events VALUES (101, 'c')",
        "DELETE FROM events WHERE id = 1");

    StreamTableEngine after = engine(restored); // connecting forgets the old server's buffers
    // Written between that and the re-sync: in the buffers after they were emptied.
    write(
        restored,
        "INSERT INTO orders VALUES (102, 'south', 13)",
        "INSERT INTO events VALUES (102, 'c')");
    after.refresh("public", "orders_by_region");
    EngineTestSupport.refreshUntilExact(after, restored, "events_by_kind", EVENTS);
    StreamTableAssertions.assertMatchesQuery(restored, "orders_by_region", ORDERS);
    for (String name : List.of("orders_by_region", "events_by_kind")) {
      assertThat(after.report("public", name).lastRefresh().orElseThrow().reason())
          .hasValueSatisfying(r -> assertThat(r).contains("another server"));
    }
    assertThat(
            restored.queryLong(
                "SELECT count(*) FROM pg_replication_slots WHERE database = current_database()"))
        .as("the WAL source's slot is made again")
        .isEqualTo(1);

    assertThat(restored.queryLong(FOREIGN_OIDS))
        .as("the catalog's OIDs are this server's")
        .isZero();

    // From here on, refreshes are exact and incremental again, with writes at low xids.
    for (int round = 0; round < 3; round++) {
      write(
          restored,
          "INSERT INTO orders VALUES (" + (200 + round) + ", 'east', " + round + ")",
          "UPDATE orders SET amount = amount * 2 WHERE id = " + (2 + round),
          "INSERT INTO events VALUES (" + (200 + round) + ", 'd')",
          "DELETE FROM events WHERE id = " + (2 + round));
      after.refresh("public", "orders_by_region");
      StreamTableAssertions.assertMatchesQuery(restored, "orders_by_region", ORDERS);
      EngineTestSupport.refreshUntilExact(after, restored, "events_by_kind", EVENTS);
      assertThat(after.report("public", "orders_by_region").lastRefresh().orElseThrow().reason())
          .isEmpty();
    }
    restored.dropReplicationSlots();
    original.dropReplicationSlots();
  }

  @Test
  void aRestoreWithoutOwnersResyncsAsWell() throws Exception {
    TestDatabase restored = dumpAndRestore(new String[0], new String[] {"--no-owner", "--no-acl"});
    StreamTableEngine after = engine(restored);
    write(restored, "INSERT INTO orders VALUES (300, 'west', 3)");
    after.refresh("public", "orders_by_region");
    StreamTableAssertions.assertMatchesQuery(restored, "orders_by_region", ORDERS);
    EngineTestSupport.refreshUntilExact(after, restored, "events_by_kind", EVENTS);
    restored.dropReplicationSlots();
  }

  @Test
  void aRestoreWithoutItsPostDataSectionIsAClearConditionAndTouchesNothing() throws Exception {
    // pre-data and data only: no primary keys, indexes or triggers (they are post-data).
    TestDatabase restored =
        dumpAndRestore(new String[0], new String[] {"--section=pre-data", "--section=data"});
    String before = objects(restored);
    StreamTableEngine after = new StreamTableEngine(restored.dataSource());
    assertThatThrownBy(after::migrateCatalog)
        .isInstanceOfSatisfying(
            EngineException.class,
            e -> {
              assertThat(e.reason()).isEqualTo(Reason.CatalogIncomplete);
              assertThat(e.getMessage())
                  .contains("primary key of pgtrickle.pgt_stream_tables")
                  .contains("post-data");
            });
    assertThat(objects(restored)).isEqualTo(before);
  }

  @Test
  void restoringOnlyTheCatalogSchemasIsSourceMissingUntilTheSourcesAreBack() throws Exception {
    TestDatabase restored =
        dumpAndRestore(
            new String[0],
            new String[] {"-n", "pgtrickle", "-n", "pgtrickle_changes"},
            // pg_restore -n restores what is in a schema, not the schema itself.
            "CREATE SCHEMA pgtrickle",
            "CREATE SCHEMA pgtrickle_changes");
    StreamTableEngine after = engine(restored);
    assertThatThrownBy(() -> after.refresh("public", "orders_by_region"))
        .isInstanceOfSatisfying(
            EngineException.class,
            e -> {
              assertThat(e.reason()).isEqualTo(Reason.SourceMissing);
              assertThat(e.getMessage()).contains("public.orders");
            });
    // Once the sources are back, it re-syncs.
    restored.execute(
        "CREATE TABLE orders (id int PRIMARY KEY, region text, amount int)",
        "INSERT INTO orders VALUES (1, 'a', 1)");
    after.refresh("public", "orders_by_region");
    StreamTableAssertions.assertMatchesQuery(restored, "orders_by_region", ORDERS);
    write(restored, "INSERT INTO orders VALUES (2, 'a', 2)");
    after.refresh("public", "orders_by_region");
    StreamTableAssertions.assertMatchesQuery(restored, "orders_by_region", ORDERS);
  }

  @Test
  void restoringOnlyTheSourcesAndStorageIsAConflictForTheStreamTable() throws Exception {
    // Its capture triggers call functions in pgtrickle, which is not restored: pg_restore
    // reports them and goes on.
    TestDatabase restored = dumpAndRestore(new String[0], new String[] {"-n", "public"});
    StreamTableEngine after = engine(restored); // a new, empty catalog
    assertThatThrownBy(
            () ->
                after.apply(
                    EngineTestSupport.definition("orders_by_region", ORDERS),
                    EngineTestSupport.OWNER))
        .isInstanceOfSatisfying(
            EngineException.class,
            e -> {
              assertThat(e.reason()).isEqualTo(Reason.Conflict);
              assertThat(e.getMessage()).contains("not a stream table");
            });
  }

  @Test
  void restoredUnderAnotherDatabaseNameTheSourcesGetNewStableNames() throws Exception {
    TestDatabase original = database(source);
    makeStreamTables(original, engine(original));
    String oldNames = original.queryString(STABLE_NAMES);
    Path dump = dir.resolve("db.dump");
    tools.dump(original, dump);
    original.dropReplicationSlots();
    TestDatabase restored = database(target); // another name than the original's
    tools.restore(dump, restored);
    StreamTableEngine after = engine(restored);
    write(
        restored,
        "INSERT INTO orders VALUES (400, 'x', 4)",
        "INSERT INTO events VALUES (400, 'x')");

    after.refresh("public", "orders_by_region");
    EngineTestSupport.refreshUntilExact(after, restored, "events_by_kind", EVENTS);
    StreamTableAssertions.assertMatchesQuery(restored, "orders_by_region", ORDERS);
    // The database name is part of a stable name: new names, and nothing left of the old ones.
    String newNames = restored.queryString(STABLE_NAMES);
    assertThat(newNames).isNotEqualTo(oldNames);
    String everything =
        objects(restored)
            + restored.queryString(
                "SELECT string_agg(slot_name, ',') FROM pg_replication_slots"
                    + " WHERE database = current_database()")
            + restored.queryString("SELECT string_agg(pubname, ',') FROM pg_publication");
    for (String name : stableNames(oldNames)) {
      assertThat(everything).doesNotContain(name);
    }
    for (String name : stableNames(newNames)) {
      assertThat(everything).contains(name);
    }
    restored.dropReplicationSlots();
  }

  /**
   * A database with both stream tables, dumped and restored into the target server (after {@code
   * prepare} there), pg_restore going on past errors as a DBA's partial restore does.
   */
  private TestDatabase dumpAndRestore(
      String[] dumpOptions, String[] restoreOptions, String... prepare) throws Exception {
    TestDatabase original = database(source);
    makeStreamTables(original, engine(original));
    Path dump = dir.resolve("db.dump");
    tools.dump(original, dump, dumpOptions);
    original.dropReplicationSlots();
    TestDatabase restored = new TestDatabase(target, original.name());
    target.createDatabase(restored.name());
    if (prepare.length > 0) {
      restored.execute(prepare);
    }
    tools.restoreGoingOn(dump, restored, restoreOptions);
    return restored;
  }

  /**
   * The stable names in a {@link TwoStreamTables#STABLE_NAMES} answer ("name table,name table").
   */
  private static List<String> stableNames(String answer) {
    return java.util.Arrays.stream(answer.split(",", -1)).map(n -> n.substring(0, 16)).toList();
  }

  private static int major(PostgresServer server) throws SQLException {
    return (int)
        (new TestDatabase(server, "postgres").queryLong("SHOW server_version_num") / 10000);
  }

  private static String objects(TestDatabase db) throws SQLException {
    return String.join("\n", io.pgtrickle.operator.testing.DatabaseObjects.of(db));
  }

  private static TestDatabase database(PostgresServer server) throws SQLException {
    TestDatabase db = new TestDatabase(server, "restore_" + DATABASES.incrementAndGet());
    server.createDatabase(db.name());
    return db;
  }
}
