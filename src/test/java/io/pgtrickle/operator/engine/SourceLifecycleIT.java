package io.pgtrickle.operator.engine;

import static io.pgtrickle.operator.engine.EngineTestSupport.OWNER;
import static io.pgtrickle.operator.engine.EngineTestSupport.engine;
import static io.pgtrickle.operator.engine.EngineTestSupport.spec;
import static io.pgtrickle.operator.testing.StreamTableAssertions.assertMatchesQuery;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgtrickle.operator.api.CdcModeSpec;
import io.pgtrickle.operator.api.StreamTableSpec;
import io.pgtrickle.operator.testing.TestDatabase;
import io.pgtrickle.operator.testing.TestPostgres;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Sources that are dropped (with CASCADE, which takes the query view, the triggers and the
 * publication membership), lose a column, are renamed, or are re-created: the stream table says
 * SourceMissing naming what is gone and keeps its last contents; once the source is back, capture
 * is re-established and the table re-synced in full, then kept exact again. With triggers and with
 * WAL.
 */
class SourceLifecycleIT {
  private static final String QUERY = "SELECT id, amount FROM orders WHERE amount > 0";

  private TestDatabase db;
  private StreamTableEngine engine;

  @AfterEach
  void dropSlots() throws Exception {
    if (db != null) {
      db.dropReplicationSlots();
    }
  }

  private void createOrders(int rows) throws Exception {
    db.execute(
        "CREATE TABLE orders (id int PRIMARY KEY, amount int)",
        "ALTER TABLE orders REPLICA IDENTITY FULL",
        "INSERT INTO orders SELECT g, g FROM generate_series(1, " + rows + ") g");
  }

  private void start(CdcModeSpec mode) throws Exception {
    db = TestPostgres.freshDatabase();
    createOrders(5);
    engine = engine(db);
    engine.apply(definition(mode), OWNER);
    assertMatchesQuery(db, "st", QUERY);
  }

  @ParameterizedTest
  @EnumSource(
      value = CdcModeSpec.class,
      names = {"TRIGGER", "WAL"})
  void droppedWithCascadeThenRecreated(CdcModeSpec mode) throws Exception {
    start(mode);
    db.execute("DROP TABLE orders CASCADE");

    assertSourceMissing("orders");
    assertThat(db.queryLong("SELECT count(*) FROM st")).as("last contents kept").isEqualTo(5);
    assertThatThrownBy(() -> engine.apply(definition(mode), OWNER))
        .isInstanceOfSatisfying(
            EngineException.class, e -> assertThat(e.reason()).isEqualTo(Reason.SourceMissing));

    createOrders(3);
    db.execute("INSERT INTO orders VALUES (100, 100)");
    refreshUntilExact();
    db.execute(
        "INSERT INTO orders VALUES (101, 101)",
        "UPDATE orders SET amount = -1 WHERE id = 1",
        "DELETE FROM orders WHERE id = 2");
    refreshUntilExact();
    assertThat(db.queryLong("SELECT count(*) FROM st")).isEqualTo(3); // 3, 100, 101
  }

  @ParameterizedTest
  @EnumSource(
      value = CdcModeSpec.class,
      names = {"TRIGGER", "WAL"})
  void usedColumnDroppedThenAddedBack(CdcModeSpec mode) throws Exception {
    start(mode);
    db.execute("ALTER TABLE orders DROP COLUMN amount CASCADE");
    db.execute("INSERT INTO orders VALUES (50)"); // writers keep working

    assertSourceMissing("amount");
    db.execute("ALTER TABLE orders ADD COLUMN amount int", "UPDATE orders SET amount = id * 2");
    refreshUntilExact();
    db.execute("UPDATE orders SET amount = 7 WHERE id = 50");
    refreshUntilExact();
  }

  @ParameterizedTest
  @EnumSource(
      value = CdcModeSpec.class,
      names = {"TRIGGER", "WAL"})
  void renamedAwayThenBack(CdcModeSpec mode) throws Exception {
    start(mode);
    db.execute("ALTER TABLE orders RENAME TO orders_old");

    assertSourceMissing("public.orders");
    db.execute("ALTER TABLE orders_old RENAME TO orders", "INSERT INTO orders VALUES (60, 60)");
    refreshUntilExact();
    db.execute("DELETE FROM orders WHERE id = 60");
    refreshUntilExact();
  }

  @ParameterizedTest
  @EnumSource(
      value = CdcModeSpec.class,
      names = {"TRIGGER", "WAL"})
  void reconcileAlsoRestores(CdcModeSpec mode) throws Exception {
    start(mode);
    db.execute("DROP TABLE orders CASCADE");
    createOrders(2);

    assertThat(engine.apply(definition(mode), OWNER))
        .isEqualTo(StreamTableEngine.ApplyResult.RESYNCED);
    assertMatchesQuery(db, "st", QUERY);
    assertThat(engine.apply(definition(mode), OWNER))
        .isEqualTo(StreamTableEngine.ApplyResult.UNCHANGED);
    db.execute("INSERT INTO orders VALUES (70, 70)");
    refreshUntilExact();
  }

  private void assertSourceMissing(String named) {
    assertThatThrownBy(() -> engine.refresh("public", "st"))
        .isInstanceOfSatisfying(
            EngineException.class, e -> assertThat(e.reason()).isEqualTo(Reason.SourceMissing))
        .hasMessageContaining(named)
        .hasMessageContaining("re-synced in full once");
  }

  private void refreshUntilExact() throws Exception {
    EngineTestSupport.refreshUntilExact(engine, db, "st", QUERY);
  }

  private static StreamTableDefinition definition(CdcModeSpec mode) throws EngineException {
    StreamTableSpec spec = spec("st", QUERY);
    spec.setCdcMode(mode);
    return StreamTableDefinition.from(spec);
  }
}
