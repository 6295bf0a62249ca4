package io.pgtrickle.operator.engine;

import static io.pgtrickle.operator.engine.EngineTestSupport.OWNER;
import static io.pgtrickle.operator.engine.EngineTestSupport.differential;
import static io.pgtrickle.operator.engine.EngineTestSupport.engine;
import static io.pgtrickle.operator.engine.EngineTestSupport.lastMode;
import static io.pgtrickle.operator.engine.EngineTestSupport.lastReason;
import static io.pgtrickle.operator.engine.EngineTestSupport.refreshEachBatchDifferentially;
import static io.pgtrickle.operator.engine.EngineTestSupport.refreshEachBatchUntilExactDifferentially;
import static io.pgtrickle.operator.testing.StreamTableAssertions.assertMatchesQuery;
import static org.assertj.core.api.Assertions.assertThat;

import io.pgtrickle.operator.api.CdcModeSpec;
import io.pgtrickle.operator.api.StreamTableSpec;
import io.pgtrickle.operator.testing.TestDatabase;
import io.pgtrickle.operator.testing.TestPostgres;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Scalar subqueries of min/max correlated by equalities (the latest version per key, TPC-H q2's
 * cheapest supplier): joined as grouped blocks in FROM, they stay DIFFERENTIAL when their tables
 * change (as subqueries of an expression their tables froze and such a refresh ran FULL). After
 * each batch of changes the table equals its query and the refresh that ran was DIFFERENTIAL.
 */
class ScalarSubqueryDifferentialIT {
  private TestDatabase db;
  private StreamTableEngine engine;

  @BeforeEach
  void setUp() throws Exception {
    db = TestPostgres.freshDatabase();
    db.execute(
        // id may be NULL (a NULL correlation key); (id, version) may repeat (ties)
        "CREATE TABLE versions (vid serial PRIMARY KEY, id int, version int, payload text)",
        "INSERT INTO versions (id, version, payload) SELECT g % 30, g % 7,"
            + " CASE WHEN g % 5 = 0 THEN 'x' ELSE 'p' || g END FROM generate_series(1, 300) g",
        "INSERT INTO versions (id, version, payload) VALUES (NULL, 3, 'n1'), (NULL, 9, 'n2')",
        "CREATE TABLE region (r_regionkey int PRIMARY KEY, r_name text)",
        "CREATE TABLE nation (n_nationkey int PRIMARY KEY, n_name text, n_regionkey int)",
        "CREATE TABLE supplier (s_suppkey int PRIMARY KEY, s_name text, s_nationkey int,"
            + " s_acctbal numeric(12,2))",
        "CREATE TABLE part (p_partkey int PRIMARY KEY, p_size int, p_type text)",
        "CREATE TABLE partsupp (ps_partkey int, ps_suppkey int, ps_supplycost numeric(12,2),"
            + " PRIMARY KEY (ps_partkey, ps_suppkey))",
        "INSERT INTO region VALUES (0, 'EUROPE'), (1, 'ASIA')",
        "INSERT INTO nation SELECT g, 'n' || g, g % 2 FROM generate_series(0, 5) g",
        "INSERT INTO supplier SELECT g, 's' || g, g % 6, g * 10 FROM generate_series(1, 12) g",
        "INSERT INTO part SELECT g, g % 3, CASE WHEN g % 4 = 0 THEN 'COPPER' ELSE 'BRASS' END"
            + " FROM generate_series(1, 40) g",
        "INSERT INTO partsupp SELECT p, s, ((p * 7 + s * 13) % 20) + 1 FROM generate_series(1, 40)"
            + " p, generate_series(1, 12) s WHERE (p + s) % 3 = 0");
    engine = engine(db);
  }

  /**
   * Batches on versions: new maxima, the current max (and min) deleted so the group's value falls
   * back to the next, ties, rows moved from one id to another, to and from a NULL id, and rows of
   * part changed with them.
   */
  @ParameterizedTest
  @ValueSource(
      strings = {
        // The latest version per id
        "SELECT v.vid, v.id, v.version, v.payload FROM versions v WHERE v.version ="
            + " (SELECT max(v2.version) FROM versions v2 WHERE v2.id = v.id)",
        // One table outside: PostgreSQL prints its columns unqualified
        "SELECT id, version FROM versions WHERE version >= (SELECT max(v2.version) - 2 FROM"
            + " versions v2 WHERE v2.id = versions.id)",
        // min, the subquery on the left, an equality written outer = inner, a filter inside
        "SELECT v.vid, v.payload FROM versions v WHERE (SELECT min(v2.version) + 1 FROM versions"
            + " v2 WHERE v.id = v2.id AND v2.payload <> 'x') <= v.version",
        // an int subquery compared with a numeric: PostgreSQL casts the sublink
        "SELECT v.vid, v.version FROM versions v WHERE (SELECT 2 * max(v2.version) FROM versions"
            + " v2 WHERE v.id = v2.id) < v.version * 2.5",
        // joined with another table, correlated with that table's column; two correlations
        "SELECT p.p_partkey, v.vid FROM part p JOIN versions v ON v.id = p.p_partkey"
            + " WHERE v.version > (SELECT avg(v2.version) * 0 + max(v2.version) - 3 FROM versions"
            + " v2 WHERE v2.id = p.p_partkey AND v2.payload = v.payload)"
      })
  void theLatestVersionPerKeyStaysDifferential(String query) throws Exception {
    engine.apply(StreamTableDefinition.from(differential("latest", query)), OWNER);
    assertMatchesQuery(db, "latest", query);
    String[][] batches = {
      {
        "INSERT INTO versions (id, version, payload) SELECT g, 8, 'new' FROM generate_series(1, 10) g"
      },
      {"DELETE FROM versions WHERE version = 8"}, // back to the previous maxima
      {
        "DELETE FROM versions v WHERE id % 4 = 0 AND version = (SELECT max(version) FROM versions"
            + " w WHERE w.id = v.id)"
      },
      {
        "DELETE FROM versions v WHERE id % 5 = 1 AND version = (SELECT min(version) FROM versions"
            + " w WHERE w.id = v.id)"
      },
      {
        // ties at the max
        "INSERT INTO versions (id, version, payload) SELECT id, max(version), 'tie' FROM versions"
            + " WHERE id % 3 = 0 GROUP BY id"
      },
      {"UPDATE versions SET id = id + 1 WHERE vid % 9 = 0"}, // rows move between ids
      {"UPDATE versions SET id = NULL WHERE vid % 11 = 0"},
      {"UPDATE versions SET id = 7, version = 20 WHERE id IS NULL AND vid % 2 = 0"},
      {"UPDATE versions SET version = version + 1, payload = 'x' WHERE vid % 8 = 3"},
      {
        "INSERT INTO versions (id, version, payload) VALUES (NULL, 50, 'n3'), (100, 1, 'lone')",
        "UPDATE part SET p_partkey = p_partkey + 100 WHERE p_partkey % 6 = 0",
        "DELETE FROM versions WHERE id = 2"
      },
      {"DELETE FROM versions WHERE id % 2 = 0"}
    };
    refreshEachBatchDifferentially(engine, db, "latest", query, batches);
  }

  /** TPC-H q2's shape: the cheapest European supplier per part, over a join inside the subquery. */
  @Test
  void theCheapestSupplierPerPartStaysDifferentialWhenAnyOfItsTablesChange() throws Exception {
    String query =
        "SELECT s.s_acctbal, s.s_name, n.n_name, p.p_partkey, ps.ps_supplycost FROM part p,"
            + " supplier s, partsupp ps, nation n, region r WHERE p.p_partkey = ps.ps_partkey"
            + " AND s.s_suppkey = ps.ps_suppkey AND p.p_size = 1 AND p.p_type LIKE '%BRASS'"
            + " AND s.s_nationkey = n.n_nationkey AND n.n_regionkey = r.r_regionkey AND"
            + " r.r_name = 'EUROPE' AND ps.ps_supplycost = (SELECT min(ps_supplycost) FROM"
            + " partsupp, supplier, nation, region WHERE p.p_partkey = ps_partkey AND s_suppkey"
            + " = ps_suppkey AND s_nationkey = n_nationkey AND n_regionkey = r_regionkey AND"
            + " r_name = 'EUROPE')";
    engine.apply(StreamTableDefinition.from(differential("q2", query)), OWNER);
    assertMatchesQuery(db, "q2", query);
    assertThat(db.queryString("SELECT count(*) FROM q2")).isNotEqualTo("0");
    String[][] batches = {
      {"UPDATE partsupp SET ps_supplycost = ps_supplycost - 5 WHERE ps_suppkey % 4 = 0"},
      {
        // the cheapest goes: the next cheapest (maybe a tie) takes its place
        "DELETE FROM partsupp ps WHERE ps_supplycost = (SELECT min(ps_supplycost) FROM partsupp"
            + " q WHERE q.ps_partkey = ps.ps_partkey) AND ps_partkey % 2 = 0"
      },
      {
        "UPDATE partsupp SET ps_partkey = ps_partkey + 1 WHERE ps_suppkey = 5 AND ps_partkey < 40"
            + " AND (ps_partkey + 1 + ps_suppkey) % 3 <> 0"
      },
      {"UPDATE nation SET n_regionkey = 1 - n_regionkey WHERE n_nationkey = 2"},
      {"UPDATE supplier SET s_nationkey = (s_nationkey + 1) % 6 WHERE s_suppkey % 5 = 0"},
      {"UPDATE region SET r_name = 'EUROPE' WHERE r_regionkey = 1"},
      {"UPDATE region SET r_name = 'ASIA' WHERE r_regionkey = 1"},
      {
        // the outer and inner tables in one refresh
        "UPDATE part SET p_size = 1 - p_size WHERE p_partkey % 7 < 2",
        "INSERT INTO partsupp SELECT p, 13, 1 FROM generate_series(1, 40) p WHERE p % 5 = 0",
        "INSERT INTO supplier VALUES (13, 's13', 0, 5)",
        "UPDATE partsupp SET ps_supplycost = ps_supplycost + 3 WHERE ps_partkey % 3 = 1"
      },
      {"DELETE FROM supplier WHERE s_suppkey = 13", "DELETE FROM part WHERE p_partkey % 8 = 1"}
    };
    refreshEachBatchDifferentially(engine, db, "q2", query, batches);
  }

  /**
   * Two subqueries, two grouped blocks: a refresh in which the tables of only one changed is
   * DIFFERENTIAL; one in which both changed runs FULL (the engine's rule for grouped blocks).
   */
  @Test
  void twoSubqueriesAreTwoBlocksWhichRunFullWhenBothChange() throws Exception {
    String query =
        "SELECT v.vid FROM versions v WHERE v.version = (SELECT max(v2.version) FROM versions"
            + " v2 WHERE v2.id = v.id) AND v.version > (SELECT min(p.p_size) - 2 FROM part p"
            + " WHERE p.p_partkey = v.id)";
    engine.apply(StreamTableDefinition.from(differential("two", query)), OWNER);
    refreshEachBatchDifferentially(
        engine,
        db,
        "two",
        query,
        new String[][] {
          {"UPDATE part SET p_size = p_size + 2 WHERE p_partkey % 3 = 0"},
          {
            "DELETE FROM versions WHERE version = 6",
            "UPDATE versions SET id = id + 1 WHERE vid % 9 = 0"
          }
        });
    db.execute(
        "UPDATE part SET p_size = 0 WHERE p_partkey % 4 = 0",
        "INSERT INTO versions (id, version) SELECT g, 8 FROM generate_series(1, 10) g");
    engine.refresh("public", "two");
    assertMatchesQuery(db, "two", query);
    assertThat(lastMode(db, "two")).isEqualTo("FULL");
    assertThat(lastReason(db, "two")).contains("grouped subquery");
  }

  /** The latest version per key over WAL-captured sources. */
  @Test
  void theLatestVersionPerKeyStaysDifferentialOverWal() throws Exception {
    db.execute("ALTER TABLE versions REPLICA IDENTITY FULL");
    String query =
        "SELECT v.vid, v.id, v.version FROM versions v WHERE v.version = (SELECT max(v2.version)"
            + " FROM versions v2 WHERE v2.id = v.id)";
    StreamTableSpec spec = differential("walmax", query);
    spec.setCdcMode(CdcModeSpec.WAL);
    try {
      engine.apply(StreamTableDefinition.from(spec), OWNER);
      String[][] batches = {
        {"INSERT INTO versions (id, version) SELECT g, 8 FROM generate_series(1, 10) g"},
        {"DELETE FROM versions WHERE version = 8"},
        {"UPDATE versions SET id = id + 1 WHERE vid % 9 = 0"},
        {"UPDATE versions SET id = NULL WHERE vid % 11 = 0"},
        {"INSERT INTO versions (id, version) SELECT id, max(version) FROM versions GROUP BY id"}
      };
      refreshEachBatchUntilExactDifferentially(engine, db, "walmax", query, batches);
    } finally {
      db.dropReplicationSlots();
    }
  }

  /**
   * Shapes left as written: an OR'd conjunct of max (its table frozen: a refresh in which it
   * changed runs FULL, saying why), and count (a sublink, DIFFERENTIAL as before).
   */
  @Test
  void shapesNotRewrittenBehaveAsBefore() throws Exception {
    String ored =
        "SELECT v.vid FROM versions v WHERE v.version = (SELECT max(v2.version) FROM versions v2"
            + " WHERE v2.id = v.id) OR v.id IS NULL";
    String counted =
        "SELECT v.vid FROM versions v WHERE v.version < (SELECT count(*) FROM versions v2"
            + " WHERE v2.id = v.id)";
    engine.apply(StreamTableDefinition.from(EngineTestSupport.spec("ored", ored)), OWNER);
    engine.apply(StreamTableDefinition.from(differential("counted", counted)), OWNER);
    db.execute("INSERT INTO versions (id, version) SELECT g, 8 FROM generate_series(1, 10) g");
    engine.refresh("public", "ored");
    engine.refresh("public", "counted");
    assertMatchesQuery(db, "ored", ored);
    assertMatchesQuery(db, "counted", counted);
    assertThat(lastMode(db, "ored")).isEqualTo("FULL");
    assertThat(lastReason(db, "ored")).contains("subquery of an expression");
    assertThat(lastMode(db, "counted")).as(lastReason(db, "counted")).isEqualTo("DIFFERENTIAL");
  }
}
