package io.pgtrickle.operator.engine;

import static io.pgtrickle.operator.engine.EngineTestSupport.OWNER;
import static io.pgtrickle.operator.engine.EngineTestSupport.definition;
import static io.pgtrickle.operator.engine.EngineTestSupport.engine;
import static io.pgtrickle.operator.testing.StreamTableAssertions.assertMatchesQuery;

import io.pgtrickle.operator.testing.TestDatabase;
import io.pgtrickle.operator.testing.TestPostgres;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** TEST-5: a stream table over two sources written at very different rates converges exactly. */
class ConvergenceIT {
  private static final String QUERY =
      "SELECT c.region, count(o.id) AS orders, coalesce(sum(o.amount), 0) AS total"
          + " FROM customers c LEFT JOIN orders o ON o.customer_id = c.id GROUP BY c.region";

  @Test
  void convergesAfterEveryRefreshWhateverTheWriteRates() throws Exception {
    TestDatabase db = TestPostgres.freshDatabase();
    db.execute(
        "CREATE TABLE customers (id int PRIMARY KEY, region text NOT NULL)",
        "CREATE TABLE orders (id int PRIMARY KEY, customer_id int, amount numeric(12, 2))",
        "INSERT INTO customers SELECT g, 'region-' || (g % 7) FROM generate_series(1, 50) g",
        "INSERT INTO orders SELECT g, 1 + g % 50, g * 1.5 FROM generate_series(1, 500) g");
    StreamTableEngine engine = engine(db);
    engine.apply(definition("revenue", QUERY), OWNER);
    Random random = new Random(42);
    int nextOrder = 1000;
    int nextCustomer = 1000;

    try (Connection connection = db.connect()) {
      for (int round = 0; round < 25; round++) {
        // orders: hundreds of writes per round; customers: one every fifth round.
        for (int i = 0; i < 200; i++) {
          nextOrder = writeOrder(connection, random, nextOrder);
        }
        if (round % 5 == 0) {
          try (PreparedStatement insert =
              connection.prepareStatement("INSERT INTO customers VALUES (?, ?)")) {
            insert.setInt(1, nextCustomer++);
            insert.setString(2, "region-" + random.nextInt(9));
            insert.executeUpdate();
          }
          try (PreparedStatement move =
              connection.prepareStatement("UPDATE customers SET region = ? WHERE id = ?")) {
            move.setString(1, "region-" + random.nextInt(9));
            move.setInt(2, 1 + random.nextInt(50));
            move.executeUpdate();
          }
        }
        engine.refresh("public", "revenue");
        assertMatchesQuery(db, "revenue", QUERY);
      }
    }
  }

  private static int writeOrder(Connection connection, Random random, int nextOrder)
      throws Exception {
    int kind = random.nextInt(10);
    if (kind < 6) {
      try (PreparedStatement insert =
          connection.prepareStatement("INSERT INTO orders VALUES (?, ?, ?)")) {
        insert.setInt(1, nextOrder);
        insert.setInt(2, 1 + random.nextInt(60));
        insert.setBigDecimal(3, java.math.BigDecimal.valueOf(random.nextInt(10_000), 2));
        insert.executeUpdate();
      }
      return nextOrder + 1;
    }
    String sql =
        kind < 9
            ? "UPDATE orders SET amount = amount + 1 WHERE id = ?"
            : "DELETE FROM orders WHERE id = ?";
    try (PreparedStatement statement = connection.prepareStatement(sql)) {
      statement.setInt(1, 1 + random.nextInt(nextOrder));
      statement.executeUpdate();
    }
    return nextOrder;
  }
}
