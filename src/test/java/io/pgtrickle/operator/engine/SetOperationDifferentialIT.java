package io.pgtrickle.operator.engine;

import static io.pgtrickle.operator.engine.EngineTestSupport.OWNER;
import static io.pgtrickle.operator.engine.EngineTestSupport.differential;
import static io.pgtrickle.operator.engine.EngineTestSupport.engine;
import static io.pgtrickle.operator.engine.EngineTestSupport.lastMode;
import static io.pgtrickle.operator.engine.EngineTestSupport.lastReason;
import static io.pgtrickle.operator.engine.EngineTestSupport.refreshEachBatchDifferentially;
import static io.pgtrickle.operator.engine.EngineTestSupport.refreshEachBatchUntilExactDifferentially;
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
 * {@code A EXCEPT B} and {@code A INTERSECT B} whose B is an inner join of tables: written as A
 * with a [NOT] EXISTS over B's tables, renamed, they stay DIFFERENTIAL when B's tables change (read
 * as a subquery, B's tables froze and such a refresh ran FULL). After each batch of changes the
 * table equals its query and the refresh that ran was DIFFERENTIAL.
 */
class SetOperationDifferentialIT {
  private TestDatabase db;
  private StreamTableEngine engine;

  @BeforeEach
  void setUp() throws Exception {
    db = TestPostgres.freshDatabase();
    db.execute(
        "CREATE TABLE customers (id int PRIMARY KEY, region text, vip boolean)",
        "CREATE TABLE orders (id int PRIMARY KEY, customer_id int, amount numeric(12,2),"
            + " note text)",
        "CREATE TABLE items (order_id int, sku text, qty int)", // no key: duplicates allowed
        "CREATE TABLE \"Stock Items\" (\"Sku\" text, \"Qty\" int, order_id int)",
        "INSERT INTO customers SELECT g, CASE WHEN g % 5 = 0 THEN NULL ELSE 'r' || (g % 3) END,"
            + " g % 2 = 0 FROM generate_series(1, 20) g",
        "INSERT INTO orders SELECT g, g % 20 + 1, (g * 7 % 100) + 0.25,"
            + " CASE WHEN g % 4 = 0 THEN NULL ELSE 's' || (g % 7) END FROM generate_series(1, 200) g",
        "INSERT INTO items SELECT g % 200 + 1, CASE WHEN g % 9 = 0 THEN NULL ELSE 's' || (g % 7)"
            + " END, g % 5 FROM generate_series(1, 400) g",
        "INSERT INTO items SELECT order_id, sku, qty FROM items WHERE order_id < 20",
        "INSERT INTO \"Stock Items\" SELECT CASE WHEN g % 6 = 0 THEN NULL ELSE 's' || (g % 7)"
            + " END, g % 5, g % 200 + 1 FROM generate_series(1, 150) g");
    engine = engine(db);
  }

  /**
   * Each batch changes one table (items, customers, orders, "Stock Items"), then all at once, then
   * deletes rows of B's tables so that rows of an EXCEPT come back: for each query some batches
   * change only A's tables, some only B's, some both (orders, items and customers are read on both
   * sides by some). Updates change join keys and compared columns, to and from NULL.
   */
  @ParameterizedTest
  @ValueSource(
      strings = {
        // B over two tables, one of them A's own (under the same name); NULLs compared
        "SELECT customer_id, note FROM orders EXCEPT SELECT o.customer_id, i.sku FROM orders o"
            + " JOIN items i ON i.order_id = o.id WHERE i.qty > 2",
        "SELECT c.id, c.region FROM customers c INTERSECT SELECT o.customer_id, c2.region"
            + " FROM orders o, customers c2 WHERE c2.id = o.customer_id AND o.amount > 50",
        // B over three tables: JOIN ... ON, and comma joins with the conditions in WHERE
        "SELECT o.id, o.note FROM orders o WHERE o.amount > 20 EXCEPT SELECT o.id, o.note"
            + " FROM orders o JOIN items i ON i.order_id = o.id JOIN customers c"
            + " ON c.id = o.customer_id WHERE c.vip AND i.qty >= 2",
        "SELECT region, vip FROM customers INTERSECT SELECT c.region, c.vip FROM customers c,"
            + " orders o, items i WHERE o.customer_id = c.id AND i.order_id = o.id AND i.sku = 's1'",
        // duplicates in A and B (items has no key); A read by B too
        "SELECT order_id, sku FROM items EXCEPT SELECT i.order_id, i.sku FROM items i"
            + " JOIN orders o ON o.id = i.order_id WHERE o.amount > 60",
        "SELECT sku, qty FROM items INTERSECT SELECT i.sku, i.qty FROM items i CROSS JOIN"
            + " customers c WHERE c.id = i.qty * 4 AND c.vip",
        // quoted names in B, unqualified columns (each in one of B's tables)
        "SELECT sku, qty FROM items EXCEPT SELECT \"Sku\", \"Qty\" FROM \"Stock Items\" s"
            + " JOIN orders o ON o.id = s.order_id WHERE note IS NOT NULL",
        // A a join too
        "SELECT o.customer_id, c.region FROM orders o JOIN customers c ON c.id = o.customer_id"
            + " EXCEPT SELECT c.id, c.region FROM customers c JOIN orders o ON o.customer_id = c.id"
            + " JOIN items i ON i.order_id = o.id WHERE i.qty = 0"
      })
  void exceptAndIntersectOverJoinsStayDifferentialWhenEitherSideChanges(String query)
      throws Exception {
    engine.apply(StreamTableDefinition.from(differential("setop", query)), OWNER);
    assertMatchesQuery(db, "setop", query);
    String[][] batches = {
      {
        "INSERT INTO items SELECT 1001, 's1', 3 FROM generate_series(1, 3)",
        "INSERT INTO items SELECT order_id, NULL, qty FROM items WHERE order_id % 13 = 0",
        "UPDATE items SET qty = (qty + 2) % 5 WHERE order_id % 6 = 0",
        "UPDATE items SET order_id = order_id + 1 WHERE order_id % 17 = 0", // join key
        "DELETE FROM items WHERE order_id % 11 = 0"
      },
      {
        "UPDATE customers SET vip = NOT vip WHERE id % 3 = 0",
        "UPDATE customers SET region = NULL WHERE id % 4 = 1",
        "UPDATE customers SET id = id + 100 WHERE id = 7", // key
        "INSERT INTO customers VALUES (21, 'r9', true), (22, NULL, false)"
      },
      {
        "INSERT INTO orders VALUES (1001, 3, 99.5, 's1'), (1002, 21, 5, NULL), (1003, 22, 60, 's2')",
        "UPDATE orders SET customer_id = customer_id % 7 + 1, note = NULL WHERE id % 5 = 0",
        "UPDATE orders SET id = id + 500 WHERE id % 19 = 0", // key, matched by items
        "UPDATE orders SET amount = amount + 40 WHERE id % 9 = 0",
        "DELETE FROM orders WHERE id % 23 = 0"
      },
      {
        "UPDATE \"Stock Items\" SET \"Sku\" = NULL WHERE \"Qty\" = 1",
        "UPDATE \"Stock Items\" SET order_id = order_id + 1 WHERE \"Qty\" = 2",
        "INSERT INTO \"Stock Items\" VALUES ('s3', 3, 1001), ('s3', 3, 1001), (NULL, NULL, 5)"
      },
      {
        "INSERT INTO orders SELECT 2000 + g, g % 22 + 1, g * 3, 's' || (g % 4)"
            + " FROM generate_series(1, 30) g",
        "INSERT INTO items SELECT 2000 + g, 's' || (g % 4), g % 5 FROM generate_series(1, 30) g",
        "INSERT INTO customers VALUES (23, 'r1', true)",
        "INSERT INTO \"Stock Items\" SELECT 's' || (g % 4), g % 5, 2000 + g"
            + " FROM generate_series(1, 10) g",
        "DELETE FROM customers WHERE id = 2",
        "UPDATE orders SET note = 's' || (id % 3) WHERE id < 30",
        "UPDATE items SET sku = 's0' WHERE order_id BETWEEN 40 AND 60"
      },
      {
        // B's rows go: EXCEPT rows come back, INTERSECT rows go
        "DELETE FROM items WHERE qty > 2 AND order_id % 2 = 0",
        "DELETE FROM orders WHERE amount > 80",
        "DELETE FROM customers WHERE vip AND id > 10",
        "DELETE FROM \"Stock Items\" WHERE \"Qty\" > 2"
      }
    };
    refreshEachBatchDifferentially(engine, db, "setop", query, batches);
  }

  /**
   * Rows of an EXCEPT come back when their matches in B go (through either of B's tables), NULLs
   * matching NULLs, copies of A's row counting once; they go again when a match comes.
   */
  @Test
  void rowsOfAnExceptComeBackWhenTheirMatchesGoAndGoWhenTheyCome() throws Exception {
    db.execute(
        "CREATE TABLE a (k int, v text)",
        "CREATE TABLE b (k int, gid int)",
        "CREATE TABLE g (id int PRIMARY KEY, v text, live boolean)",
        "INSERT INTO a VALUES (1, 'x'), (2, NULL), (3, 'z'), (3, 'z'), (4, 'w')",
        "INSERT INTO b VALUES (1, 10), (2, 20), (4, 40)",
        "INSERT INTO g VALUES (10, 'x', true), (20, NULL, true), (40, 'w', true)");
    String query =
        "SELECT a.k, a.v FROM a EXCEPT SELECT b.k, g.v FROM b JOIN g ON g.id = b.gid WHERE g.live";
    engine.apply(StreamTableDefinition.from(differential("back", query)), OWNER);
    assertThat(rows("back")).isEqualTo("3:z");

    db.execute("DELETE FROM g WHERE id = 20"); // the NULL's match goes
    refreshDifferential("back", query);
    assertThat(rows("back")).isEqualTo("2:-,3:z");

    db.execute("UPDATE g SET live = false WHERE id = 10", "DELETE FROM b WHERE k = 4");
    refreshDifferential("back", query);
    assertThat(rows("back")).isEqualTo("1:x,2:-,3:z,4:w");

    db.execute(
        "INSERT INTO g VALUES (20, NULL, true)",
        "UPDATE g SET live = true",
        "DELETE FROM a WHERE ctid = (SELECT min(ctid) FROM a WHERE k = 3)");
    refreshDifferential("back", query);
    assertThat(rows("back")).isEqualTo("3:z,4:w");

    // key-changing updates on both sides in one refresh
    db.execute(
        "UPDATE b SET k = 3, gid = 30 WHERE k = 1",
        "INSERT INTO g VALUES (30, 'z', true)",
        "UPDATE a SET k = 5 WHERE k = 4");
    refreshDifferential("back", query);
    assertThat(rows("back")).isEqualTo("1:x,5:w");
  }

  /** One shape over WAL-captured sources: changes to A's table and to each of B's. */
  @Test
  void anExceptOverAJoinStaysDifferentialOverWal() throws Exception {
    db.execute(
        "ALTER TABLE customers REPLICA IDENTITY FULL",
        "ALTER TABLE orders REPLICA IDENTITY FULL",
        "ALTER TABLE items REPLICA IDENTITY FULL");
    String query =
        "SELECT customer_id, note FROM orders EXCEPT SELECT c.id, i.sku FROM customers c"
            + " JOIN orders o ON o.customer_id = c.id JOIN items i ON i.order_id = o.id"
            + " WHERE c.vip AND i.qty > 1";
    StreamTableSpec spec = differential("walset", query);
    spec.setCdcMode(CdcModeSpec.WAL);
    try {
      engine.apply(StreamTableDefinition.from(spec), OWNER);
      String[][] batches = {
        {"UPDATE orders SET note = 's1' WHERE id % 7 = 0", "DELETE FROM orders WHERE id % 13 = 0"},
        {"UPDATE customers SET vip = NOT vip WHERE id % 3 = 0"},
        {
          "UPDATE items SET qty = 4 - qty WHERE order_id % 5 = 1", "DELETE FROM items WHERE qty = 3"
        },
        {
          "INSERT INTO orders VALUES (1001, 2, 10, 's2')",
          "INSERT INTO items VALUES (1001, 's2', 4)",
          "UPDATE customers SET vip = true WHERE id = 2"
        }
      };
      refreshEachBatchUntilExactDifferentially(engine, db, "walset", query, batches);
    } finally {
      db.dropReplicationSlots();
    }
  }

  private void refreshDifferential(String name, String query) throws Exception {
    assertThat(engine.refresh("public", name).kind()).isEqualTo(RefreshOutcome.Kind.APPLIED);
    assertMatchesQuery(db, name, query);
    assertThat(lastMode(db, name)).as(lastReason(db, name)).isEqualTo("DIFFERENTIAL");
  }

  /** The table's rows as {@code k:v} (NULL as -), sorted, comma-separated. */
  private String rows(String name) throws Exception {
    return db.queryString(
        "SELECT string_agg(k || ':' || coalesce(v, '-'), ',' ORDER BY k, v) FROM public." + name);
  }
}
