package io.pgtrickle.operator.engine;

import static io.pgtrickle.operator.engine.EngineTestSupport.OWNER;
import static io.pgtrickle.operator.engine.EngineTestSupport.engine;
import static io.pgtrickle.operator.engine.EngineTestSupport.refreshUntilExact;
import static io.pgtrickle.operator.engine.EngineTestSupport.spec;
import static io.pgtrickle.operator.testing.StreamTableAssertions.assertMatchesQuery;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgtrickle.operator.api.CdcModeSpec;
import io.pgtrickle.operator.api.StreamTableSpec;
import io.pgtrickle.operator.naming.ObjectNames;
import io.pgtrickle.operator.naming.QualifiedTable;
import io.pgtrickle.operator.testing.DatabaseObjects;
import io.pgtrickle.operator.testing.TestDatabase;
import io.pgtrickle.operator.testing.TestPostgres;
import java.sql.Connection;
import java.sql.Statement;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** cdcMode: wal on a local source: a slot on the server, drained into the same change buffer. */
class WalStreamTableIT {
  private static final String QUERY =
      "SELECT k, sum(v) AS total, count(*) AS n FROM facts GROUP BY k";

  private TestDatabase db;
  private StreamTableEngine engine;
  private ObjectNames names;

  @BeforeEach
  void setUp() throws Exception {
    db = TestPostgres.freshDatabase();
    db.execute(
        "CREATE TABLE facts (id int PRIMARY KEY, k int, v int)",
        "ALTER TABLE facts REPLICA IDENTITY FULL",
        "INSERT INTO facts SELECT g, g % 4, g FROM generate_series(1, 40) g");
    engine = engine(db);
    names = ObjectNames.of(new QualifiedTable(db.name(), "public", "facts"));
  }

  @AfterEach
  void dropSlot() throws Exception {
    db.dropReplicationSlots();
  }

  @Test
  void walCaptureKeepsTheTableEqualToItsQueryWithoutTriggers() throws Exception {
    engine.apply(walDefinition("totals", QUERY), OWNER);

    assertMatchesQuery(db, "totals", QUERY);
    assertThat(slotCount()).isEqualTo(1);
    assertThat(
            db.queryLong(
                "SELECT count(*) FROM pg_publication WHERE pubname = '"
                    + names.publication()
                    + "'"))
        .isEqualTo(1);
    assertThat(DatabaseObjects.of(db)).noneMatch(o -> o.startsWith("trigger "));
    assertThat(engine.apply(walDefinition("totals", QUERY), OWNER))
        .isEqualTo(StreamTableEngine.ApplyResult.UNCHANGED);
    assertThat(DatabaseObjects.of(db))
        .as("a reconcile that changes nothing adds no triggers to a WAL source")
        .noneMatch(o -> o.startsWith("trigger "));
    assertThat(engine.refresh("public", "totals").kind()).isEqualTo(RefreshOutcome.Kind.NO_CHANGES);

    db.execute("INSERT INTO facts VALUES (100, 9, 9)");
    db.execute("UPDATE facts SET v = v * 10 WHERE k = 1");
    db.execute("DELETE FROM facts WHERE k = 2");
    refreshUntilExact(engine, db, "totals", QUERY);

    db.execute("TRUNCATE facts");
    refreshUntilExact(engine, db, "totals", QUERY);

    StreamTableReport report = engine.report("public", "totals");
    assertThat(report.sources())
        .singleElement()
        .satisfies(s -> assertThat(s.cdcMode()).isEqualTo("wal"));
  }

  @Test
  void aLateCommitIsPickedUpExactlyOnce() throws Exception {
    engine.apply(walDefinition("totals", QUERY), OWNER);
    try (Connection slow = db.connect();
        Connection fast = db.connect()) {
      slow.setAutoCommit(false);
      try (Statement statement = slow.createStatement()) {
        statement.execute("INSERT INTO facts VALUES (201, 7, 1)");
      }
      try (Statement statement = fast.createStatement()) {
        statement.execute("INSERT INTO facts VALUES (202, 7, 2)");
      }
      refreshUntilExact(engine, db, "totals", QUERY);
      slow.commit();
    }
    refreshUntilExact(engine, db, "totals", QUERY);
    assertThat(db.queryLong("SELECT n FROM totals WHERE k = 7")).isEqualTo(2);
  }

  @Test
  void aSlotDroppedByHandIsRecreatedAndTheTableResynced() throws Exception {
    engine.apply(walDefinition("totals", QUERY), OWNER);
    db.execute("SELECT pg_drop_replication_slot('" + names.replicationSlot() + "')");
    db.execute("INSERT INTO facts VALUES (300, 3, 300)"); // lost with the slot

    assertThat(engine.refresh("public", "totals").kind()).isEqualTo(RefreshOutcome.Kind.APPLIED);

    assertMatchesQuery(db, "totals", QUERY);
    assertThat(slotCount()).isEqualTo(1);
    db.execute("INSERT INTO facts VALUES (301, 3, 301)"); // captured by the new slot
    refreshUntilExact(engine, db, "totals", QUERY);
  }

  @Test
  void switchingFromTriggersToWalReplacesTheCapture() throws Exception {
    engine.apply(EngineTestSupport.definition("totals", QUERY), OWNER);
    assertThat(DatabaseObjects.of(db)).anyMatch(o -> o.startsWith("trigger "));

    assertThat(engine.apply(walDefinition("totals", QUERY), OWNER))
        .isEqualTo(StreamTableEngine.ApplyResult.REBUILT);

    assertThat(DatabaseObjects.of(db)).noneMatch(o -> o.startsWith("trigger "));
    assertThat(slotCount()).isEqualTo(1);
    db.execute("INSERT INTO facts VALUES (500, 5, 5)");
    refreshUntilExact(engine, db, "totals", QUERY);
    assertThat(
            db.queryString(
                "SELECT cdc_mode FROM pgtrickle.pgt_change_tracking WHERE source_table = 'facts'"))
        .isEqualTo("wal");
  }

  @Test
  void dropRemovesTheSlotThePublicationAndTheBuffer() throws Exception {
    Set<String> before = DatabaseObjects.of(db);
    engine.apply(walDefinition("totals", QUERY), OWNER);

    engine.drop("public", "totals", OWNER);

    assertThat(slotCount()).isZero();
    assertThat(db.queryLong("SELECT count(*) FROM pg_publication")).isZero();
    assertThat(DatabaseObjects.of(db)).isEqualTo(before);
  }

  @Test
  void replicaIdentityDefaultFailsThePreflightAndCreatesNothing() throws Exception {
    db.execute("ALTER TABLE facts REPLICA IDENTITY DEFAULT");
    Set<String> before = DatabaseObjects.of(db);

    assertThatThrownBy(() -> engine.apply(walDefinition("totals", QUERY), OWNER))
        .isInstanceOfSatisfying(
            EngineException.class,
            e -> assertThat(e.reason()).isEqualTo(Reason.PrerequisitesMissing))
        .hasMessageContaining("REPLICA IDENTITY FULL");
    assertThat(slotCount()).isZero();
    assertThat(db.queryLong("SELECT count(*) FROM pg_publication")).isZero();
    assertThat(DatabaseObjects.of(db)).isEqualTo(before);
  }

  @Test
  void replicaIdentityDefaultWithImmutableKeysGoesAheadWithAWarning() throws Exception {
    db.execute("ALTER TABLE facts REPLICA IDENTITY DEFAULT");
    StreamTableSpec spec = spec("totals", QUERY);
    spec.setCdcMode(CdcModeSpec.WAL);
    spec.setImmutablePk(true);
    java.util.List<String> warnings = new java.util.ArrayList<>();

    engine.apply(StreamTableDefinition.from(spec), OWNER, warnings::add);

    assertThat(warnings).singleElement().satisfies(w -> assertThat(w).contains("would be lost"));
    db.execute("INSERT INTO facts VALUES (400, 1, 1)");
    refreshUntilExact(engine, db, "totals", QUERY);
  }

  @Test
  void aBadQueryLeavesNoSlotBehind() throws Exception {
    assertThatThrownBy(
            () -> engine.apply(walDefinition("bad", "SELECT k, random() FROM facts"), OWNER))
        .isInstanceOf(EngineException.class);
    assertThat(slotCount()).isZero();
  }

  @Test
  void oneSourceCannotBeCapturedBothWays() throws Exception {
    engine.apply(walDefinition("totals", QUERY), OWNER);
    assertThatThrownBy(
            () ->
                engine.apply(EngineTestSupport.definition("other", "SELECT id FROM facts"), OWNER))
        .isInstanceOfSatisfying(
            EngineException.class, e -> assertThat(e.reason()).isEqualTo(Reason.InvalidSpec))
        .hasMessageContaining("cdcMode: wal");
  }

  @Test
  void consumersOfOneSlotTakeTurns() throws Exception {
    // Two engines (as two processes) refresh two stream tables over one WAL source while a third
    // creates and drops a stream table over it: all of them peek, advance or drain the same slot.
    String other = "SELECT k, max(v) AS top FROM facts GROUP BY k";
    engine.apply(walDefinition("totals", QUERY), OWNER);
    engine.apply(walDefinition("tops", other), OWNER);
    StreamTableEngine second = engine(db);
    StreamTableEngine third = engine(db);
    ExecutorService pool = Executors.newFixedThreadPool(3);
    try {
      for (int round = 0; round < 12; round++) {
        db.execute(
            "SET synchronous_commit = on",
            "INSERT INTO facts SELECT g, g % 5, g FROM generate_series("
                + (1000 + round * 20)
                + ", "
                + (1019 + round * 20)
                + ") g");
        int r = round;
        CyclicBarrier start = new CyclicBarrier(3);
        List<Future<?>> work =
            List.of(
                pool.submit(
                    () -> {
                      start.await();
                      return engine.refresh("public", "totals");
                    }),
                pool.submit(
                    () -> {
                      start.await();
                      return second.refresh("public", "tops");
                    }),
                pool.submit(
                    () -> {
                      start.await();
                      String name = "churn_" + (r % 2);
                      third.apply(walDefinition(name, "SELECT count(*) AS n FROM facts"), OWNER);
                      return third.drop("public", name, OWNER);
                    }));
        for (Future<?> done : work) {
          done.get(); // any "replication slot is active" would surface here
        }
      }
    } finally {
      pool.shutdownNow();
    }
    engine.refresh("public", "totals");
    assertMatchesQuery(db, "totals", QUERY);
    second.refresh("public", "tops");
    assertMatchesQuery(db, "tops", other);
    assertThat(slotCount()).isEqualTo(1);
  }

  private long slotCount() throws Exception {
    return db.queryLong(
        "SELECT count(*) FROM pg_replication_slots WHERE slot_name = '"
            + names.replicationSlot()
            + "'");
  }

  private static StreamTableDefinition walDefinition(String name, String query)
      throws EngineException {
    StreamTableSpec spec = spec(name, query);
    spec.setCdcMode(CdcModeSpec.WAL);
    return StreamTableDefinition.from(spec);
  }
}
