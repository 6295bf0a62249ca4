package io.pgtrickle.operator.engine;

import static io.pgtrickle.operator.engine.EngineTestSupport.OWNER;
import static io.pgtrickle.operator.engine.EngineTestSupport.engine;
import static io.pgtrickle.operator.engine.EngineTestSupport.refreshUntilExact;
import static io.pgtrickle.operator.engine.EngineTestSupport.spec;
import static org.assertj.core.api.Assertions.assertThat;

import io.pgtrickle.operator.api.CdcModeSpec;
import io.pgtrickle.operator.api.RefreshMode;
import io.pgtrickle.operator.api.StreamTableSpec;
import io.pgtrickle.operator.testing.TestDatabase;
import io.pgtrickle.operator.testing.TestPostgres;
import java.sql.Connection;
import java.sql.Statement;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Differential refresh over WAL-captured sources. The consumer moves changes into the buffer before
 * the refresh's snapshot, so the tables may be ahead of the changes a refresh applies: forms that
 * read the change alone, or recompute the groups it touches, run DIFFERENTIAL as they are; forms
 * that read the tables' state (joins, sublinks, grouped subqueries in FROM, min/max) run it behind
 * the write barrier. Writers keep writing while refreshes run; nothing is lost or counted twice.
 */
class WalDifferentialIT {
  private TestDatabase db;
  private StreamTableEngine engine;

  @BeforeEach
  void setUp() throws Exception {
    db = TestPostgres.freshDatabase();
    db.execute(
        "CREATE TABLE facts (id int PRIMARY KEY, k int, v int)",
        "ALTER TABLE facts REPLICA IDENTITY FULL",
        "CREATE TABLE dims (k int PRIMARY KEY, name text)",
        "ALTER TABLE dims REPLICA IDENTITY FULL",
        "INSERT INTO facts SELECT g, g % 7, g FROM generate_series(1, 500) g",
        "INSERT INTO dims SELECT g, 'd' || g FROM generate_series(0, 6) g");
    engine = engine(db);
  }

  @AfterEach
  void dropSlots() throws Exception {
    db.dropReplicationSlots();
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "SELECT id, v * 2 AS twice FROM facts WHERE v % 3 = 0",
        "SELECT k, count(*) AS n, sum(v) AS total, avg(v) AS mean FROM facts GROUP BY k",
        "SELECT k, count(DISTINCT v % 10) AS d FROM facts GROUP BY k HAVING count(*) > 2",
        "SELECT DISTINCT k FROM facts WHERE v > 100",
        "SELECT id, v FROM facts WHERE v % 4 = 0 UNION ALL SELECT id, k FROM facts WHERE v < 60",
        "SELECT k FROM facts WHERE v > 400 UNION SELECT k + 1 FROM facts WHERE v < 50"
      })
  void singleSourceFormsRunDifferentialWhileWritersWrite(String query) throws Exception {
    staysDifferentialAndExactWhileWriting(query, false);
  }

  /**
   * Makes {@code query} a DIFFERENTIAL stream table over WAL and refreshes it 15 times while a
   * writer changes facts (and, with {@code dimensions}, dims); then it must equal its query, have
   * run DIFFERENTIAL meanwhile and end DIFFERENTIAL.
   */
  private void staysDifferentialAndExactWhileWriting(String query, boolean dimensions)
      throws Exception {
    engine.apply(StreamTableDefinition.from(wal("st", query, RefreshMode.DIFFERENTIAL)), OWNER);
    AtomicBoolean stop = new AtomicBoolean();
    ExecutorService writer = Executors.newSingleThreadExecutor();
    Future<Integer> writes = writer.submit(() -> writeUntil(stop, dimensions));
    int differential = 0;
    for (int i = 0; i < 15; i++) {
      if (engine.refresh("public", "st").kind() == RefreshOutcome.Kind.APPLIED
          && "DIFFERENTIAL".equals(lastMode())) {
        differential++;
      }
    }
    stop.set(true);
    assertThat(writes.get()).isPositive();
    writer.shutdown();
    refreshUntilExact(engine, db, "st", query);
    assertThat(differential).as("refreshes that ran DIFFERENTIAL").isPositive();
    assertThat(lastMode())
        .as(db.queryString("SELECT last_refresh_reason FROM pgtrickle.pgt_stream_tables"))
        .isEqualTo("DIFFERENTIAL");
  }

  /**
   * Forms that read the sources' state run DIFFERENTIAL behind the write barrier while a writer
   * changes both tables of the join. The grouped subquery kept its table wrong for good under this
   * writer when it ran DIFFERENTIAL without the barrier (before it was refused, and now barred).
   */
  @ParameterizedTest
  @ValueSource(
      strings = {
        "SELECT d.name, f.v FROM facts f JOIN dims d ON d.k = f.k",
        "SELECT d.name, count(*) AS n, sum(f.v) AS total FROM facts f JOIN dims d ON d.k = f.k"
            + " GROUP BY d.name",
        "SELECT g.k, g.n FROM (SELECT k, count(*) AS n FROM facts GROUP BY k) g WHERE g.n > 10",
        "SELECT k, min(v) AS lo, max(v) AS hi FROM facts GROUP BY k",
        "SELECT d.k, d.name FROM dims d WHERE EXISTS (SELECT 1 FROM facts f WHERE f.k = d.k"
            + " AND f.v > 450)",
        "SELECT f.id, d.name FROM facts f LEFT JOIN dims d ON d.k = f.k AND d.name LIKE '%1%'"
      })
  void formsReadingTheTablesRunDifferentialBehindTheBarrierWhileWritersWrite(String query)
      throws Exception {
    staysDifferentialAndExactWhileWriting(query, true);
  }

  /**
   * A fact committed after the drain, joined with a dimension change the drain delivered: without
   * the barrier the refresh's snapshot sees the fact, the join's term for the dimension's change
   * counts it, and its own delivery counts it again.
   */
  @Test
  void aRowCommittedBetweenTheDrainAndAJoinsDifferentialRefreshCountsOnce() throws Exception {
    AtomicBoolean writeAfterDrain = new AtomicBoolean();
    // Once the drain has delivered the rename, before a refresh applied it.
    StreamTableEngine hooked =
        committingAFactAfterTheDrain(
            writeAfterDrain,
            () ->
                db.queryLong("SELECT count(*) FROM " + buffer("dims")) > 0
                    && db.queryLong("SELECT count(*) FROM h WHERE name = 'three'") == 0);
    String query = "SELECT d.name, count(*) AS n FROM facts f JOIN dims d ON d.k = f.k GROUP BY 1";
    hooked.apply(StreamTableDefinition.from(wal("h", query, RefreshMode.DIFFERENTIAL)), OWNER);
    db.execute("UPDATE dims SET name = 'three' WHERE k = 3");
    refreshUntilTheFactIsCommitted(hooked, writeAfterDrain);
    refreshUntilExact(hooked, db, "h", query);
    assertThat(db.queryLong("SELECT n FROM h WHERE name = 'three'"))
        .isEqualTo(db.queryLong("SELECT count(*) FROM facts WHERE k = 3"));
    assertThat(lastMode()).isEqualTo("DIFFERENTIAL");
  }

  /**
   * A FULL refresh reads the table, which may hold commits its slot has not delivered yet (here a
   * row committed after the drain, before the refresh's snapshot); when they are delivered later,
   * the DIFFERENTIAL refreshes that follow must not apply them a second time. (It was applied twice
   * before FULL ran behind a {@link WriteBarrier}.)
   */
  @Test
  void aRowCommittedBetweenTheDrainAndAFullRefreshCountsOnce() throws Exception {
    AtomicBoolean writeAfterDrain = new AtomicBoolean();
    // Once the drain has moved the UPDATE into the buffer (so this refresh applies).
    StreamTableEngine hooked =
        committingAFactAfterTheDrain(
            writeAfterDrain, () -> db.queryLong("SELECT count(*) FROM " + buffer("facts")) > 0);
    String query = "SELECT k, count(*) AS n, sum(v) AS total FROM facts GROUP BY k";
    hooked.apply(StreamTableDefinition.from(wal("h", query, RefreshMode.AUTO)), OWNER);
    db.execute("UPDATE facts SET v = v + 1"); // every row: AUTO runs FULL
    refreshUntilExact(hooked, db, "h", query);
    db.execute("UPDATE facts SET v = v + 1");
    refreshUntilTheFactIsCommitted(hooked, writeAfterDrain);
    assertThat(lastMode()).isEqualTo("FULL");
    assertThat(db.queryLong("SELECT n FROM h WHERE k = 3"))
        .as("the FULL refresh read the row committed after the drain")
        .isEqualTo(db.queryLong("SELECT count(*) FROM facts WHERE k = 3"));
    db.execute("INSERT INTO facts VALUES (7778, 4, 1)"); // a small change: DIFFERENTIAL
    refreshUntilExact(hooked, db, "h", query);
    assertThat(lastMode())
        .as(db.queryString("SELECT last_refresh_reason FROM pgtrickle.pgt_stream_tables"))
        .isEqualTo("DIFFERENTIAL");
  }

  /** A condition the hook asks of the database. */
  private interface Check {
    boolean holds() throws java.sql.SQLException;
  }

  /**
   * An engine whose refresh, while {@code armed} and once {@code ready} holds after the slots were
   * drained, commits the fact (7777, 3, 1000) before its snapshot, once (it disarms).
   */
  private StreamTableEngine committingAFactAfterTheDrain(AtomicBoolean armed, Check ready)
      throws EngineException {
    return EngineTestSupport.engine(
        db,
        (step, connection) -> {
          if (step == Refresher.Step.DRAINED && armed.get() && ready.holds()) {
            armed.set(false);
            db.execute("INSERT INTO facts VALUES (7777, 3, 1000)");
          }
        });
  }

  /** Arms the hook and refreshes {@code h} until it has committed the fact, within 10 s. */
  private static void refreshUntilTheFactIsCommitted(StreamTableEngine hooked, AtomicBoolean armed)
      throws EngineException {
    armed.set(true);
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (armed.get() && System.nanoTime() < deadline) {
      hooked.refresh("public", "h");
    }
    assertThat(armed).as("the fact was committed between a drain and a snapshot").isFalse();
  }

  /**
   * Inserts, key-changing updates and deletes on facts, until stopped (at most 300 rounds); with
   * {@code dimensions}, every third round renames a dimension as well.
   */
  private int writeUntil(AtomicBoolean stop, boolean dimensions) throws Exception {
    int n = 0;
    try (Connection connection = db.connect();
        Statement statement = connection.createStatement()) {
      while (!stop.get() && n < 300) {
        int id = 1000 + n;
        statement.execute("INSERT INTO facts VALUES (" + id + ", " + (n % 9) + ", " + n + ")");
        statement.execute("UPDATE facts SET k = k + 1, v = v + 1 WHERE id = " + (n + 1));
        statement.execute("DELETE FROM facts WHERE id = " + (n + 250));
        if (dimensions && n % 3 == 0) {
          statement.execute("UPDATE dims SET name = 'd' || (k + " + n + ") WHERE k = " + (n % 7));
        }
        n++;
      }
    }
    return n;
  }

  private String buffer(String table) {
    return io.pgtrickle.operator.naming.ObjectNames.of(
            new io.pgtrickle.operator.naming.QualifiedTable(db.name(), "public", table))
        .changeBufferQualified();
  }

  private String lastMode() throws Exception {
    return db.queryString("SELECT last_refresh_mode FROM pgtrickle.pgt_stream_tables");
  }

  private static StreamTableSpec wal(String name, String query, RefreshMode mode) {
    StreamTableSpec spec = spec(name, query);
    spec.setCdcMode(CdcModeSpec.WAL);
    spec.setRefreshMode(mode);
    return spec;
  }
}
