package io.pgtrickle.operator.engine;

import static io.pgtrickle.operator.engine.EngineTestSupport.OWNER;
import static io.pgtrickle.operator.engine.EngineTestSupport.definition;
import static io.pgtrickle.operator.engine.EngineTestSupport.engine;
import static io.pgtrickle.operator.engine.EngineTestSupport.spec;
import static io.pgtrickle.operator.testing.StreamTableAssertions.assertMatchesQuery;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgtrickle.operator.api.DeletionPolicy;
import io.pgtrickle.operator.api.StreamTableSpec;
import io.pgtrickle.operator.testing.DatabaseObjects;
import io.pgtrickle.operator.testing.TestDatabase;
import io.pgtrickle.operator.testing.TestPostgres;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Stream tables over stream tables: refreshed and dropped along the graph, cycles refused. */
class StreamTableChainIT {
  private static final String BASE = "SELECT id, amount FROM orders WHERE amount > 10";
  private static final String MIDDLE = "SELECT id, amount * 2 AS doubled FROM base";
  private static final String TOP = "SELECT count(*) AS n, sum(doubled) AS total FROM middle";

  private TestDatabase db;
  private StreamTableEngine engine;

  @BeforeEach
  void setUp() throws Exception {
    db = TestPostgres.freshDatabase();
    db.execute(
        "CREATE TABLE orders (id int PRIMARY KEY, amount int)",
        "INSERT INTO orders SELECT g, g FROM generate_series(1, 30) g");
    engine = engine(db);
    engine.apply(definition("base", BASE), OWNER);
    engine.apply(definition("middle", MIDDLE), OWNER);
    engine.apply(definition("top", TOP), OWNER);
  }

  @Test
  void theGraphKnowsWhoReadsWhomAndOrdersRefreshesUpstreamFirst() throws Exception {
    StreamTableGraph graph = engine.graph();
    assertThat(graph.upstreamOf("public", "top")).containsExactly("public.middle");
    assertThat(graph.downstreamOf("public", "base")).containsExactly("public.middle");
    assertThat(engine.report("public", "middle").dependsOn()).containsExactly("public.base");
    assertThat(engine.report("public", "base").dependsOn()).isEmpty();
    List<String> declaredTopFirst = List.of("public.top", "public.middle", "public.base");
    assertThat(graph.upstreamFirst(declaredTopFirst, s -> s))
        .containsExactly("public.base", "public.middle", "public.top");
    assertThat(graph.downstreamFirst(declaredTopFirst, s -> s))
        .containsExactly("public.top", "public.middle", "public.base");

    db.execute(
        "UPDATE orders SET amount = amount + 100 WHERE id <= 5",
        "DELETE FROM orders WHERE id = 30");
    for (String name : graph.upstreamFirst(declaredTopFirst, s -> s)) {
      engine.refresh("public", name.substring("public.".length()));
    }
    assertMatchesQuery(db, "base", BASE);
    assertMatchesQuery(db, "middle", MIDDLE);
    assertMatchesQuery(db, "top", TOP);
  }

  @Test
  void aStreamTableOthersReadCannotBeDroppedBeforeThem() throws Exception {
    Set<String> before = DatabaseObjects.of(db);
    assertThatThrownBy(() -> engine.drop("public", "base", OWNER))
        .isInstanceOfSatisfying(
            EngineException.class, e -> assertThat(e.reason()).isEqualTo(Reason.DependedOn))
        .hasMessageContaining("public.middle reads public.base");
    assertThat(DatabaseObjects.of(db)).isEqualTo(before);

    assertThat(engine.drop("public", "top", OWNER)).isTrue();
    assertThat(engine.drop("public", "middle", OWNER)).isTrue();
    assertThat(engine.drop("public", "base", OWNER)).isTrue();
    assertThat(db.queryLong("SELECT count(*) FROM pgtrickle.pgt_stream_tables")).isZero();
  }

  @Test
  void aRefusedDropLeavesTheSlotsOfItsSources() throws Exception {
    db.execute(
        "CREATE TABLE facts (id int PRIMARY KEY, v int)",
        "ALTER TABLE facts REPLICA IDENTITY FULL");
    StreamTableSpec wal = spec("walbase", "SELECT id, v FROM facts");
    wal.setCdcMode(io.pgtrickle.operator.api.CdcModeSpec.WAL);
    engine.apply(StreamTableDefinition.from(wal), OWNER);
    engine.apply(definition("walreader", "SELECT count(*) AS n FROM walbase"), OWNER);
    try {
      assertThatThrownBy(() -> engine.drop("public", "walbase", OWNER))
          .isInstanceOfSatisfying(
              EngineException.class, e -> assertThat(e.reason()).isEqualTo(Reason.DependedOn));
      assertThat(
              db.queryLong(
                  "SELECT count(*) FROM pg_replication_slots WHERE database = current_database()"))
          .as("the slot of walbase's source is still there")
          .isEqualTo(1);
    } finally {
      engine.drop("public", "walreader", OWNER);
      engine.drop("public", "walbase", OWNER);
    }
    assertThat(
            db.queryLong(
                "SELECT count(*) FROM pg_replication_slots WHERE database = current_database()"))
        .isZero();
  }

  @Test
  void aRetainedStorageTableMayGoFirst() throws Exception {
    StreamTableSpec retained = spec("base", BASE);
    retained.setDeletionPolicy(DeletionPolicy.Retain);
    engine.apply(StreamTableDefinition.from(retained), OWNER);
    assertThat(engine.drop("public", "base", OWNER)).isTrue();
    assertThat(db.queryLong("SELECT count(*) FROM base")).isEqualTo(20);
    assertMatchesQuery(db, "middle", MIDDLE);
  }

  @Test
  void aCycleIsInvalidSpecAndChangesNothing() throws Exception {
    Set<String> before = DatabaseObjects.of(db);
    String query =
        db.queryString(
            "SELECT defining_query FROM pgtrickle.pgt_stream_tables WHERE st_name = 'base'");
    assertThatThrownBy(
            () ->
                engine.apply(definition("base", "SELECT n AS id, total AS amount FROM top"), OWNER))
        .isInstanceOfSatisfying(
            EngineException.class, e -> assertThat(e.reason()).isEqualTo(Reason.InvalidSpec))
        .hasMessageContaining("top");
    assertThat(DatabaseObjects.of(db)).isEqualTo(before);
    assertThat(
            db.queryString(
                "SELECT defining_query FROM pgtrickle.pgt_stream_tables WHERE st_name = 'base'"))
        .isEqualTo(query);
  }
}
