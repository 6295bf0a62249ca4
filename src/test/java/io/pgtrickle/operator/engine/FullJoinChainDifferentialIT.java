package io.pgtrickle.operator.engine;

import static io.pgtrickle.operator.engine.EngineTestSupport.OWNER;
import static io.pgtrickle.operator.engine.EngineTestSupport.differential;
import static io.pgtrickle.operator.engine.EngineTestSupport.engine;
import static io.pgtrickle.operator.engine.EngineTestSupport.lastMode;
import static io.pgtrickle.operator.engine.EngineTestSupport.lastReason;
import static io.pgtrickle.operator.engine.EngineTestSupport.refreshUntilExact;
import static io.pgtrickle.operator.engine.EngineTestSupport.spec;
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
 * Chains of outer joins ending in a FULL JOIN ({@code a FULL JOIN b ON p FULL JOIN c ON q}, {@code
 * a LEFT JOIN b ON p FULL JOIN c ON q}, longer ones), maintained differentially: after each batch
 * of changes the table equals its query and the refresh that ran was DIFFERENTIAL.
 */
class FullJoinChainDifferentialIT {
  private TestDatabase db;
  private StreamTableEngine engine;

  @BeforeEach
  void setUp() throws Exception {
    db = TestPostgres.freshDatabase();
    db.execute(
        "CREATE TABLE a (id int PRIMARY KEY, k int, x text)",
        "CREATE TABLE b (id int PRIMARY KEY, k int, y text)",
        "CREATE TABLE c (id int PRIMARY KEY, k int, z text)",
        // NULL keys, duplicate keys (several matches), keys on one side only
        "INSERT INTO a VALUES (1, 1, 'a1'), (2, 2, 'a2'), (3, 2, 'a3'), (4, NULL, 'an'),"
            + " (5, 5, 'a5'), (6, 7, NULL), (7, 9, 'a9')",
        "INSERT INTO b VALUES (1, 1, 'b1'), (2, 2, 'b2'), (3, 3, 'b3'), (4, NULL, 'bn'),"
            + " (5, 3, 'b3b'), (6, 8, 'b8'), (7, 9, NULL)",
        "INSERT INTO c VALUES (1, 1, 'c1'), (2, 3, 'c3'), (3, 3, 'c3b'), (4, NULL, 'cn'),"
            + " (5, 4, 'c4'), (6, 7, 'c7'), (7, 8, 'c8')");
    engine = engine(db);
  }

  /**
   * Batches that change one table, two, and all three: rows that gain and lose their only match in
   * one refresh, key-changing updates (to and from NULL), a row deleted and inserted again,
   * duplicates of keys.
   */
  private static final String[][] BATCHES = {
    {"UPDATE c SET k = 2 WHERE id = 1"}, // c1 leaves 1 for 2
    {"UPDATE a SET k = 3 WHERE id = 1", "DELETE FROM a WHERE id = 5"},
    {"UPDATE b SET k = NULL WHERE id = 2", "INSERT INTO b VALUES (8, 5, 'b5'), (9, 4, 'b4')"},
    {
      // a and b: b's key 1 loses its only match in a and gains one in the same refresh
      "DELETE FROM a WHERE id = 1",
      "INSERT INTO a VALUES (1, 1, 'a1')",
      "UPDATE a SET k = 8 WHERE id = 6",
      "UPDATE b SET k = 1 WHERE id = 3"
    },
    {
      // all three: deletes and re-inserts, keys moved, NULLs
      "DELETE FROM a WHERE id = 2",
      "INSERT INTO a VALUES (2, 2, 'a2')",
      "UPDATE a SET k = NULL WHERE id = 3",
      "UPDATE b SET k = 7 WHERE id = 6",
      "DELETE FROM b WHERE id = 1",
      "INSERT INTO c VALUES (8, 5, 'c5'), (9, 5, 'c5b')",
      "UPDATE c SET k = 9 WHERE id = 5",
      "DELETE FROM c WHERE id = 4"
    },
    {
      // a key's only matches go on every side at once, and come back under another key
      "UPDATE a SET k = 20 WHERE k = 9",
      "UPDATE b SET k = 20 WHERE k = 9",
      "UPDATE c SET k = 21 WHERE k = 9"
    },
    {"DELETE FROM c", "INSERT INTO c VALUES (10, 2, 'c2'), (11, NULL, NULL), (12, 20, 'c20')"},
    {"DELETE FROM b WHERE k IS NOT NULL", "DELETE FROM a WHERE k = 2"},
    {
      "INSERT INTO a VALUES (10, 2, 'a2x'), (11, 21, 'a21')",
      "INSERT INTO b VALUES (10, 2, 'b2x'), (11, 21, 'b21'), (12, 21, 'b21b')",
      "UPDATE c SET z = 'c2!' WHERE k = 2"
    }
  };

  @ParameterizedTest
  @ValueSource(
      strings = {
        // merging metric tables by key
        "SELECT coalesce(a.k, b.k, c.k) AS k, a.x, b.y, c.z FROM a FULL JOIN b ON a.k = b.k"
            + " FULL JOIN c ON coalesce(a.k, b.k) = c.k",
        "SELECT a.id, b.id AS bid, c.id AS cid FROM a FULL JOIN b ON b.k = a.k"
            + " FULL JOIN c ON c.k = b.k AND c.z IS NOT NULL WHERE coalesce(a.k, b.k, c.k) <> 7",
        "SELECT a.id, b.id AS bid, c.id AS cid, b.y FROM a LEFT JOIN b ON b.k = a.k"
            + " FULL JOIN c ON c.k = a.k",
        "SELECT a.x, b.y, c.z FROM a LEFT JOIN b ON b.k = a.k AND b.y <> 'b3'"
            + " FULL JOIN c ON c.k = coalesce(b.k, a.k)",
        "SELECT a.id, b.id AS bid, c.id AS cid FROM a FULL JOIN b ON b.k = a.k"
            + " LEFT JOIN c ON c.k = b.k",
        // four: a chain of three FULL JOINs (c read twice), and one with a LEFT JOIN inside
        "SELECT a.id, b.id AS bid, c.id AS cid, c2.id AS c2id FROM a FULL JOIN b ON b.k = a.k"
            + " FULL JOIN c ON c.k = b.k FULL JOIN c c2 ON c2.k = coalesce(a.k, c.k)",
        "SELECT a.id, b.id AS bid, c.id AS cid, a2.id AS a2id FROM a FULL JOIN b ON b.k = a.k"
            + " LEFT JOIN c ON c.k = a.k FULL JOIN a a2 ON a2.k = c.k",
        // a join tree first, an inner join after the chain
        "SELECT a.id, a2.id AS a2id, b.id AS bid, c.id AS cid FROM a JOIN a a2 ON a2.id = a.id + 1"
            + " FULL JOIN b ON b.k = a.k FULL JOIN c ON c.k = coalesce(a2.k, b.k)",
        "SELECT a.id, b.id AS bid, c.id AS cid, c2.z FROM a FULL JOIN b ON b.k = a.k"
            + " FULL JOIN c ON c.k = b.k JOIN c c2 ON c2.id = coalesce(c.id, 11)",
        // grouped over the chain
        "SELECT coalesce(a.k, b.k, c.k) AS k, count(*) AS n, count(c.id) AS nc, sum(a.id) AS sa"
            + " FROM a FULL JOIN b ON a.k = b.k FULL JOIN c ON coalesce(a.k, b.k) = c.k"
            + " GROUP BY coalesce(a.k, b.k, c.k)",
        "SELECT DISTINCT b.k, c.z FROM a LEFT JOIN b ON b.k = a.k FULL JOIN c ON c.k = b.k",
        // a LEFT JOIN after the chain and a sublink: their terms read the chain as it was (true
        // bags, by key)
        "SELECT a.id, b.id AS bid, c.id AS cid, b2.y FROM a FULL JOIN b ON b.k = a.k"
            + " FULL JOIN c ON c.k = coalesce(a.k, b.k) LEFT JOIN b b2 ON b2.k = c.k",
        "SELECT a.id, b.id AS bid, c.id AS cid FROM a LEFT JOIN b ON b.k = a.k"
            + " FULL JOIN c ON c.k = a.k WHERE NOT EXISTS (SELECT 1 FROM c c3 WHERE c3.k = b.k)"
            + " AND coalesce(a.id, 0) - 5 < (SELECT count(*) FROM a a3 WHERE a3.k >= c.k)"
      })
  void chainsStayDifferentialWhateverTablesChange(String query) throws Exception {
    engine.apply(StreamTableDefinition.from(differential("chain", query)), OWNER);
    assertMatchesQuery(db, "chain", query);
    for (String[] batch : BATCHES) {
      db.execute(batch);
      assertThat(engine.refresh("public", "chain").kind()).isEqualTo(RefreshOutcome.Kind.APPLIED);
      assertMatchesQuery(db, "chain", query);
      assertThat(lastMode(db, "chain")).as(lastReason(db, "chain")).isEqualTo("DIFFERENTIAL");
    }
  }

  /**
   * The same over WAL capture (behind the write barrier, as every form reading a table's state).
   */
  @Test
  void aChainStaysDifferentialOverWal() throws Exception {
    db.execute(
        "ALTER TABLE a REPLICA IDENTITY FULL",
        "ALTER TABLE b REPLICA IDENTITY FULL",
        "ALTER TABLE c REPLICA IDENTITY FULL");
    String query =
        "SELECT coalesce(a.k, b.k, c.k) AS k, a.x, b.y, c.z FROM a FULL JOIN b ON a.k = b.k"
            + " FULL JOIN c ON coalesce(a.k, b.k) = c.k";
    String left =
        "SELECT a.id, b.id AS bid, c.id AS cid FROM a LEFT JOIN b ON b.k = a.k"
            + " FULL JOIN c ON c.k = a.k";
    for (String name : new String[] {"walchain", "walleft"}) {
      StreamTableSpec spec = differential(name, name.equals("walchain") ? query : left);
      spec.setCdcMode(CdcModeSpec.WAL);
      engine.apply(StreamTableDefinition.from(spec), OWNER);
    }
    try {
      for (String[] batch : BATCHES) {
        db.execute(batch);
        refreshUntilExact(engine, db, "walchain", query);
        assertThat(lastMode(db, "walchain"))
            .as(lastReason(db, "walchain"))
            .isEqualTo("DIFFERENTIAL");
        refreshUntilExact(engine, db, "walleft", left);
        assertThat(lastMode(db, "walleft")).as(lastReason(db, "walleft")).isEqualTo("DIFFERENTIAL");
      }
    } finally {
      db.dropReplicationSlots();
    }
  }

  /**
   * Without primary keys the chain itself stays DIFFERENTIAL (its rule reads no table as a true
   * bag); a chain's table changed with another outer join's (a LEFT JOIN after it) must be read as
   * it was, as a true bag, and without a key that refresh runs FULL, saying why.
   */
  @Test
  void keylessTablesStayDifferentialUntilATrueBagIsNeeded() throws Exception {
    db.execute(
        "CREATE TABLE ka (k int, x text)",
        "CREATE TABLE kb (k int, y text)",
        "CREATE TABLE kc (k int, z text)",
        "INSERT INTO ka VALUES (1, 'a'), (1, 'a'), (2, 'b'), (NULL, 'n')",
        "INSERT INTO kb VALUES (1, 'x'), (3, 'y'), (3, 'y'), (NULL, NULL)",
        "INSERT INTO kc VALUES (1, 'p'), (2, 'q'), (4, 'r'), (4, 'r')");
    String query =
        "SELECT ka.x, kb.y, kc.z, c.id FROM ka FULL JOIN kb ON kb.k = ka.k"
            + " FULL JOIN kc ON kc.k = coalesce(ka.k, kb.k) LEFT JOIN c ON c.k = kc.k";
    engine.apply(StreamTableDefinition.from(spec("keyless", query)), OWNER);
    String[][] batches = {
      {"DELETE FROM ka WHERE x = 'b'", "INSERT INTO kb VALUES (2, 'z'), (1, 'x')"},
      {"UPDATE kc SET k = 3 WHERE z = 'q'", "INSERT INTO ka VALUES (4, 'd'), (4, 'd')"},
      {"DELETE FROM kb", "DELETE FROM kc WHERE k = 1", "INSERT INTO kb VALUES (1, 'x')"}
    };
    for (String[] batch : batches) {
      db.execute(batch);
      engine.refresh("public", "keyless");
      assertMatchesQuery(db, "keyless", query);
      assertThat(lastMode(db, "keyless")).as(lastReason(db, "keyless")).isEqualTo("DIFFERENTIAL");
    }
    // A keyless chain table and c (after the chain) changed in one refresh.
    db.execute("INSERT INTO ka VALUES (7, 'g')", "UPDATE c SET k = 4 WHERE id = 7");
    engine.refresh("public", "keyless");
    assertMatchesQuery(db, "keyless", query);
    assertThat(lastMode(db, "keyless")).isEqualTo("FULL");
    assertThat(lastReason(db, "keyless"))
        .contains("chain of outer joins")
        .contains("has no primary key");
    // With keys, the same kind of refresh is DIFFERENTIAL.
    String keyed =
        "SELECT a.x, b.y, c.z, c2.id FROM a FULL JOIN b ON b.k = a.k"
            + " FULL JOIN c ON c.k = coalesce(a.k, b.k) LEFT JOIN c c2 ON c2.k = a.id";
    engine.apply(StreamTableDefinition.from(spec("keyed", keyed)), OWNER);
    db.execute("INSERT INTO a VALUES (12, 7, 'g')", "UPDATE c SET k = 4 WHERE id = 7");
    engine.refresh("public", "keyed");
    assertMatchesQuery(db, "keyed", keyed);
    assertThat(lastMode(db, "keyed")).as(lastReason(db, "keyed")).isEqualTo("DIFFERENTIAL");
  }
}
