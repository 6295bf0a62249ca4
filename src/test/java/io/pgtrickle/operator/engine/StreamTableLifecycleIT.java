package io.pgtrickle.operator.engine;

import static io.pgtrickle.operator.engine.EngineTestSupport.OWNER;
import static io.pgtrickle.operator.engine.EngineTestSupport.definition;
import static io.pgtrickle.operator.engine.EngineTestSupport.engine;
import static io.pgtrickle.operator.engine.EngineTestSupport.spec;
import static io.pgtrickle.operator.testing.StreamTableAssertions.assertMatchesQuery;
import static org.assertj.core.api.Assertions.assertThat;

import io.pgtrickle.operator.api.DeletionPolicy;
import io.pgtrickle.operator.api.StreamTableSpec;
import io.pgtrickle.operator.naming.ObjectNames;
import io.pgtrickle.operator.naming.QualifiedTable;
import io.pgtrickle.operator.testing.DatabaseObjects;
import io.pgtrickle.operator.testing.TestDatabase;
import io.pgtrickle.operator.testing.TestPostgres;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class StreamTableLifecycleIT {
  private static final String QUERY =
      "SELECT region, count(*) AS orders, sum(amount) AS total FROM orders GROUP BY region";

  private TestDatabase db;
  private StreamTableEngine engine;
  private ObjectNames orderNames;

  @BeforeEach
  void setUp() throws Exception {
    db = TestPostgres.freshDatabase();
    db.execute(
        "CREATE TABLE orders (id int PRIMARY KEY, region text, amount numeric)",
        "INSERT INTO orders SELECT g, 'r' || (g % 3), g FROM generate_series(1, 30) g");
    engine = engine(db);
    orderNames = ObjectNames.of(new QualifiedTable(db.name(), "public", "orders"));
  }

  @Test
  void createLoadsTheQueryAndInstallsCaptureNamedFromTheStableName() throws Exception {
    assertThat(engine.apply(definition("by_region", QUERY), OWNER))
        .isEqualTo(StreamTableEngine.ApplyResult.CREATED);

    assertMatchesQuery(db, "by_region", QUERY);
    Set<String> objects = DatabaseObjects.of(db);
    assertThat(objects)
        .contains(
            "relation pgtrickle_changes." + orderNames.changeBuffer(),
            "function pgtrickle." + orderNames.triggerFunction(),
            "trigger " + orderNames.trigger(ObjectNames.CaptureEvent.INSERT) + " on orders",
            "trigger " + orderNames.trigger(ObjectNames.CaptureEvent.UPDATE) + " on orders",
            "trigger " + orderNames.trigger(ObjectNames.CaptureEvent.DELETE) + " on orders",
            "trigger " + orderNames.trigger(ObjectNames.CaptureEvent.TRUNCATE) + " on orders");
    String oidSuffix = "_" + oid("orders");
    assertThat(objects).noneMatch(o -> o.endsWith(oidSuffix) || o.contains(oidSuffix + " "));
  }

  @Test
  void everyKindOfWriteIsCapturedAndApplied() throws Exception {
    engine.apply(definition("by_region", QUERY), OWNER);

    db.execute("INSERT INTO orders VALUES (100, 'r9', 5)");
    assertThat(engine.refresh("public", "by_region").kind()).isEqualTo(RefreshOutcome.Kind.APPLIED);
    assertMatchesQuery(db, "by_region", QUERY);

    db.execute("UPDATE orders SET amount = amount * 2 WHERE region = 'r1'");
    engine.refresh("public", "by_region");
    assertMatchesQuery(db, "by_region", QUERY);

    db.execute("DELETE FROM orders WHERE region = 'r2'");
    engine.refresh("public", "by_region");
    assertMatchesQuery(db, "by_region", QUERY);

    db.execute("TRUNCATE orders");
    assertThat(engine.refresh("public", "by_region").kind()).isEqualTo(RefreshOutcome.Kind.APPLIED);
    assertMatchesQuery(db, "by_region", QUERY);
    assertThat(db.queryLong("SELECT count(*) FROM by_region")).isZero();
  }

  @Test
  void refreshWithoutChangesWritesNothing() throws Exception {
    engine.apply(definition("by_region", QUERY), OWNER);
    String frontier = frontierOf("by_region");

    assertThat(engine.refresh("public", "by_region").kind())
        .isEqualTo(RefreshOutcome.Kind.NO_CHANGES);
    assertThat(frontierOf("by_region")).isEqualTo(frontier);
  }

  @Test
  void onlyRowsThatDifferAreTouched() throws Exception {
    engine.apply(definition("orders_copy", "SELECT id, region, amount FROM orders"), OWNER);
    long untouchedXmin = db.queryLong("SELECT xmin::text::bigint FROM orders_copy WHERE id = 1");

    db.execute("UPDATE orders SET amount = 0 WHERE id = 2");
    RefreshOutcome outcome = engine.refresh("public", "orders_copy");

    assertThat(outcome.rowsChanged()).isEqualTo(2); // one delete, one insert
    assertThat(db.queryLong("SELECT xmin::text::bigint FROM orders_copy WHERE id = 1"))
        .isEqualTo(untouchedXmin);
    assertMatchesQuery(db, "orders_copy", "SELECT id, region, amount FROM orders");
  }

  @Test
  void duplicateRowsKeepTheirMultiplicity() throws Exception {
    String query = "SELECT region FROM orders";
    engine.apply(definition("regions", query), OWNER);
    db.execute("INSERT INTO orders VALUES (200, 'r0', 1), (201, 'r0', 1)");
    db.execute("DELETE FROM orders WHERE id IN (3, 6)");

    engine.refresh("public", "regions");

    assertMatchesQuery(db, "regions", query);
    assertThat(db.queryLong("SELECT count(*) FROM regions WHERE region = 'r0'"))
        .isEqualTo(db.queryLong("SELECT count(*) FROM orders WHERE region = 'r0'"));
  }

  @Test
  void buffersAreCompactedOnceEveryConsumerHasPassedThem() throws Exception {
    engine.apply(definition("by_region", QUERY), OWNER);
    engine.apply(definition("big", "SELECT id FROM orders WHERE amount > 20"), OWNER);
    String buffer = "pgtrickle_changes." + orderNames.changeBuffer();
    db.execute("INSERT INTO orders VALUES (800, 'r0', 5), (801, 'r1', 50)");

    engine.refresh("public", "by_region");
    assertThat(db.queryLong("SELECT count(*) FROM " + buffer))
        .as("kept while the second consumer has not passed them")
        .isEqualTo(2);

    engine.refresh("public", "big");
    assertThat(db.queryLong("SELECT count(*) FROM " + buffer)).isZero();
    assertMatchesQuery(db, "big", "SELECT id FROM orders WHERE amount > 20");
  }

  @Test
  void twoStreamTablesShareOneBufferAndDropKeepsItForTheOther() throws Exception {
    engine.apply(definition("by_region", QUERY), OWNER);
    engine.apply(definition("big", "SELECT id FROM orders WHERE amount > 20"), OWNER);
    assertThat(
            db.queryLong(
                "SELECT cardinality(consumers) FROM pgtrickle.pgt_change_tracking"
                    + " WHERE source_table = 'orders'"))
        .isEqualTo(2);

    engine.drop("public", "by_region", OWNER);

    db.execute("INSERT INTO orders VALUES (300, 'r0', 99)");
    engine.refresh("public", "big");
    assertMatchesQuery(db, "big", "SELECT id FROM orders WHERE amount > 20");
    assertThat(DatabaseObjects.of(db))
        .contains("relation pgtrickle_changes." + orderNames.changeBuffer())
        .doesNotContain("relation public.by_region");
  }

  @Test
  void dropLeavesNoObjectBehind() throws Exception {
    engine.migrateCatalog();
    Set<String> before = DatabaseObjects.of(db);
    engine.apply(definition("by_region", QUERY), OWNER);
    engine.apply(definition("big", "SELECT o.id FROM orders o WHERE amount > 20"), OWNER);

    assertThat(engine.drop("public", "by_region", OWNER)).isTrue();
    assertThat(engine.drop("public", "big", OWNER)).isTrue();

    assertThat(DatabaseObjects.of(db)).isEqualTo(before);
    assertThat(db.queryLong("SELECT count(*) FROM pgtrickle.pgt_change_tracking")).isZero();
    assertThat(db.queryLong("SELECT count(*) FROM pgtrickle.pgt_stream_tables")).isZero();
    assertThat(engine.drop("public", "big", OWNER)).isFalse();
  }

  @Test
  void retainKeepsTheStorageTableOnDrop() throws Exception {
    StreamTableSpec spec = spec("kept", QUERY);
    spec.setDeletionPolicy(DeletionPolicy.Retain);
    engine.apply(StreamTableDefinition.from(spec), OWNER);

    engine.drop("public", "kept", OWNER);

    assertMatchesQuery(db, "kept", QUERY);
    assertThat(DatabaseObjects.of(db)).noneMatch(o -> o.contains(orderNames.stableName().value()));
  }

  @Test
  void changingTheQueryRebuildsTheTable() throws Exception {
    engine.apply(definition("st", QUERY), OWNER);
    String newQuery = "SELECT id, amount FROM orders WHERE amount > 10";

    assertThat(engine.apply(definition("st", newQuery), OWNER))
        .isEqualTo(StreamTableEngine.ApplyResult.REBUILT);

    assertMatchesQuery(db, "st", newQuery);
    db.execute("INSERT INTO orders VALUES (400, 'x', 50)");
    engine.refresh("public", "st");
    assertMatchesQuery(db, "st", newQuery);
  }

  @Test
  void changingOnlyTheScheduleKeepsTheContents() throws Exception {
    engine.apply(definition("st", QUERY), OWNER);
    StreamTableSpec spec = spec("st", QUERY);
    spec.setSchedule("5m");

    assertThat(engine.apply(StreamTableDefinition.from(spec), OWNER))
        .isEqualTo(StreamTableEngine.ApplyResult.UPDATED);
    assertThat(engine.apply(StreamTableDefinition.from(spec), OWNER))
        .isEqualTo(StreamTableEngine.ApplyResult.UNCHANGED);
    assertThat(db.queryString("SELECT schedule FROM pgtrickle.pgt_stream_tables")).isEqualTo("5m");
  }

  @Test
  void aDroppedTriggerIsRepairedOnTheNextApply() throws Exception {
    engine.apply(definition("st", QUERY), OWNER);
    db.execute(
        "DROP TRIGGER " + orderNames.trigger(ObjectNames.CaptureEvent.INSERT) + " ON orders");

    engine.apply(definition("st", QUERY), OWNER);

    db.execute("INSERT INTO orders VALUES (500, 'new', 1)");
    engine.refresh("public", "st");
    assertMatchesQuery(db, "st", QUERY);
  }

  @Test
  void sourcesReachedThroughViewsAreCaptured() throws Exception {
    db.execute("CREATE VIEW big_orders AS SELECT * FROM orders WHERE amount > 25");
    engine.apply(definition("via_view", "SELECT count(*) AS n FROM big_orders"), OWNER);

    db.execute("INSERT INTO orders VALUES (600, 'r0', 100)");
    engine.refresh("public", "via_view");

    assertMatchesQuery(db, "via_view", "SELECT count(*) AS n FROM big_orders");
    assertThat(db.queryLong("SELECT n FROM via_view")).isEqualTo(6);
  }

  @Test
  void reportShowsSourcesFrontierAndLastRefresh() throws Exception {
    engine.apply(definition("st", QUERY), OWNER);
    db.execute("INSERT INTO orders VALUES (700, 'r0', 1)");

    StreamTableReport pending = engine.report("public", "st");
    assertThat(pending.sources()).hasSize(1);
    StreamTableReport.SourceReport source = pending.sources().get(0);
    assertThat(source.table()).isEqualTo("public.orders");
    assertThat(source.stableName()).isEqualTo(orderNames.stableName().value());
    assertThat(source.nodes())
        .singleElement()
        .satisfies(n -> assertThat(n.lagBytes()).isPositive());
    String lsnBefore = source.nodes().get(0).lsn();

    engine.refresh("public", "st");

    StreamTableReport after = engine.report("public", "st");
    StreamTableReport.NodeReport node = after.sources().get(0).nodes().get(0);
    assertThat(node.lagBytes()).isZero();
    assertThat(db.queryLong("SELECT pg_wal_lsn_diff('" + node.lsn() + "', '" + lsnBefore + "')"))
        .isPositive();
    assertThat(after.lastRefresh())
        .hasValueSatisfying(r -> assertThat(r.rowsChanged()).isEqualTo(2));
  }

  private long oid(String table) throws Exception {
    return db.queryLong("SELECT '" + table + "'::regclass::oid");
  }

  private String frontierOf(String name) throws Exception {
    return db.queryString(
        "SELECT frontier::text FROM pgtrickle.pgt_stream_tables WHERE st_name = '" + name + "'");
  }
}
