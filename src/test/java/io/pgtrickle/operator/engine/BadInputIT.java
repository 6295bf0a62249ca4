package io.pgtrickle.operator.engine;

import static io.pgtrickle.operator.engine.EngineTestSupport.OWNER;
import static io.pgtrickle.operator.engine.EngineTestSupport.definition;
import static io.pgtrickle.operator.engine.EngineTestSupport.engine;
import static io.pgtrickle.operator.engine.EngineTestSupport.spec;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgtrickle.operator.api.StreamTableSpec;
import io.pgtrickle.operator.testing.DatabaseObjects;
import io.pgtrickle.operator.testing.TestDatabase;
import io.pgtrickle.operator.testing.TestPostgres;
import java.util.Set;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Each bad input fails with a clear reason and message, and leaves no object behind. */
class BadInputIT {
  private TestDatabase db;
  private StreamTableEngine engine;
  private Set<String> objectsBefore;

  @BeforeEach
  void setUp() throws Exception {
    db = TestPostgres.freshDatabase();
    db.execute(
        "CREATE TABLE orders (id int PRIMARY KEY, amount numeric)",
        "INSERT INTO orders VALUES (1, 10)");
    engine = engine(db);
    objectsBefore = DatabaseObjects.of(db);
  }

  @Test
  void invalidSql() throws Exception {
    assertFailsCleanly(
        () -> engine.apply(definition("st", "SELEC id FROM orders"), OWNER),
        Reason.InvalidQuery,
        "syntax error at or near \"SELEC\"",
        "at position 1 of the query");
  }

  @Test
  void errorPositionPointsIntoTheQuery() throws Exception {
    assertFailsCleanly(
        () -> engine.apply(definition("st", "SELECT id, nosuchcolumn FROM orders"), OWNER),
        Reason.InvalidQuery,
        "column \"nosuchcolumn\" does not exist",
        "at position 12 of the query");
  }

  @Test
  void missingSourceTable() throws Exception {
    assertFailsCleanly(
        () -> engine.apply(definition("st", "SELECT * FROM no_such_table"), OWNER),
        Reason.SourceMissing,
        "relation \"no_such_table\" does not exist");
  }

  @Test
  void missingSchema() throws Exception {
    StreamTableSpec spec = spec("st", "SELECT id FROM orders");
    spec.setSchema("no_such_schema");
    assertFailsCleanly(
        () -> engine.apply(StreamTableDefinition.from(spec), OWNER),
        Reason.InvalidSpec,
        "schema \"no_such_schema\" does not exist");
  }

  @Test
  void missingSchemaInTheQuery() throws Exception {
    assertFailsCleanly(
        () -> engine.apply(definition("st", "SELECT * FROM nowhere.orders"), OWNER),
        Reason.SourceMissing,
        "nowhere",
        "does not exist");
  }

  @Test
  void missingFieldsAreNamedAsTheyAreInTheResource() {
    StreamTableSpec noName = spec("st", "SELECT id FROM orders");
    noName.setName(null);
    assertThatThrownBy(() -> StreamTableDefinition.from(noName))
        .isInstanceOfSatisfying(
            EngineException.class, e -> assertThat(e.reason()).isEqualTo(Reason.InvalidSpec))
        .hasMessage("spec.name is missing");
    StreamTableSpec noQuery = spec("st", " ; ");
    assertThatThrownBy(() -> StreamTableDefinition.from(noQuery))
        .hasMessage("spec.query is missing");
  }

  @Test
  void nameOver63Bytes() {
    String name = "é".repeat(32); // 64 bytes
    assertThatThrownBy(() -> definition(name, "SELECT id FROM orders"))
        .isInstanceOfSatisfying(
            EngineException.class, e -> assertThat(e.reason()).isEqualTo(Reason.InvalidSpec))
        .hasMessageContaining("64 bytes")
        .hasMessageContaining("at most 63");
  }

  @Test
  void volatileFunctions() throws Exception {
    assertFailsCleanly(
        () -> engine.apply(definition("st", "SELECT id, random() AS r FROM orders"), OWNER),
        Reason.InvalidQuery,
        "volatile function(s) random()");
    assertFailsCleanly(
        () ->
            engine.apply(
                definition("st", "SELECT id FROM orders WHERE clock_timestamp() > '2000-01-01'"),
                OWNER),
        Reason.InvalidQuery,
        "clock_timestamp()");
  }

  @Test
  void volatileUserFunctionInsideAView() throws Exception {
    db.execute(
        "CREATE FUNCTION jitter(x numeric) RETURNS numeric LANGUAGE sql AS 'SELECT x'",
        "CREATE VIEW jittery AS SELECT id, jitter(amount) AS a FROM orders");
    objectsBefore = DatabaseObjects.of(db);
    assertFailsCleanly(
        () -> engine.apply(definition("st", "SELECT * FROM jittery"), OWNER),
        Reason.InvalidQuery,
        "jitter(numeric)");
  }

  @Test
  void queryWithoutSource() throws Exception {
    assertFailsCleanly(
        () -> engine.apply(definition("st", "SELECT 1 AS one"), OWNER),
        Reason.InvalidQuery,
        "reads no table");
    assertFailsCleanly(
        () -> engine.apply(definition("st", "SELECT relname FROM pg_class"), OWNER),
        Reason.InvalidQuery,
        "system catalog");
  }

  @Test
  void queryReadingItselfOnCreate() throws Exception {
    assertFailsCleanly(
        () -> engine.apply(definition("st", "SELECT * FROM st"), OWNER),
        Reason.InvalidQuery,
        "reads the stream table itself");
  }

  @Test
  void queryReadingItselfOnUpdate() throws Exception {
    engine.apply(definition("st", "SELECT id FROM orders"), OWNER);
    String stateBefore = db.queryString("SELECT defining_query FROM pgtrickle.pgt_stream_tables");
    Set<String> objects = DatabaseObjects.of(db);

    assertThatThrownBy(
            () ->
                engine.apply(
                    definition("st", "SELECT id FROM st UNION SELECT id FROM orders"), OWNER))
        .isInstanceOfSatisfying(
            EngineException.class, e -> assertThat(e.reason()).isEqualTo(Reason.InvalidQuery))
        .hasMessageContaining("cannot be defined in terms of itself");

    assertThat(DatabaseObjects.of(db)).isEqualTo(objects);
    assertThat(db.queryString("SELECT defining_query FROM pgtrickle.pgt_stream_tables"))
        .isEqualTo(stateBefore);
  }

  @Test
  void secondResourceClaimingTheSameTable() throws Exception {
    engine.apply(definition("st", "SELECT id FROM orders"), OWNER);
    Set<String> objects = DatabaseObjects.of(db);

    assertThatThrownBy(
            () -> engine.apply(definition("st", "SELECT amount FROM orders"), "other/resource"))
        .isInstanceOfSatisfying(
            EngineException.class, e -> assertThat(e.reason()).isEqualTo(Reason.Conflict))
        .hasMessageContaining("already claimed by " + OWNER);
    assertThatThrownBy(() -> engine.drop("public", "st", "other/resource"))
        .isInstanceOf(EngineException.class);
    assertThat(DatabaseObjects.of(db)).isEqualTo(objects);
  }

  @Test
  void existingPlainTableOfTheSameName() throws Exception {
    db.execute("CREATE TABLE taken (x int)");
    objectsBefore = DatabaseObjects.of(db);
    assertFailsCleanly(
        () -> engine.apply(definition("taken", "SELECT id FROM orders"), OWNER),
        Reason.Conflict,
        "already exists and is not a stream table");
  }

  @Test
  void queryColumnsWithTheOperatorsPrefix() throws Exception {
    assertFailsCleanly(
        () ->
            engine.apply(
                definition("st", "SELECT id AS pgt__row, amount AS pgt_row_id FROM orders"), OWNER),
        Reason.InvalidQuery,
        "pgt__row, pgt_row_id",
        "reserved for the operator's own columns");
  }

  @Test
  void citusPlacementWithoutCitus() throws Exception {
    for (var placement :
        java.util.List.of(
            io.pgtrickle.operator.api.PlacementMode.DISTRIBUTED,
            io.pgtrickle.operator.api.PlacementMode.REFERENCE)) {
      StreamTableSpec spec = spec("st", "SELECT id FROM orders");
      spec.setPlacement(placement);
      assertFailsCleanly(
          () -> engine.apply(StreamTableDefinition.from(spec), OWNER),
          Reason.InvalidSpec,
          "needs the citus extension in the database");
    }
  }

  private void assertFailsCleanly(ThrowingCallable call, Reason reason, String... messageParts)
      throws Exception {
    assertThatThrownBy(call)
        .isInstanceOfSatisfying(
            EngineException.class, e -> assertThat(e.reason()).isEqualTo(reason))
        .message()
        .contains(messageParts);
    assertThat(DatabaseObjects.of(db)).as("objects after the failure").isEqualTo(objectsBefore);
    assertThat(db.queryLong("SELECT count(*) FROM pgtrickle.pgt_stream_tables")).isZero();
    assertThat(db.queryLong("SELECT count(*) FROM pgtrickle.pgt_change_tracking")).isZero();
  }
}
