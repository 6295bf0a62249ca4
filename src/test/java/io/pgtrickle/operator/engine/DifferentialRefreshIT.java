package io.pgtrickle.operator.engine;

import static io.pgtrickle.operator.engine.EngineTestSupport.OWNER;
import static io.pgtrickle.operator.engine.EngineTestSupport.differential;
import static io.pgtrickle.operator.engine.EngineTestSupport.engine;
import static io.pgtrickle.operator.engine.EngineTestSupport.lastMode;
import static io.pgtrickle.operator.engine.EngineTestSupport.lastReason;
import static io.pgtrickle.operator.engine.EngineTestSupport.refreshEachBatchDifferentially;
import static io.pgtrickle.operator.engine.EngineTestSupport.spec;
import static io.pgtrickle.operator.testing.StreamTableAssertions.assertMatchesQuery;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgtrickle.operator.api.RefreshMode;
import io.pgtrickle.operator.api.StreamTableSpec;
import io.pgtrickle.operator.testing.DatabaseObjects;
import io.pgtrickle.operator.testing.TestDatabase;
import io.pgtrickle.operator.testing.TestPostgres;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Each shape of the differential class: after every batch of changes a DIFFERENTIAL refresh leaves
 * the table equal to its query, and the refresh really ran DIFFERENTIAL.
 */
class DifferentialRefreshIT {
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
        "INSERT INTO customers SELECT g, CASE WHEN g % 5 = 0 THEN NULL ELSE 'r' || (g % 3) END,"
            + " g % 2 = 0 FROM generate_series(1, 20) g",
        "INSERT INTO orders SELECT g, g % 20 + 1, (g * 7 % 100) + 0.25,"
            + " CASE WHEN g % 4 = 0 THEN NULL ELSE 'n' || g END FROM generate_series(1, 200) g",
        "INSERT INTO items SELECT g % 200 + 1, 's' || (g % 7), g % 5 FROM generate_series(1, 400) g",
        "INSERT INTO items SELECT order_id, sku, qty FROM items WHERE order_id < 20",
        "CREATE VIEW vip_customers AS SELECT id FROM customers WHERE vip");
    engine = engine(db);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        // filter and projection
        "SELECT id, amount * 2 AS doubled, coalesce(note, '-') AS note,"
            + " CASE WHEN amount > 50 THEN 'big' ELSE 'small' END AS size, amount::int AS whole"
            + " FROM orders WHERE amount > 10",
        // duplicates: a bag
        "SELECT sku, qty FROM items WHERE qty > 0",
        // inner joins, equi and non-equi, three tables
        "SELECT c.region, o.id, i.sku FROM customers c JOIN orders o ON o.customer_id = c.id"
            + " JOIN items i ON i.order_id = o.id WHERE i.qty >= 2",
        "SELECT c.id AS cid, o.id AS oid FROM customers c, orders o"
            + " WHERE o.amount < c.id AND o.customer_id <> c.id",
        // JOIN ... USING: the merged column printed qualified by its left table
        "SELECT id, o.amount, c.region FROM orders o JOIN customers c USING (id)"
            + " WHERE o.amount > 20",
        "SELECT order_id, sku, i.qty, j.qty AS q2 FROM items i JOIN items j USING (order_id, sku)"
            + " WHERE i.qty > j.qty",
        "SELECT sku, count(*) AS n, sum(o.amount) AS total FROM items i JOIN items j"
            + " USING (order_id, sku) JOIN orders o ON o.id = order_id GROUP BY sku",
        // outer joins with USING, read as their ON conditions; a chain whose merged column is
        // traced to the first table
        "SELECT id, o.amount, c.region FROM orders o LEFT JOIN customers c USING (id)"
            + " WHERE o.amount > 20",
        "SELECT id, c.region, o.amount FROM orders o RIGHT JOIN customers c USING (id)",
        "SELECT id, c.region, c2.vip FROM orders o JOIN customers c USING (id)"
            + " LEFT JOIN customers c2 USING (id)",
        "SELECT c.region, count(o.amount) AS n FROM customers c LEFT JOIN orders o USING (id)"
            + " GROUP BY c.region",
        // self-join
        "SELECT a.id AS a, b.id AS b FROM orders a JOIN orders b ON a.customer_id = b.customer_id"
            + " AND a.id < b.id WHERE a.amount > 90",
        // set operations and DISTINCT
        "SELECT customer_id FROM orders WHERE amount > 80 UNION ALL SELECT id FROM customers"
            + " WHERE vip",
        "SELECT customer_id FROM orders WHERE amount > 80 UNION SELECT id FROM customers WHERE vip",
        "SELECT DISTINCT region, vip FROM customers",
        "SELECT DISTINCT sku FROM items",
        // a sole GROUP BY key PostgreSQL prints in parentheses: GROUP BY (orders.amount % 5)
        "SELECT amount % 5 AS bucket, count(*) AS n, sum(amount) AS total FROM orders"
            + " GROUP BY amount % 5",
        "SELECT qty + 1 AS q FROM items GROUP BY qty + 1 HAVING count(*) > 1",
        // grouping, NULL keys, every algebraic aggregate
        "SELECT c.region, count(*) AS n, count(o.note) AS notes, sum(o.amount) AS total,"
            + " avg(o.amount) AS mean, min(o.amount) AS least, max(o.note) AS last,"
            + " bool_and(c.vip) AS all_vip, bool_or(o.amount > 90) AS any_big"
            + " FROM customers c JOIN orders o ON o.customer_id = c.id GROUP BY c.region",
        "SELECT sku, qty, sum(qty) * 2 AS twice, count(*) + 1 AS n1 FROM items GROUP BY sku, qty",
        "SELECT upper(region) AS r, count(*) AS n FROM customers GROUP BY upper(region)",
        // one group, also over no rows
        "SELECT count(*) AS n, sum(amount) AS total, min(id) AS first FROM orders WHERE amount > 98",
        // ... and when every change is filtered out (the corpus found it)
        "SELECT - count(*) + count(*) AS zero, count(*) AS n FROM items WHERE qty > 100",
        // recomputed groups: HAVING, count(DISTINCT x)
        "SELECT customer_id, sum(amount) AS total FROM orders GROUP BY customer_id"
            + " HAVING count(*) > 9",
        "SELECT sku, count(DISTINCT qty) AS qtys FROM items GROUP BY sku",
        // outer joins: a row padded when its last match goes, unpadded when one comes
        "SELECT o.id, c.region, c.vip FROM orders o LEFT JOIN customers c ON c.id = o.customer_id"
            + " WHERE o.amount > 30",
        "SELECT c.id, count(o.id) AS n, sum(o.amount) AS total FROM customers c"
            + " LEFT JOIN orders o ON o.customer_id = c.id AND o.amount > 50 GROUP BY c.id",
        "SELECT c.id, c.region FROM customers c LEFT JOIN orders o ON o.customer_id = c.id"
            + " WHERE o.id IS NULL",
        "SELECT o.id, i.sku, c.region FROM orders o JOIN items i ON i.order_id = o.id"
            + " LEFT JOIN customers c ON c.id = o.customer_id AND c.vip",
        "SELECT c.id, o.id AS oid, i.sku FROM customers c FULL JOIN orders o"
            + " ON o.customer_id = c.id LEFT JOIN items i ON i.order_id = o.id AND i.qty > 2",
        "SELECT c.region, count(o.id) AS n, count(*) AS all_rows FROM customers c FULL JOIN orders o"
            + " ON o.customer_id = c.id AND o.amount > 20 WHERE NOT EXISTS (SELECT 1 FROM items i"
            + " WHERE i.order_id = o.id AND i.qty = 4) GROUP BY c.region",
        // grouped subqueries in FROM (TPC-H q13's shape; a join with per-key aggregates)
        "SELECT t.n, count(*) AS customers FROM (SELECT c.id, count(o.id) AS n FROM customers c"
            + " LEFT JOIN orders o ON o.customer_id = c.id AND o.note IS NOT NULL GROUP BY c.id)"
            + " AS t (cid, n) GROUP BY t.n",
        "SELECT o.id, o.amount, t.total FROM orders o JOIN (SELECT customer_id, sum(amount) AS"
            + " total, count(*) AS k FROM orders GROUP BY customer_id HAVING count(*) > 3) t"
            + " ON t.customer_id = o.customer_id WHERE o.amount > 50",
        "SELECT t.region, t.n, c.vip FROM (SELECT c2.region, count(*) AS n, max(o.amount) AS top"
            + " FROM customers c2 JOIN orders o ON o.customer_id = c2.id GROUP BY c2.region) t"
            + " JOIN customers c ON c.region IS NOT DISTINCT FROM t.region AND c.id < 5",
        // LEFT JOIN of a grouped subquery: its groups recomputed, the padding they switch
        "SELECT c.id, c.region, t.total, t.n FROM customers c LEFT JOIN (SELECT customer_id,"
            + " sum(amount) AS total, count(*) AS n FROM orders GROUP BY customer_id) t"
            + " ON t.customer_id = c.id",
        "SELECT c.region, count(*) AS n, sum(t.total) AS total FROM customers c LEFT JOIN"
            + " (SELECT customer_id, sum(amount) AS total FROM orders WHERE note IS NOT NULL"
            + " GROUP BY customer_id HAVING count(*) > 8) t ON t.customer_id = c.id"
            + " WHERE t.customer_id IS NULL OR c.vip GROUP BY c.region",
        "SELECT o.id, c.region, t.top FROM orders o JOIN customers c ON c.id = o.customer_id"
            + " LEFT JOIN (SELECT o2.customer_id, max(o2.amount) AS top FROM orders o2"
            + " GROUP BY o2.customer_id) AS t (cid, top) ON t.cid = c.id AND t.top > o.amount + 20",
        "SELECT c.id, t.n FROM customers c LEFT JOIN (SELECT region, count(*) AS n"
            + " FROM customers GROUP BY region) t ON t.region = c.region",
        // LEFT JOIN of a plain subquery (one table, a join of a keyless table) or WITH query
        "SELECT c.id, c.region, s.amount FROM customers c LEFT JOIN (SELECT o.customer_id,"
            + " o.amount FROM orders o WHERE o.amount > 50) s ON s.customer_id = c.id",
        "SELECT c.id, s.sku, s.qty FROM customers c LEFT JOIN (SELECT o.customer_id, i.sku, i.qty"
            + " FROM orders o JOIN items i ON i.order_id = o.id WHERE i.qty > 2) AS s (cid, sku, qty)"
            + " ON s.cid = c.id AND c.vip",
        // both tables of the block change in one refresh (order 1001 and its items)
        "SELECT c.id, s.sku FROM customers c LEFT JOIN (SELECT o.customer_id, i.sku FROM orders o"
            + " JOIN items i ON i.order_id = o.id) s ON s.customer_id = c.id",
        // LEFT JOIN of a join tree (its tables changing alone and together, with the preserved
        // side's; the last match of a preserved row going, and coming); a RIGHT JOIN of one
        "SELECT c.id, c.region, o.id AS oid, i.sku, i.qty FROM customers c LEFT JOIN (orders o"
            + " JOIN items i ON i.order_id = o.id AND i.qty > 1) ON o.customer_id = c.id"
            + " AND o.amount > 90",
        "SELECT c.region, count(o.id) AS n, sum(i.qty) AS q, count(*) AS all_rows FROM customers c"
            + " LEFT JOIN (orders o JOIN items i ON i.order_id = o.id) ON o.customer_id = c.id"
            + " AND o.amount > 80 GROUP BY c.region",
        "SELECT o.id, c.region, o2.id AS o2 FROM orders o LEFT JOIN (customers c JOIN orders o2"
            + " ON o2.customer_id = c.id AND o2.amount > 90) ON c.id = o.customer_id AND c.vip"
            + " WHERE o.amount > 30",
        "SELECT c.id, o.id AS oid, i.sku FROM (orders o JOIN items i ON i.order_id = o.id)"
            + " RIGHT JOIN customers c ON o.customer_id = c.id AND i.qty = 4",
        "SELECT c.id, o.id AS oid, c2.region AS r2 FROM customers c LEFT JOIN (orders o"
            + " JOIN items i ON i.order_id = o.id CROSS JOIN customers c2) ON o.customer_id = c.id"
            + " AND c2.id = o.customer_id + 1 AND c2.region IS NOT DISTINCT FROM c.region"
            + " AND i.qty > 3 JOIN orders o3 ON o3.id = c.id WHERE o3.amount > 20",
        "WITH big AS (SELECT id, customer_id FROM orders WHERE amount > 70)"
            + " SELECT c.region, count(b.id) AS n FROM customers c LEFT JOIN big b"
            + " ON b.customer_id = c.id GROUP BY c.region",
        // grouped WITH queries read once, inner and LEFT joined; WITH column names
        "WITH t AS (SELECT customer_id, sum(amount) AS total, count(*) AS n FROM orders"
            + " GROUP BY customer_id) SELECT c.region, t.total, t.n FROM customers c"
            + " JOIN t ON t.customer_id = c.id",
        "WITH w (cid, total) AS (SELECT customer_id, sum(amount) FROM orders GROUP BY customer_id"
            + " HAVING count(*) > 8) SELECT c.id, w.total FROM customers c LEFT JOIN w"
            + " ON w.cid = c.id",
        "WITH w (oid, amt) AS (SELECT id, amount FROM orders WHERE amount > 20)"
            + " SELECT x.oid, x.amt FROM w x WHERE x.amt < 90",
        // sublinks over a join, both of whose tables change (EXISTS, NOT IN, a scalar subquery)
        "SELECT c.id, c.region FROM customers c WHERE EXISTS (SELECT 1 FROM orders o"
            + " JOIN items i ON i.order_id = o.id WHERE o.customer_id = c.id AND i.qty > 3)",
        "SELECT o.id, o.amount FROM orders o WHERE o.customer_id NOT IN (SELECT c.id"
            + " FROM customers c, orders o2 WHERE o2.customer_id = c.id AND o2.amount > 90"
            + " AND c.region IS NOT NULL)",
        "SELECT c.id FROM customers c WHERE 150 < (SELECT sum(o.amount) + count(i.qty)"
            + " FROM orders o JOIN items i ON i.order_id = o.id WHERE o.customer_id = c.id)",
        // order 1001 (note 'x') and its items come in one refresh: counted once, not twice
        "SELECT c.id FROM customers c WHERE (SELECT count(*) FROM orders o JOIN items i"
            + " ON i.order_id = o.id WHERE o.customer_id = c.id AND o.note = 'x') = 0",
        // a grouped block whose tables change with a sublink's (inner and LEFT joined)
        "WITH t AS (SELECT customer_id, sum(amount) AS total FROM orders GROUP BY customer_id)"
            + " SELECT c.id, t.total FROM customers c JOIN t ON t.customer_id = c.id WHERE EXISTS"
            + " (SELECT 1 FROM items i JOIN orders o ON o.id = i.order_id WHERE o.customer_id = c.id"
            + " AND i.qty > 2)",
        "SELECT c.id, t.n FROM customers c LEFT JOIN (SELECT customer_id, count(*) AS n FROM orders"
            + " GROUP BY customer_id) t ON t.customer_id = c.id WHERE NOT EXISTS (SELECT 1"
            + " FROM orders o2 WHERE o2.customer_id = c.id AND o2.amount > 95)",
        // outer joins and sublinks whose tables change in the same refresh
        "SELECT o.id, c.region FROM orders o LEFT JOIN customers c ON c.id = o.customer_id"
            + " WHERE EXISTS (SELECT 1 FROM items i WHERE i.order_id = o.id AND i.qty > 1)",
        "SELECT c.id, o.amount FROM customers c LEFT JOIN orders o ON o.customer_id = c.id"
            + " AND o.amount > 30 WHERE c.id NOT IN (SELECT i.qty FROM items i WHERE i.sku <> 's3')",
        "SELECT c.region, count(o.id) AS n FROM customers c LEFT JOIN orders o"
            + " ON o.customer_id = c.id WHERE c.id > (SELECT count(*) / 100 FROM items i)"
            + " AND NOT EXISTS (SELECT 1 FROM orders o2 WHERE o2.customer_id = c.id"
            + " AND o2.amount > 95) GROUP BY c.region",
        // outer joins of two and three tables, several changing in one refresh
        "SELECT o.id, c.region, c2.vip FROM orders o LEFT JOIN customers c ON c.id = o.customer_id"
            + " LEFT JOIN customers c2 ON c2.id = o.customer_id + 1 AND c2.region IS NOT NULL",
        "SELECT c.region, count(i.sku) AS skus, count(*) AS n FROM orders o LEFT JOIN customers c"
            + " ON c.id = o.customer_id LEFT JOIN items i ON i.order_id = o.id AND i.qty > 1"
            + " GROUP BY c.region",
        "SELECT o.id, c.region, i.qty FROM items i RIGHT JOIN orders o ON o.id = i.order_id"
            + " LEFT JOIN customers c ON c.id = o.customer_id AND c.vip WHERE o.amount > 20",
        "SELECT c.region, o.id FROM customers c RIGHT JOIN orders o ON o.customer_id = c.id"
            + " AND c.vip",
        // FULL JOIN of two tables: both sides padded, both changing in one refresh
        "SELECT c.id AS cid, c.region, o.id AS oid, o.amount FROM customers c"
            + " FULL JOIN orders o ON o.customer_id = c.id AND o.amount > 50",
        "SELECT c.region, count(o.id) AS n, count(*) AS all_rows, sum(o.amount) AS total"
            + " FROM customers c FULL JOIN orders o ON o.customer_id = c.id GROUP BY c.region",
        "SELECT c.id, o.id AS oid FROM customers c FULL JOIN orders o ON o.customer_id = c.id"
            + " WHERE c.id IS NULL OR o.id IS NULL",
        "SELECT c.id, o.id AS oid, i.sku FROM customers c FULL JOIN orders o"
            + " ON o.customer_id = c.id JOIN items i ON i.order_id = o.id WHERE i.qty > 1",
        // FULL JOIN whose left side is a join tree of inner joins
        "SELECT c.id AS cid, c.region, o.id AS oid, i.order_id, i.sku, i.qty FROM customers c"
            + " JOIN orders o ON o.customer_id = c.id FULL JOIN items i ON i.order_id = o.id"
            + " AND i.qty > 1",
        "SELECT c.region, count(o.id) AS n, count(i.sku) AS skus, count(*) AS all_rows,"
            + " sum(i.qty) AS q FROM customers c JOIN orders o ON o.customer_id = c.id"
            + " FULL JOIN items i ON i.order_id = o.id GROUP BY c.region",
        // EXISTS and NOT EXISTS, correlated
        "SELECT c.id, c.region FROM customers c WHERE EXISTS (SELECT 1 FROM orders o"
            + " WHERE o.customer_id = c.id AND o.amount > 90)",
        "SELECT c.id FROM customers c WHERE NOT EXISTS (SELECT 1 FROM orders o"
            + " WHERE o.customer_id = c.id AND o.note IS NULL) OR c.vip",
        "SELECT o.customer_id, count(*) AS n FROM orders o WHERE EXISTS (SELECT 1 FROM items i"
            + " WHERE i.order_id = o.id AND i.qty > 3) GROUP BY o.customer_id",
        // IN and NOT IN (three-valued: NULL operands and NULLs in the subquery)
        "SELECT o.id, o.amount FROM orders o WHERE o.customer_id IN (SELECT c.id FROM customers c"
            + " WHERE c.region = 'r1')",
        "SELECT c.id FROM customers c WHERE NOT (c.region IN (SELECT o.note FROM orders o"
            + " WHERE o.customer_id = c.id))",
        "SELECT o.id FROM orders o WHERE (o.note IN (SELECT 'n' || i.qty FROM items i"
            + " WHERE i.order_id < o.id)) IS NULL",
        // scalar subqueries of counts and sums, correlated and not, over the outer table itself
        "SELECT o.id, o.amount FROM orders o WHERE o.amount > (SELECT avg(o2.amount)"
            + " FROM orders o2 WHERE o2.customer_id = o.customer_id)",
        "SELECT c.id, c.region FROM customers c WHERE (SELECT count(*) FROM orders o"
            + " WHERE o.customer_id = c.id) > 10 OR (SELECT sum(i.qty) - count(i.sku) FROM items i"
            + " WHERE i.order_id = c.id) < 3",
        "SELECT sum(i.qty) AS total, count(*) AS n FROM items i WHERE i.qty < (SELECT 0.5 *"
            + " avg(i2.qty) + 1 FROM items i2 WHERE i2.sku = i.sku)",
        "SELECT order_id, qty FROM items WHERE qty * 2 > (SELECT avg(qty) FROM items)"
            + " AND order_id < 50",
        // several sublinks over the outer table's own source, all changed at once (TPC-H q21)
        "SELECT o.customer_id, count(*) AS n FROM orders o WHERE EXISTS (SELECT 1 FROM orders o2"
            + " WHERE o2.customer_id = o.customer_id AND o2.id <> o.id) AND NOT EXISTS (SELECT 1"
            + " FROM orders o3 WHERE o3.customer_id = o.customer_id AND o3.id <> o.id"
            + " AND o3.amount > o.amount) GROUP BY o.customer_id",
        // IN over groups, as a condition of its own (TPC-H q18's shape)
        "SELECT c.id, o.id AS oid, sum(i.qty) AS q FROM customers c JOIN orders o"
            + " ON o.customer_id = c.id JOIN items i ON i.order_id = o.id WHERE o.id IN"
            + " (SELECT i2.order_id FROM items i2 GROUP BY i2.order_id HAVING sum(i2.qty) > 5)"
            + " GROUP BY c.id, o.id",
        "SELECT o.id FROM orders o WHERE o.customer_id IN (SELECT o2.customer_id FROM orders o2"
            + " WHERE o2.note IS NOT NULL GROUP BY o2.customer_id HAVING count(*) > 7"
            + " AND avg(o2.amount) < 60)",
        // sublinks in blocks nested in FROM (TPC-H q22's shape), in two blocks at once, in WITH
        "SELECT t.r, count(*) AS n, sum(t.a) AS total FROM (SELECT c.region AS r, c.id AS a"
            + " FROM customers c WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.customer_id ="
            + " c.id AND o.amount > 50) AND c.id > (SELECT avg(i.qty) FROM items i)) t GROUP BY t.r",
        "SELECT t.id, t.customer_id FROM (SELECT o.id, o.customer_id FROM orders o"
            + " WHERE o.customer_id IN (SELECT c.id FROM customers c WHERE c.vip)) t"
            + " WHERE EXISTS (SELECT 1 FROM customers c2 WHERE c2.id = t.customer_id"
            + " AND c2.region IS NOT NULL)",
        "WITH x AS (SELECT o.id, o.amount FROM orders o WHERE o.amount > (SELECT avg(o2.amount)"
            + " FROM orders o2 WHERE o2.customer_id = o.customer_id))"
            + " SELECT count(*) AS n, sum(x.amount) AS s FROM x",
        // WITH queries, each read once
        "WITH big AS (SELECT id, customer_id, amount FROM orders WHERE amount > 40),"
            + " v AS MATERIALIZED (SELECT id, region FROM customers WHERE vip)"
            + " SELECT v.region, count(*) AS n, sum(b.amount) AS total FROM big b"
            + " JOIN v ON v.id = b.customer_id GROUP BY v.region",
        // WITH queries read more than once, each reading a subquery of its text: a self-join; a
        // join of a keyless table read inner and LEFT joined, with column names; in two UNION ALL
        // branches
        "WITH x AS (SELECT id, customer_id, amount FROM orders WHERE amount > 40) SELECT a.id,"
            + " b.id AS bid, a.amount FROM x a JOIN x b ON a.customer_id = b.customer_id"
            + " AND a.id < b.id",
        "WITH x (oid, cid, q) AS (SELECT o.id, o.customer_id, i.qty FROM orders o JOIN items i"
            + " ON i.order_id = o.id WHERE i.qty > 1) SELECT c.region, count(*) AS n, sum(y.q) AS q,"
            + " count(z.oid) AS nz FROM x y JOIN customers c ON c.id = y.cid LEFT JOIN x z"
            + " ON z.cid = y.cid AND z.q > y.q GROUP BY c.region",
        "WITH v AS (SELECT id, region FROM customers WHERE vip) SELECT v.id, v.region FROM v"
            + " UNION ALL SELECT o.id, w.region FROM orders o JOIN v w ON w.id = o.customer_id",
        // a subquery in FROM
        "SELECT t.r, count(*) AS n FROM (SELECT c.region AS r, o.amount AS a FROM customers c,"
            + " orders o WHERE c.id = o.customer_id) t WHERE t.a > 20 GROUP BY t.r"
      })
  void staysEqualToItsQueryUnderChanges(String query) throws Exception {
    engine.apply(StreamTableDefinition.from(differential("st", query)), OWNER);
    assertMatchesQuery(db, "st", query);
    String[][] batches = {
      {
        "INSERT INTO orders VALUES (1001, 3, 99.5, 'x'), (1002, 4, 5, NULL), (1003, 7, 60, 'y')",
        "INSERT INTO items SELECT 1001, 's1', 3 FROM generate_series(1, 3)",
        "INSERT INTO customers VALUES (21, 'r9', true), (22, NULL, false)"
      },
      {
        "UPDATE orders SET amount = amount + 40 WHERE id % 9 = 0",
        "UPDATE orders SET customer_id = 21 WHERE id BETWEEN 30 AND 40", // join key changes
        "UPDATE customers SET region = 'r1' WHERE id = 3", // group key changes
        "DELETE FROM items WHERE order_id = 5"
      },
      {
        // the current minimum and maximum go; a row deleted and put back; duplicates halved
        "DELETE FROM orders WHERE amount = (SELECT min(amount) FROM orders)",
        "DELETE FROM orders WHERE id IN (SELECT id FROM orders ORDER BY note DESC NULLS LAST"
            + " LIMIT 2)",
        "DELETE FROM customers WHERE id = 2",
        "INSERT INTO customers VALUES (2, 'r2', false)",
        "DELETE FROM items WHERE ctid IN (SELECT min(ctid) FROM items GROUP BY order_id, sku, qty"
            + " HAVING count(*) > 1)"
      },
      {
        "DELETE FROM orders WHERE amount > 98",
        "UPDATE customers SET vip = NOT vip",
        // both sides of a join and of a sublink in two blocks go at once (orders 30-40)
        "DELETE FROM customers WHERE id = 21",
        "INSERT INTO orders SELECT 2000 + g, g % 22 + 1, g, 'late' FROM generate_series(1, 30) g"
      }
    };
    refreshEachBatchDifferentially(engine, db, "st", query, batches);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        // the right side keyless, with duplicates and NULL keys; a condition on it in ON
        "SELECT c.id AS cid, c.region, o.id AS oid, i.order_id, i.sku, i.qty FROM customers c"
            + " JOIN orders o ON o.customer_id = c.id FULL JOIN items i ON i.order_id = o.id"
            + " AND i.qty > 1",
        "SELECT c.region, count(o.id) AS n, count(i.sku) AS skus, count(*) AS all_rows,"
            + " sum(i.qty) AS q FROM customers c JOIN orders o ON o.customer_id = c.id"
            + " FULL JOIN items i ON i.order_id = o.id GROUP BY c.region",
        // the left tree with a keyless table, the right side keyed; a filter on the padded rows
        "SELECT o.id, i.sku, i.qty, c.id AS cid, c.vip FROM orders o JOIN items i"
            + " ON i.order_id = o.id FULL JOIN customers c ON c.id = o.customer_id AND c.vip"
            + " WHERE c.id IS NULL OR o.id IS NULL OR i.qty > 2",
        // a tree of three (a cross join, nested), joins after the FULL JOIN
        "SELECT c.id AS cid, o.id AS oid, c2.region AS r2, i.sku, c3.vip FROM customers c"
            + " JOIN orders o ON o.customer_id = c.id CROSS JOIN customers c2"
            + " FULL JOIN items i ON i.order_id = o.id AND c2.id = i.qty + 1"
            + " JOIN customers c3 ON c3.id = coalesce(c.id, i.qty)",
        // another outer join's and a sublink's tables changing with the tree's (read as true bags)
        "SELECT c.id AS cid, o.id AS oid, i.sku, c2.region FROM customers c JOIN orders o"
            + " ON o.customer_id = c.id FULL JOIN items i ON i.order_id = o.id"
            + " LEFT JOIN customers c2 ON c2.id = i.qty",
        "SELECT c.region, o.id AS oid, i.sku FROM customers c JOIN orders o"
            + " ON o.customer_id = c.id FULL JOIN items i ON i.order_id = o.id WHERE NOT EXISTS"
            + " (SELECT 1 FROM orders o3 WHERE o3.customer_id = c.id AND o3.amount > 95)"
      })
  void aFullJoinOfAJoinTreeStaysEqualToItsQuery(String query) throws Exception {
    engine.apply(StreamTableDefinition.from(differential("fj", query)), OWNER);
    assertMatchesQuery(db, "fj", query);
    String[][] batches = {
      {
        // NULL join keys on the right (duplicates, padded); a left row leaves the tree (its
        // items padded); a new left row matches nothing (padded)
        "INSERT INTO items VALUES (NULL, 'nul', 5), (NULL, 'nul', 5), (10, 'dup', 3),"
            + " (10, 'dup', 3)",
        "UPDATE orders SET customer_id = NULL WHERE id = 10",
        "INSERT INTO orders VALUES (3001, 5, 10, 'z')"
      },
      {
        // padded left row matched (twice); a right key moves; a left key comes back; a
        // customer goes (its orders' rows leave the tree, their items padded)
        "INSERT INTO items VALUES (3001, 'm', 4), (3001, 'm', 4)",
        "UPDATE items SET order_id = 3001 WHERE order_id = 11",
        "UPDATE orders SET customer_id = 3 WHERE id = 10",
        "DELETE FROM customers WHERE id = 7"
      },
      {
        // every table at once, on the same rows; key-changing updates on the left
        "INSERT INTO customers VALUES (7, 'r7', true)",
        "DELETE FROM items WHERE order_id = 3001",
        "UPDATE orders SET id = id + 5000 WHERE id IN (12, 13)",
        "UPDATE items SET qty = 1 WHERE order_id = 14",
        "UPDATE customers SET vip = NOT vip WHERE id % 3 = 0"
      },
      {"DELETE FROM items"}, // the right side emptied: every left row padded
      {
        "INSERT INTO items SELECT g % 60 + 1, 's' || (g % 4), g % 6 FROM generate_series(1, 90) g",
        "INSERT INTO items VALUES (NULL, 'nul', 2)",
        "DELETE FROM orders" // the left side emptied: every right row padded
      },
      {
        "INSERT INTO orders SELECT g, g % 20 + 1, g, NULL FROM generate_series(1, 40) g",
        "DELETE FROM customers WHERE id > 10"
      }
    };
    for (String[] batch : batches) {
      db.execute(batch);
      RefreshOutcome outcome = engine.refresh("public", "fj");
      assertMatchesQuery(db, "fj", query);
      assertThat(outcome.kind()).isEqualTo(RefreshOutcome.Kind.APPLIED);
      assertThat(lastMode(db, "fj")).as(lastReason(db, "fj")).isEqualTo("DIFFERENTIAL");
    }
  }

  /**
   * A one-row change is read straight from its buffer by a statement whose text is the same every
   * refresh (the window's snapshot is a setting), so the driver keeps it prepared on the server and
   * PostgreSQL its plan: more refreshes than the driver's threshold (5), with the storage analyzed
   * and the source rewritten between them (each drops the cached plan), stay exact and
   * differential. jsonb's {@code ?} keeps its statement unprepared (the driver would read it as a
   * parameter). A third stream table over the same source, never refreshed, keeps consumed rows in
   * the buffer.
   */
  @Test
  void oneRowRefreshesReuseTheirStatementExactly() throws Exception {
    db.execute(
        "CREATE TABLE docs (id int PRIMARY KEY, body jsonb)",
        "INSERT INTO docs SELECT g, jsonb_build_object(CASE WHEN g % 2 = 0 THEN 'k' ELSE 'j' END,"
            + " g) FROM generate_series(1, 50) g");
    String grouped =
        "SELECT customer_id, count(*) AS n, sum(amount) AS total FROM orders"
            + " GROUP BY customer_id";
    String tagged = "SELECT id, body FROM docs WHERE body ? 'k'";
    engine.apply(EngineTestSupport.definition("per_customer", grouped), OWNER);
    engine.apply(EngineTestSupport.definition("tagged", tagged), OWNER);
    // Never refreshed here: the buffer keeps the rows the others consumed, which their windows
    // must leave out.
    engine.apply(EngineTestSupport.definition("lagging", "SELECT id FROM orders"), OWNER);
    for (int round = 1; round <= 12; round++) {
      db.execute(
          switch (round % 3) {
            case 0 ->
                "UPDATE orders SET amount = amount + 1, customer_id = "
                    + round
                    + " WHERE id = "
                    + round;
            case 1 -> "DELETE FROM orders WHERE id = " + (100 + round);
            default -> "INSERT INTO orders VALUES (" + (1000 + round) + ", 7, 1.5, NULL)";
          },
          "UPDATE docs SET body = body || jsonb_build_object('k', "
              + round
              + ") WHERE id = "
              + (2 * round + 1));
      if (round == 6) {
        db.execute("ANALYZE per_customer", "VACUUM FULL orders");
      }
      engine.refresh("public", "per_customer");
      engine.refresh("public", "tagged");
      assertMatchesQuery(db, "per_customer", grouped);
      assertMatchesQuery(db, "tagged", tagged);
      assertThat(lastMode(db, "per_customer"))
          .as(lastReason(db, "per_customer"))
          .isEqualTo("DIFFERENTIAL");
      assertThat(lastMode(db, "tagged")).as(lastReason(db, "tagged")).isEqualTo("DIFFERENTIAL");
    }
  }

  @Test
  void autoRunsDifferentialForASmallChangeAndFullAfterATruncate() throws Exception {
    String query = "SELECT customer_id, count(*) AS n FROM orders GROUP BY customer_id";
    engine.apply(EngineTestSupport.definition("auto", query), OWNER);
    db.execute("UPDATE orders SET customer_id = 3 WHERE id = 17");
    engine.refresh("public", "auto");
    assertMatchesQuery(db, "auto", query);
    assertThat(lastMode(db, "auto")).isEqualTo("DIFFERENTIAL");

    db.execute("TRUNCATE orders", "INSERT INTO orders VALUES (1, 1, 1, NULL)");
    engine.refresh("public", "auto");
    assertMatchesQuery(db, "auto", query);
    assertThat(lastMode(db, "auto")).isEqualTo("FULL");
    assertThat(lastReason(db, "auto")).contains("TRUNCATE");
  }

  @Test
  void autoRefreshesInFullWhenMostRowsChanged() throws Exception {
    String query = "SELECT id, amount FROM orders WHERE amount > 1";
    engine.apply(EngineTestSupport.definition("big_change", query), OWNER);
    db.execute("ANALYZE orders", "UPDATE orders SET amount = amount + 1");
    engine.refresh("public", "big_change");
    assertMatchesQuery(db, "big_change", query);
    assertThat(lastMode(db, "big_change")).isEqualTo("FULL");
    assertThat(lastReason(db, "big_change")).contains("changed rows");
  }

  @Test
  void autoWeighsTheChangeAgainstTheSourcesAndTheStreamTable() throws Exception {
    // The same change: past AUTO's threshold for a small result (10 groups), under it for a large
    // one (every row), whose recompute costs more.
    db.execute(
        "CREATE TABLE facts (id int PRIMARY KEY, k int, v int)",
        "INSERT INTO facts SELECT g, g % 10, g FROM generate_series(1, 10000) g");
    String grouped = "SELECT k, count(*) AS n, sum(v) AS total FROM facts GROUP BY k";
    String filtered = "SELECT id, v FROM facts WHERE v > 0";
    engine.apply(EngineTestSupport.definition("few_groups", grouped), OWNER);
    engine.apply(EngineTestSupport.definition("every_row", filtered), OWNER);
    db.execute("ANALYZE facts", "ANALYZE few_groups", "ANALYZE every_row");
    // 1000 rows updated: 2000 buffer rows. Thresholds: 0.04 * 10000 + 0.3 * 10 = 403 for the
    // groups, 0.04 * 10000 + 0.3 * 10000 = 3400 for the filter.
    db.execute("UPDATE facts SET v = v + 1 WHERE id % 10 = 3");
    engine.refresh("public", "few_groups");
    engine.refresh("public", "every_row");
    assertMatchesQuery(db, "few_groups", grouped);
    assertMatchesQuery(db, "every_row", filtered);
    assertThat(lastMode(db, "few_groups")).isEqualTo("FULL");
    assertThat(lastReason(db, "few_groups"))
        .contains("more than 403 changed rows")
        .contains("in 1 tables")
        .contains("4% of the sources' rows divided by their number of tables, plus 30%");
    assertThat(lastMode(db, "every_row")).isEqualTo("DIFFERENTIAL");
  }

  @Test
  void autoDividesTheSourcesShareAmongTheTablesTheQueryReads() throws Exception {
    // The same change: under the threshold of a query over the fact table alone, past that of
    // a join with a dimension, each changed row of which is joined.
    db.execute(
        "CREATE TABLE facts (id int PRIMARY KEY, k int, v int)",
        "INSERT INTO facts SELECT g, g % 10, g FROM generate_series(1, 10000) g",
        "CREATE TABLE dims (k int PRIMARY KEY, name text)",
        "INSERT INTO dims SELECT g, 'd' || g FROM generate_series(0, 9) g");
    String alone = "SELECT k, count(*) AS n, sum(v) AS total FROM facts GROUP BY k";
    String joined =
        "SELECT d.name, count(*) AS n, sum(f.v) AS total FROM facts f JOIN dims d ON d.k = f.k"
            + " GROUP BY d.name";
    engine.apply(EngineTestSupport.definition("alone", alone), OWNER);
    engine.apply(EngineTestSupport.definition("joined", joined), OWNER);
    db.execute("ANALYZE facts", "ANALYZE dims", "ANALYZE alone", "ANALYZE joined");
    // 150 rows updated: 300 buffer rows. Thresholds: 0.04 * 10000 + 0.3 * 10 = 403 alone,
    // 0.04 * 10010 / 2 + 0.3 * 10 = 204 joined.
    db.execute("UPDATE facts SET v = v + 1 WHERE id <= 150");
    engine.refresh("public", "alone");
    engine.refresh("public", "joined");
    assertMatchesQuery(db, "alone", alone);
    assertMatchesQuery(db, "joined", joined);
    assertThat(lastMode(db, "alone")).isEqualTo("DIFFERENTIAL");
    assertThat(lastMode(db, "joined")).isEqualTo("FULL");
    assertThat(lastReason(db, "joined"))
        .contains("more than 204 changed rows against about 10010 source rows in 2 tables");
  }

  @Test
  void autoRunsFullForAChangeAsLargeAsOneWhoseDifferentialRefreshWasSlowerThanFull()
      throws Exception {
    db.execute(
        "CREATE TABLE facts (id int PRIMARY KEY, k int, v int)",
        "INSERT INTO facts SELECT g, g % 10, g FROM generate_series(1, 10000) g");
    String query = "SELECT id, v FROM facts WHERE v > 0";
    engine.apply(EngineTestSupport.definition("learned", query), OWNER);
    db.execute("ANALYZE facts", "ANALYZE learned");
    // What the catalog holds after a FULL of 1 ms and a differential refresh of 300 changed rows
    // that took 50 ms (set here: timings of a test run prove nothing).
    db.execute(
        "UPDATE pgtrickle.pgt_stream_tables SET auto_full_ms = 1, auto_slow_changes = 300,"
            + " auto_slow_ms = 50 WHERE st_name = 'learned'");

    db.execute("UPDATE facts SET v = v + 1 WHERE id <= 150"); // 300 buffer rows
    engine.refresh("public", "learned");
    assertMatchesQuery(db, "learned", query);
    assertThat(lastMode(db, "learned")).isEqualTo("FULL");
    assertThat(lastReason(db, "learned"))
        .isEqualTo(
            "a differential refresh of 300 changed rows took 50 ms, longer than a full refresh"
                + " (1 ms), and this change is at least as large");

    db.execute("UPDATE facts SET v = v + 1 WHERE id <= 140"); // 280 buffer rows: under the bound
    engine.refresh("public", "learned");
    assertMatchesQuery(db, "learned", query);
    assertThat(lastMode(db, "learned")).isEqualTo("DIFFERENTIAL");
  }

  @Test
  void largeChangesOfJoinedTablesStayExact() throws Exception {
    // Deltas of 100 rows and more get their sources' indexes; a term probes one table's old state
    // (the table and its delta) once per row of the other's change.
    db.execute(
        "CREATE INDEX ON orders (customer_id)",
        "INSERT INTO customers SELECT g, 'r' || (g % 4), g % 3 = 0 FROM generate_series(23, 400) g",
        "INSERT INTO orders SELECT 5000 + g, g % 400 + 1, g % 97, 'b' || g"
            + " FROM generate_series(1, 2000) g");
    String query =
        "SELECT c.region, o.id, o.amount FROM customers c JOIN orders o ON o.customer_id = c.id"
            + " WHERE o.amount > 5";
    String grouped =
        "SELECT c.region, count(*) AS n, sum(o.amount) AS total FROM customers c"
            + " JOIN orders o ON o.customer_id = c.id GROUP BY c.region";
    engine.apply(StreamTableDefinition.from(differential("big_join", query)), OWNER);
    engine.apply(StreamTableDefinition.from(differential("big_groups", grouped)), OWNER);
    db.execute(
        "UPDATE customers SET region = 'r' || (id % 5) WHERE id % 2 = 0",
        "UPDATE orders SET customer_id = customer_id % 300 + 1, amount = amount + 1"
            + " WHERE id % 3 = 0",
        "DELETE FROM orders WHERE id % 7 = 0",
        "DELETE FROM customers WHERE id BETWEEN 390 AND 400");
    for (String name : new String[] {"big_join", "big_groups"}) {
      engine.refresh("public", name);
      assertThat(lastMode(db, name)).as(lastReason(db, name)).isEqualTo("DIFFERENTIAL");
    }
    assertMatchesQuery(db, "big_join", query);
    assertMatchesQuery(db, "big_groups", grouped);
  }

  @Test
  void fullOfABagGivesTheRowIdsOfItsStateView() throws Exception {
    // FULL of a bag compares rows by their text and derives the row id of a row it inserts as the
    // state view does; a later differential refresh finds rows by that id.
    String query = "SELECT sku, qty FROM items WHERE qty > 0";
    engine.apply(StreamTableDefinition.from(differential("bag", query)), OWNER);
    db.execute(
        "CREATE TEMP TABLE kept AS SELECT * FROM items WHERE order_id % 3 <> 0",
        "TRUNCATE items",
        "INSERT INTO items SELECT * FROM kept",
        "INSERT INTO items SELECT order_id, sku, qty + 1 FROM kept WHERE order_id % 4 = 0");
    engine.refresh("public", "bag");
    assertThat(lastMode(db, "bag")).isEqualTo("FULL");
    assertMatchesQuery(db, "bag", query);
    long id = db.queryLong("SELECT id FROM pgtrickle.pgt_stream_tables WHERE st_name = 'bag'");
    String storage = "SELECT sku, qty, pgt_row_id FROM public.bag";
    String state = "SELECT sku, qty, pgt_row_id FROM pgtrickle.pgt_state_" + id;
    assertThat(
            db.queryLong(
                "SELECT (SELECT count(*) FROM ("
                    + storage
                    + " EXCEPT ALL "
                    + state
                    + ") a)"
                    + " + (SELECT count(*) FROM ("
                    + state
                    + " EXCEPT ALL "
                    + storage
                    + ") b)"))
        .isZero();
    db.execute("DELETE FROM items WHERE ctid IN (SELECT min(ctid) FROM items GROUP BY sku, qty)");
    engine.refresh("public", "bag");
    assertThat(lastMode(db, "bag")).isEqualTo("DIFFERENTIAL");
    assertMatchesQuery(db, "bag", query);
  }

  @Test
  void autoSaysWhyAQueryOutsideTheClassRefreshesInFull() throws Exception {
    String query =
        "SELECT c.id, count(o.id) AS n FROM customers c FULL JOIN orders o ON o.customer_id = c.id"
            + " JOIN items i ON i.order_id = o.id FULL JOIN orders o2 ON o2.id = i.order_id"
            + " GROUP BY c.id";
    engine.apply(EngineTestSupport.definition("outer_join", query), OWNER);
    db.execute("INSERT INTO orders VALUES (5000, 1, 1, NULL)");
    engine.refresh("public", "outer_join");
    assertMatchesQuery(db, "outer_join", query);
    assertThat(lastMode(db, "outer_join")).isEqualTo("FULL");
    assertThat(lastReason(db, "outer_join")).contains("joins a table after an outer join");
    StreamTableReport.RefreshReport last =
        engine.report("public", "outer_join").lastRefresh().orElseThrow();
    assertThat(last.mode()).isEqualTo("FULL");
    assertThat(last.reason())
        .hasValueSatisfying(r -> assertThat(r).contains("joins a table after an outer join"));
  }

  @Test
  void aChangeToEveryTableOfAManyTableJoinRunsFullAndSaysWhy() throws Exception {
    // 26 tables, all changed: 26 terms of 26-way joins, more than a full refresh is worth.
    StringBuilder from = new StringBuilder("SELECT t1.v FROM t1");
    for (int i = 1; i <= 26; i++) {
      db.execute(
          "CREATE TABLE t" + i + " (id int PRIMARY KEY, v int)",
          "INSERT INTO t" + i + " SELECT g, g FROM generate_series(1, 20) g");
      if (i > 1) {
        from.append(" JOIN t").append(i).append(" ON t").append(i).append(".id = t1.id");
      }
    }
    String query = from.toString();
    engine.apply(StreamTableDefinition.from(differential("wide", query)), OWNER);
    db.execute("UPDATE t1 SET v = v + 1 WHERE id = 3");
    engine.refresh("public", "wide");
    assertMatchesQuery(db, "wide", query);
    assertThat(lastMode(db, "wide")).isEqualTo("DIFFERENTIAL");
    for (int i = 1; i <= 26; i++) {
      db.execute("UPDATE t" + i + " SET v = v + 1 WHERE id = 5");
    }
    engine.refresh("public", "wide");
    assertMatchesQuery(db, "wide", query);
    assertThat(lastMode(db, "wide")).isEqualTo("FULL");
    assertThat(lastReason(db, "wide")).contains("delta terms over 26 table occurrences");
  }

  @Test
  void aRowChangedThroughAnOuterJoinAndASublinkAtOnceCountsOnce() throws Exception {
    // Order 7's customer changes region and order 7 gains its first big item in the same refresh:
    // the outer join's term must see the EXISTS as it was, or the new row counts twice.
    String query =
        "SELECT o.id, c.region FROM orders o LEFT JOIN customers c ON c.id = o.customer_id"
            + " WHERE EXISTS (SELECT 1 FROM items i WHERE i.order_id = o.id AND i.qty > 3)";
    engine.apply(StreamTableDefinition.from(differential("join_sublink", query)), OWNER);
    db.execute(
        "DELETE FROM items WHERE order_id IN (7, 9) AND qty > 3",
        "UPDATE orders SET customer_id = 3 WHERE id IN (7, 9)");
    engine.refresh("public", "join_sublink");
    assertMatchesQuery(db, "join_sublink", query);
    db.execute(
        "UPDATE customers SET region = 'moved' WHERE id = 3",
        "INSERT INTO items VALUES (7, 'big', 9)",
        "DELETE FROM customers WHERE id = 4",
        "UPDATE orders SET customer_id = 4 WHERE id = 9",
        "INSERT INTO items VALUES (9, 'big', 9)");
    engine.refresh("public", "join_sublink");
    assertMatchesQuery(db, "join_sublink", query);
    assertThat(lastMode(db, "join_sublink"))
        .as(lastReason(db, "join_sublink"))
        .isEqualTo("DIFFERENTIAL");
  }

  @Test
  void aFullJoinsLeftTableIsReadAsItWasRowByRowByTheOtherOuterJoinsTerms() throws Exception {
    // Order 12 matched no customer (padded); customer 50 arrives and order 12 gains an item in
    // the same refresh: the item's term must see order 12 as it was, unmatched.
    String query =
        "SELECT c.id, o.id AS oid, i.sku FROM customers c FULL JOIN orders o"
            + " ON o.customer_id = c.id LEFT JOIN items i ON i.order_id = o.id AND i.qty > 2";
    db.execute("UPDATE orders SET customer_id = 50 WHERE id = 12");
    engine.apply(StreamTableDefinition.from(differential("full_left", query)), OWNER);
    db.execute(
        "INSERT INTO customers VALUES (50, 'r50', false)",
        "INSERT INTO items VALUES (12, 'late', 5)",
        "DELETE FROM customers WHERE id = 3",
        "INSERT INTO items SELECT id, 'x', 9 FROM orders WHERE customer_id = 3");
    engine.refresh("public", "full_left");
    assertMatchesQuery(db, "full_left", query);
    assertThat(lastMode(db, "full_left")).as(lastReason(db, "full_left")).isEqualTo("DIFFERENTIAL");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        // grouped by the LEFT JOIN's nullable side: the NULL group holds the padded customers
        "SELECT g.k, g.n, g.m FROM (SELECT o.customer_id AS k, count(*) AS n, count(c.id) AS m"
            + " FROM customers c LEFT JOIN orders o ON o.customer_id = c.id GROUP BY o.customer_id)"
            + " g",
        // ... a key derived from it, a RIGHT JOIN
        "SELECT g.k, g.n FROM (SELECT coalesce(o.amount, 0::numeric) > 50 AS k, count(*) AS n"
            + " FROM orders o RIGHT JOIN customers c ON o.customer_id = c.id"
            + " GROUP BY (coalesce(o.amount, 0::numeric) > 50)) g",
        // a FULL JOIN pads both sides: grouped by the left side's column
        "SELECT g.r, g.n, g.s FROM (SELECT c.region AS r, count(*) AS n, sum(o.amount) AS s"
            + " FROM customers c FULL JOIN orders o ON o.customer_id = c.id GROUP BY c.region) g"
      })
  void aGroupedSubqueryGroupedByAnOuterJoinsNullableSideRefreshesInFullAndSaysWhy(String query)
      throws Exception {
    // A change switches rows between matched and padded: their groups (the NULL key's) are not
    // among those its matched rows touch, so the block is not kept differentially.
    engine.apply(EngineTestSupport.definition("padded", query), OWNER);
    assertMatchesQuery(db, "padded", query);
    String[][] batches = {
      {"DELETE FROM orders WHERE customer_id = 3"}, // customer 3 loses its last match: padded
      {"INSERT INTO customers VALUES (30, 'r30', true)"}, // a new customer, padded
      {"INSERT INTO orders VALUES (3001, 30, 70, 'z'), (3002, 3, 10, NULL)"}, // first matches
      {"DELETE FROM customers WHERE id = 4"} // its orders padded (FULL JOIN)
    };
    for (String[] batch : batches) {
      db.execute(batch);
      engine.refresh("public", "padded");
      assertMatchesQuery(db, "padded", query);
      assertThat(lastMode(db, "padded")).isEqualTo("FULL");
      assertThat(lastReason(db, "padded")).contains("nullable side");
    }
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "SELECT c.id, o.id AS oid, s.sku FROM customers c FULL JOIN orders o"
            + " ON o.customer_id = c.id LEFT JOIN (SELECT i.order_id, i.sku FROM items i"
            + " WHERE i.qty > 2) s ON s.order_id = o.id",
        "SELECT c.id, o.id AS oid, s.txt, o2.id AS o2 FROM customers c JOIN orders o"
            + " ON o.customer_id = c.id FULL JOIN orders o2 ON o2.id = o.id + 100"
            + " LEFT JOIN (SELECT n.order_id, n.txt FROM notes n WHERE n.txt <> 'n3') s"
            + " ON s.order_id = coalesce(o.id, o2.id - 100)"
      })
  void aFullJoinsLeftTablesAreReadAsTheyWereRowByRowByAChangedBlocksTerms(String query)
      throws Exception {
    // Order 12 matched no customer (padded, on the left of the FULL JOIN); customer 50 arrives
    // and the LEFT JOINed block gains a row for order 12 in the same refresh: the block's term
    // must see order 12 as it was, unmatched.
    db.execute(
        "CREATE TABLE notes (order_id int, txt text)",
        "INSERT INTO notes SELECT g, 'n' || g FROM generate_series(1, 50) g",
        "UPDATE orders SET customer_id = 50 WHERE id = 12");
    engine.apply(StreamTableDefinition.from(differential("full_block", query)), OWNER);
    db.execute(
        "INSERT INTO customers VALUES (50, 'r50', false)",
        "INSERT INTO items VALUES (12, 'late', 5)",
        "INSERT INTO notes VALUES (12, 'late')",
        "DELETE FROM customers WHERE id = 3",
        "INSERT INTO items SELECT id, 'x', 9 FROM orders WHERE customer_id = 3",
        "INSERT INTO notes SELECT id, 'x' FROM orders WHERE customer_id = 3");
    engine.refresh("public", "full_block");
    assertMatchesQuery(db, "full_block", query);
    assertThat(lastMode(db, "full_block"))
        .as(lastReason(db, "full_block"))
        .isEqualTo("DIFFERENTIAL");
  }

  @Test
  void theTablesOfTwoOuterJoinsChangingInOneRefreshStayDifferentialWhenOneHasAKey()
      throws Exception {
    // customers has a primary key, so its term can read it as it was, row by row; items has
    // none, so its term comes first.
    String query =
        "SELECT o.id, c.region, i.sku FROM orders o LEFT JOIN customers c ON c.id = o.customer_id"
            + " LEFT JOIN items i ON i.order_id = o.id";
    engine.apply(StreamTableDefinition.from(differential("two_outer", query)), OWNER);
    db.execute(
        "UPDATE customers SET region = 'x' WHERE id = 4",
        "DELETE FROM customers WHERE id = 6",
        "INSERT INTO customers VALUES (99, 'r99', true)",
        "UPDATE orders SET customer_id = 99 WHERE id = 8",
        "DELETE FROM items WHERE qty = 1",
        "INSERT INTO items SELECT id, 'new', 7 FROM orders WHERE customer_id IN (4, 6, 99)");
    engine.refresh("public", "two_outer");
    assertMatchesQuery(db, "two_outer", query);
    assertThat(lastMode(db, "two_outer")).as(lastReason(db, "two_outer")).isEqualTo("DIFFERENTIAL");

    // Two tables without a key: FULL, and it says why.
    db.execute(
        "CREATE TABLE notes (order_id int, txt text)",
        "INSERT INTO notes SELECT g, 'n' || g FROM generate_series(1, 50) g");
    String keyless =
        "SELECT o.id, i.sku, n.txt FROM orders o LEFT JOIN items i ON i.order_id = o.id"
            + " LEFT JOIN notes n ON n.order_id = o.id";
    engine.apply(StreamTableDefinition.from(differential("keyless", keyless)), OWNER);
    db.execute("DELETE FROM items WHERE qty = 2", "DELETE FROM notes WHERE order_id < 10");
    engine.refresh("public", "keyless");
    assertMatchesQuery(db, "keyless", keyless);
    assertThat(lastMode(db, "keyless")).isEqualTo("FULL");
    assertThat(lastReason(db, "keyless")).contains("neither has a primary key");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "SELECT id, row_number() OVER (ORDER BY id) AS rn FROM orders|window function",
        "SELECT id FROM orders ORDER BY id LIMIT 5|LIMIT",
        "SELECT id FROM orders WHERE customer_id IN (SELECT id FROM vip_customers)"
            + "|not a captured table",
        "SELECT c.id FROM customers c LEFT JOIN orders o ON o.customer_id = c.id"
            + " JOIN items i ON i.order_id = o.id FULL JOIN orders o2 ON o2.id = o.id"
            + "|joins a table after an outer join other than by a LEFT or FULL JOIN",
        "SELECT c.id FROM customers c JOIN (orders o FULL JOIN items i ON i.order_id = o.id)"
            + " ON o.customer_id = c.id|FULL outer join other than of the first item of FROM",
        "SELECT id FROM customers EXCEPT ALL SELECT customer_id FROM orders|EXCEPT ALL",
        "SELECT id, region FROM customers FULL JOIN orders USING (id)|FULL JOIN",
        "WITH t AS (SELECT customer_id, count(*) AS n FROM orders GROUP BY customer_id)"
            + " SELECT a.customer_id FROM t a JOIN (SELECT b.customer_id FROM t b) s"
            + " ON s.customer_id = a.customer_id|read more than once (t)",
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3)"
            + " SELECT o.id FROM orders o JOIN r ON r.n = o.id|WITH",
        "SELECT sum(amount::float8) AS f FROM orders|double precision",
        "SELECT g.k, g.n FROM (SELECT o.customer_id AS k, count(*) AS n FROM customers c"
            + " LEFT JOIN orders o ON o.customer_id = c.id GROUP BY o.customer_id) g"
            + "|outer join's nullable side"
      })
  void explicitDifferentialOutsideTheClassIsInvalidSpecAndCreatesNothing(String queryAndConstruct)
      throws Exception {
    String query = queryAndConstruct.substring(0, queryAndConstruct.indexOf('|'));
    String construct = queryAndConstruct.substring(queryAndConstruct.indexOf('|') + 1);
    Set<String> before = DatabaseObjects.of(db);
    assertThatThrownBy(
            () -> engine.apply(StreamTableDefinition.from(differential("nope", query)), OWNER))
        .isInstanceOfSatisfying(
            EngineException.class,
            e -> {
              assertThat(e.reason()).isEqualTo(Reason.InvalidSpec);
              assertThat(e.getMessage()).contains(construct);
            });
    assertThat(DatabaseObjects.of(db)).isEqualTo(before);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        // a grouped WITH query read twice in FROM: two grouped blocks, which change together
        "WITH t AS (SELECT customer_id, sum(amount) AS total, count(*) AS n FROM orders"
            + " GROUP BY customer_id) SELECT c.region, a.total, b.n FROM customers c"
            + " JOIN t a ON a.customer_id = c.id JOIN t b ON b.customer_id = c.id + 1"
            + "|grouped subquery",
        // ... read in FROM and in a scalar subquery (TPC-H q15's shape)
        "WITH t AS (SELECT customer_id, sum(amount) AS total FROM orders GROUP BY customer_id)"
            + " SELECT c.id, c.region, a.total FROM customers c JOIN t a ON a.customer_id = c.id"
            + " WHERE a.total * 2 >= (SELECT max(total) FROM t)|subquery",
        // a plain WITH query read in FROM and in EXISTS
        "WITH x AS (SELECT id, customer_id FROM orders WHERE amount > 40) SELECT c.id, c.region,"
            + " x.id AS oid FROM customers c JOIN x ON x.customer_id = c.id WHERE EXISTS"
            + " (SELECT 1 FROM x y WHERE y.customer_id = c.id AND y.id <> x.id)|subquery"
      })
  void aWithQueryReadTwiceWhoseReadingsCannotTelescopeRunsFullWhenItsTablesChange(
      String queryAndReason) throws Exception {
    String query = queryAndReason.substring(0, queryAndReason.indexOf('|'));
    String reason = queryAndReason.substring(queryAndReason.indexOf('|') + 1);
    engine.apply(StreamTableDefinition.from(differential("twice", query)), OWNER);
    assertMatchesQuery(db, "twice", query);
    db.execute(
        "UPDATE customers SET region = 'r1' WHERE id % 4 = 0",
        "DELETE FROM customers WHERE id = 3",
        "INSERT INTO customers VALUES (3, NULL, true), (23, 'r2', false)");
    engine.refresh("public", "twice");
    assertMatchesQuery(db, "twice", query);
    assertThat(lastMode(db, "twice")).as(lastReason(db, "twice")).isEqualTo("DIFFERENTIAL");

    db.execute(
        "UPDATE orders SET customer_id = 23, amount = amount + 60 WHERE id % 7 = 0",
        "DELETE FROM orders WHERE customer_id = 5");
    engine.refresh("public", "twice");
    assertMatchesQuery(db, "twice", query);
    assertThat(lastMode(db, "twice")).isEqualTo("FULL");
    assertThat(lastReason(db, "twice")).contains(reason);

    db.execute("UPDATE customers SET vip = NOT vip, region = NULL WHERE id % 3 = 0");
    engine.refresh("public", "twice");
    assertMatchesQuery(db, "twice", query);
    assertThat(lastMode(db, "twice")).as(lastReason(db, "twice")).isEqualTo("DIFFERENTIAL");
  }

  @Test
  void subqueriesInExpressionsKeepItDifferentialUntilTheirTablesChange() throws Exception {
    String query =
        "SELECT o.id, o.amount, (SELECT count(*) FROM customers c WHERE c.vip) AS vips"
            + " FROM orders o WHERE o.customer_id IN (SELECT c.id FROM customers c"
            + " WHERE c.region = 'r1') AND o.customer_id NOT IN (SELECT i.qty FROM items i)";
    engine.apply(StreamTableDefinition.from(differential("frozen", query)), OWNER);
    db.execute(
        "UPDATE orders SET customer_id = 4 WHERE id < 30", "DELETE FROM orders WHERE id > 190");
    engine.refresh("public", "frozen");
    assertMatchesQuery(db, "frozen", query);
    assertThat(lastMode(db, "frozen")).isEqualTo("DIFFERENTIAL");

    db.execute(
        "UPDATE customers SET region = 'r1' WHERE id = 5",
        "INSERT INTO items VALUES (1, 'x', NULL)");
    engine.refresh("public", "frozen");
    assertMatchesQuery(db, "frozen", query);
    assertThat(lastMode(db, "frozen")).isEqualTo("FULL");
    assertThat(lastReason(db, "frozen")).contains("subquery");

    db.execute("UPDATE orders SET amount = amount * 2 WHERE id % 3 = 0");
    engine.refresh("public", "frozen");
    assertMatchesQuery(db, "frozen", query);
    assertThat(lastMode(db, "frozen")).isEqualTo("DIFFERENTIAL");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "SELECT customer_id, note FROM orders EXCEPT SELECT id, region FROM customers",
        "SELECT customer_id FROM orders WHERE amount > 20 INTERSECT SELECT id FROM customers"
            + " WHERE vip",
        // the same table on both sides, under the same name; NULLs compare equal
        "SELECT customer_id, note FROM orders WHERE amount > 50 EXCEPT SELECT customer_id, note"
            + " FROM orders WHERE id % 3 = 0",
        "SELECT region, vip FROM customers WHERE id < 15 INTERSECT SELECT c.region, c.vip"
            + " FROM customers c WHERE c.id > 5",
        // a first query over a join, its columns qualified
        "SELECT o.customer_id, c.region FROM orders o JOIN customers c ON c.id = o.customer_id"
            + " EXCEPT SELECT id, region FROM customers WHERE vip"
      })
  void exceptAndIntersectOverOneTableAreDifferentialForChangesToEitherSide(String query)
      throws Exception {
    engine.apply(StreamTableDefinition.from(differential("setop", query)), OWNER);
    String[][] batches = {
      {
        "UPDATE orders SET customer_id = customer_id % 7 + 1, note = NULL WHERE id % 5 = 0",
        "DELETE FROM orders WHERE id % 11 = 0",
        "INSERT INTO orders VALUES (3001, 2, 50, 'r2'), (3002, 2, 50, 'r2')"
      },
      {"UPDATE customers SET vip = NOT vip, region = 'n' || id WHERE id % 3 = 0"},
      {
        "UPDATE customers SET region = NULL WHERE id % 4 = 1",
        "UPDATE orders SET note = NULL, amount = amount + 30 WHERE id % 6 = 1",
        "DELETE FROM customers WHERE id = 7"
      }
    };
    refreshEachBatchDifferentially(engine, db, "setop", query, batches);
  }

  @Test
  void exceptWhoseSecondQueryJoinsRunsFullWhenItsTablesChange() throws Exception {
    String query =
        "SELECT order_id FROM items WHERE qty > 1 EXCEPT SELECT o.id FROM orders o"
            + " LEFT JOIN customers c ON c.id = o.customer_id WHERE c.vip"; // inner: differential
    engine.apply(StreamTableDefinition.from(differential("setop", query)), OWNER);
    db.execute("UPDATE items SET qty = qty + 1 WHERE order_id % 4 = 0");
    engine.refresh("public", "setop");
    assertMatchesQuery(db, "setop", query);
    assertThat(lastMode(db, "setop")).isEqualTo("DIFFERENTIAL");

    db.execute("UPDATE customers SET vip = NOT vip WHERE id % 3 = 0");
    engine.refresh("public", "setop");
    assertMatchesQuery(db, "setop", query);
    assertThat(lastMode(db, "setop")).isEqualTo("FULL");
    assertThat(lastReason(db, "setop")).contains("subquery");
  }

  @Test
  void aMaxKeepsNoValueOfARowTheWindowRemovedWhileTheOtherSideGainedAMatch() throws Exception {
    // Found by the randomized test: one term adds (new t row, removed u row), another removes it.
    db.execute(
        "CREATE TABLE t (k int, j int)",
        "CREATE TABLE u (j int, v int)",
        "INSERT INTO t VALUES (1, 1)",
        "INSERT INTO u VALUES (1, 5)");
    String query =
        "SELECT a.k AS c1, max(b.v) AS c2, min(b.v) AS c3 FROM t a JOIN u b ON a.j = b.j"
            + " GROUP BY a.k";
    engine.apply(StreamTableDefinition.from(differential("extremes", query)), OWNER);
    db.execute("INSERT INTO t VALUES (2, 1)", "DELETE FROM u", "INSERT INTO u VALUES (1, 4)");
    engine.refresh("public", "extremes");
    assertMatchesQuery(db, "extremes", query);
    assertThat(lastMode(db, "extremes")).isEqualTo("DIFFERENTIAL");
    db.execute("INSERT INTO t VALUES (3, 1)", "UPDATE u SET v = 9");
    engine.refresh("public", "extremes");
    assertMatchesQuery(db, "extremes", query);
  }

  @Test
  void switchingRefreshModeRebuildsTheStorage() throws Exception {
    String query = "SELECT customer_id, sum(amount) AS total FROM orders GROUP BY customer_id";
    StreamTableSpec spec = differential("switch", query);
    engine.apply(StreamTableDefinition.from(spec), OWNER);
    assertThat(db.queryLong(hiddenColumns("switch"))).isPositive();
    spec.setRefreshMode(RefreshMode.FULL);
    assertThat(engine.apply(StreamTableDefinition.from(spec), OWNER))
        .isEqualTo(StreamTableEngine.ApplyResult.REBUILT);
    assertThat(db.queryLong(hiddenColumns("switch"))).isZero();
    db.execute("UPDATE orders SET amount = 1 WHERE id = 3");
    engine.refresh("public", "switch");
    assertMatchesQuery(db, "switch", query);
    assertThat(lastMode(db, "switch")).isEqualTo("FULL");
  }

  private static String hiddenColumns(String table) {
    return "SELECT count(*) FROM pg_attribute WHERE attrelid = 'public."
        + table
        + "'::regclass AND attname LIKE 'pgt\\_%' AND NOT attisdropped";
  }

  /**
   * A change of more than 10,000 rows is applied through temp tables (the change, the touched
   * groups), a smaller one in one statement: both ways give the query's result.
   */
  @ParameterizedTest
  @ValueSource(
      strings = {
        "SELECT sku, qty FROM items WHERE qty > 0",
        "SELECT sku, count(*) AS n, sum(qty) AS total, avg(qty) AS mean FROM items GROUP BY sku"
      })
  void largeAndSmallChangesAlike(String query) throws Exception {
    engine.apply(StreamTableDefinition.from(differential("st", query)), OWNER);
    String[] batches = {
      "INSERT INTO items SELECT g % 300, 's' || (g % 11), g % 4 FROM generate_series(1, 12000) g",
      "UPDATE items SET qty = qty + 1 WHERE order_id % 3 = 0",
      "DELETE FROM items WHERE order_id % 2 = 0",
      "UPDATE items SET qty = 7 WHERE order_id = 5",
      "DELETE FROM items WHERE sku = 's10'"
    };
    for (String batch : batches) {
      db.execute(batch);
      engine.refresh("public", "st");
      assertMatchesQuery(db, "st", query);
      assertThat(lastMode(db, "st")).as(lastReason(db, "st")).isEqualTo("DIFFERENTIAL");
    }
  }
}
