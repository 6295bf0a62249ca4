package io.pgtrickle.operator.bench;

import java.sql.Statement;
import java.util.List;

/**
 * The star schema of the refresh harnesses: a fact table {@code sales} (primary key, an index on
 * each foreign key) and two dimensions, {@code customers} (10,000 rows) and {@code products}
 * (1,000), and the three query shapes measured over it.
 */
final class SalesSchema {
  /** One measured query shape. */
  record Shape(String key, String label, String query) {}

  static final List<Shape> SHAPES =
      List.of(
          new Shape(
              "filter",
              "filter/projection (50% of rows)",
              "SELECT id, customer_id, amount FROM sales WHERE quantity > 5"),
          new Shape(
              "join",
              "3-way join (every row)",
              "SELECT s.id, s.amount, c.region, p.category FROM sales s"
                  + " JOIN customers c ON c.id = s.customer_id"
                  + " JOIN products p ON p.id = s.product_id"),
          new Shape(
              "aggregate",
              "GROUP BY count/sum/avg (10k groups)",
              "SELECT customer_id, count(*) AS orders, sum(amount) AS revenue,"
                  + " avg(amount) AS avg_amount FROM sales GROUP BY customer_id"));

  private SalesSchema() {}

  /** Creates and fills the three tables; {@code rows} sales. */
  static void load(Statement statement, long rows) throws Exception {
    statement.execute(
        "CREATE TABLE customers (id int PRIMARY KEY, name text NOT NULL, region text NOT NULL,"
            + " segment text NOT NULL)");
    statement.execute(
        "INSERT INTO customers SELECT g, 'customer ' || g,"
            + " (ARRAY['EU', 'NA', 'APAC', 'LATAM'])[1 + g % 4],"
            + " (ARRAY['retail', 'smb', 'enterprise'])[1 + g % 3]"
            + " FROM generate_series(1, 10000) g");
    statement.execute(
        "CREATE TABLE products (id int PRIMARY KEY, name text NOT NULL, category text NOT NULL,"
            + " list_price numeric(10,2) NOT NULL)");
    statement.execute(
        "INSERT INTO products SELECT g, 'product ' || g, 'category ' || (g % 25),"
            + " 1 + (g % 500) * 0.25 FROM generate_series(1, 1000) g");
    statement.execute(
        "CREATE TABLE sales (id bigint PRIMARY KEY,"
            + " customer_id int NOT NULL REFERENCES customers,"
            + " product_id int NOT NULL REFERENCES products,"
            + " quantity int NOT NULL, amount numeric(12,2) NOT NULL, note text)");
    // Pseudo-random but repeatable: customers, products, quantities and amounts independent of
    // the id, so a change of every 1000th row touches about as many groups as rows and half of
    // its rows are in the filter.
    statement.execute("SELECT setseed(0.42)");
    statement.execute(
        "INSERT INTO sales SELECT g, 1 + floor(random() * 10000)::int,"
            + " 1 + floor(random() * 1000)::int, 1 + floor(random() * 10)::int,"
            + " round((random() * 1000)::numeric, 2), 'sale ' || g FROM generate_series(1, "
            + rows
            + ") g");
    statement.execute("CREATE INDEX ON sales (customer_id)");
    statement.execute("CREATE INDEX ON sales (product_id)");
    statement.execute("VACUUM ANALYZE customers, products, sales");
  }
}
