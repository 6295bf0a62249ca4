package io.pgtrickle.operator.engine;

import static io.pgtrickle.operator.engine.EngineTestSupport.OWNER;
import static io.pgtrickle.operator.engine.EngineTestSupport.definition;
import static io.pgtrickle.operator.engine.EngineTestSupport.engine;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgtrickle.operator.testing.DatabaseObjects;
import io.pgtrickle.operator.testing.TestDatabase;
import io.pgtrickle.operator.testing.TestPostgres;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * spec.query is the one piece of user text the operator sends to the server, with its own role: it
 * must run as exactly one query and nothing else, and with a query role it reads only what that
 * role may read.
 */
class QueryInjectionIT {
  private TestDatabase db;
  private StreamTableEngine engine;

  @BeforeEach
  void setUp() throws Exception {
    db = TestPostgres.freshDatabase();
    db.execute(
        "CREATE TABLE orders (id int PRIMARY KEY, amount numeric)",
        "INSERT INTO orders VALUES (1, 10), (2, 20)",
        "CREATE TABLE victim (x int)");
    engine = engine(db);
  }

  @Test
  void extraStatementsAfterTheQueryNeverRun() throws Exception {
    Set<String> before = DatabaseObjects.of(db);
    String role = "evil_" + db.name();
    for (String attack :
        new String[] {
          "SELECT id FROM orders; DROP TABLE victim; CREATE ROLE "
              + role
              + " SUPERUSER LOGIN PASSWORD 'x'",
          "SELECT id FROM orders;\nDROP TABLE victim",
          "SELECT id FROM orders /* ; */ ; DROP TABLE victim -- ;",
          "SELECT 'a'';' AS x FROM orders; DROP TABLE victim",
        }) {
      assertThatThrownBy(() -> engine.apply(definition("st", attack), OWNER))
          .isInstanceOfSatisfying(
              EngineException.class, e -> assertThat(e.reason()).isEqualTo(Reason.InvalidQuery))
          .hasMessageContaining("must be exactly one query");
    }
    assertThat(db.queryLong("SELECT count(*) FROM victim")).isZero(); // still there
    assertThat(db.queryLong("SELECT count(*) FROM pg_roles WHERE rolname = '" + role + "'"))
        .isZero();
    assertThat(DatabaseObjects.of(db)).isEqualTo(before);
    assertThat(db.queryLong("SELECT count(*) FROM pgtrickle.pgt_stream_tables")).isZero();
  }

  @Test
  void semicolonsInsideLiteralsIdentifiersAndCommentsStayLegal() throws Exception {
    engine.apply(
        definition(
            "st",
            "SELECT id, 'a;b' AS \"x;y\", $q$;DROP TABLE victim;$q$ AS d, E'\\';' AS e"
                + " FROM orders -- trailing; comment\n"
                + " WHERE amount > 0 /* ; */;"),
        OWNER);
    assertThat(db.queryString("SELECT string_agg(\"x;y\" || d || e, ',') FROM st"))
        .isEqualTo("a;b;DROP TABLE victim;';,a;b;DROP TABLE victim;';");
    assertThat(db.queryLong("SELECT count(*) FROM victim")).isZero();
  }

  @Test
  void dataModifyingWithIsInvalidQueryWithTheServersMessage() throws Exception {
    Set<String> before = DatabaseObjects.of(db);
    assertThatThrownBy(
            () ->
                engine.apply(
                    definition(
                        "st", "WITH gone AS (DELETE FROM orders RETURNING id) SELECT id FROM gone"),
                    OWNER))
        .isInstanceOfSatisfying(
            EngineException.class, e -> assertThat(e.reason()).isEqualTo(Reason.InvalidQuery))
        .hasMessageContaining("data-modifying statements in WITH");
    assertThat(db.queryLong("SELECT count(*) FROM orders")).isEqualTo(2);
    assertThat(DatabaseObjects.of(db)).isEqualTo(before);
  }

  @Test
  void statementsThatAreNotQueriesAreRefused() throws Exception {
    for (String notAQuery :
        new String[] {"DROP TABLE victim", "INSERT INTO victim VALUES (1) RETURNING x"}) {
      assertThatThrownBy(() -> engine.apply(definition("st", notAQuery), OWNER))
          .isInstanceOfSatisfying(
              EngineException.class, e -> assertThat(e.reason()).isEqualTo(Reason.InvalidQuery))
          .hasMessageContaining("syntax error");
    }
    assertThat(db.queryLong("SELECT count(*) FROM victim")).isZero();
  }

  @Test
  void aQueryRoleLimitsWhatStreamTablesRead() throws Exception {
    String reader = "reader_" + db.name();
    db.execute(
        "CREATE TABLE secrets (id int PRIMARY KEY, secret text)",
        "INSERT INTO secrets VALUES (1, 'hunter2')",
        "CREATE ROLE " + reader + " NOLOGIN",
        "GRANT USAGE ON SCHEMA public TO " + reader,
        "GRANT SELECT ON orders TO " + reader);
    StreamTableEngine limited = engine(db, reader);

    limited.apply(definition("allowed", "SELECT id, amount FROM orders"), OWNER);
    assertThat(db.queryLong("SELECT count(*) FROM allowed")).isEqualTo(2);
    assertThat(
            db.queryString(
                "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid ="
                    + " (SELECT to_regclass(format('pgtrickle.pgt_query_%s', id))"
                    + " FROM pgtrickle.pgt_stream_tables WHERE st_name = 'allowed')"))
        .isEqualTo(reader);
    assertThat(
            db.queryString(
                "SELECT has_schema_privilege('" + reader + "', 'pgtrickle', 'CREATE')::text"))
        .isEqualTo("false");

    Set<String> before = DatabaseObjects.of(db);
    assertThatThrownBy(
            () -> limited.apply(definition("stolen", "SELECT id, secret FROM secrets"), OWNER))
        .isInstanceOfSatisfying(
            EngineException.class, e -> assertThat(e.reason()).isEqualTo(Reason.InvalidQuery))
        .hasMessageContaining("permission denied for table secrets")
        .hasMessageContaining("queryRole " + reader);
    assertThat(DatabaseObjects.of(db)).isEqualTo(before);

    // The refresh reads with the role's rights too.
    db.execute("INSERT INTO orders VALUES (3, 30)");
    limited.refresh("public", "allowed");
    assertThat(db.queryLong("SELECT count(*) FROM allowed")).isEqualTo(3);
  }

  @Test
  void aMissingQueryRoleIsAPrerequisite() throws Exception {
    StreamTableEngine limited = engine(db, "no_such_role");
    Set<String> before = DatabaseObjects.of(db);
    assertThatThrownBy(() -> limited.apply(definition("st", "SELECT id FROM orders"), OWNER))
        .isInstanceOfSatisfying(
            EngineException.class,
            e -> assertThat(e.reason()).isEqualTo(Reason.PrerequisitesMissing))
        .hasMessageContaining("queryRole \"no_such_role\" does not exist");
    assertThat(DatabaseObjects.of(db)).isEqualTo(before);
  }
}
