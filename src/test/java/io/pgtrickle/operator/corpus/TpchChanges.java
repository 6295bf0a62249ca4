package io.pgtrickle.operator.corpus;

import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.TreeSet;

/**
 * One round of changes to the TPC-H tables: TPC-H's refresh functions (RF1 inserts new orders with
 * their line items, RF2 deletes old orders with theirs) and updates of prices, quantities,
 * discounts, balances and priorities. Every choice comes from the round's {@link Random}, and rows
 * are chosen from key-ordered lists, so a seed replays the same changes.
 */
final class TpchChanges {
  private final CorpusDatabase db;
  private final Random random;
  private final List<String> log = new ArrayList<>();

  TpchChanges(CorpusDatabase db, Random random) {
    this.db = db;
    this.random = random;
  }

  /** What was done, one line a step, for the failure report. */
  List<String> log() {
    return log;
  }

  /** RF1: the orders of generator part {@code part}, with their line items, in one transaction. */
  void rf1(TpchData data, int part) throws SQLException {
    long rows = data.insertPart(part);
    log.add("RF1: inserted generator part " + part + "/" + TpchData.PARTS + " (" + rows + " rows)");
  }

  /** RF2: deletes {@code count} existing orders, chosen at random, with their line items. */
  void rf2(int count) throws SQLException {
    List<String> keys = db.column("SELECT o_orderkey FROM orders ORDER BY o_orderkey");
    TreeSet<Long> chosen = new TreeSet<>();
    while (chosen.size() < Math.min(count, keys.size())) {
      chosen.add(Long.parseLong(keys.get(random.nextInt(keys.size()))));
    }
    String array = "'{" + String.join(",", chosen.stream().map(String::valueOf).toList()) + "}'";
    db.transaction(
        List.of(
            "DELETE FROM lineitem WHERE l_orderkey = ANY (" + array + "::bigint[])",
            "DELETE FROM orders WHERE o_orderkey = ANY (" + array + "::bigint[])"));
    log.add("RF2: deleted orders " + chosen + " and their line items");
  }

  /** Price, quantity, discount, balance and priority updates, in one transaction. */
  void updates(int lineItems, int others) throws SQLException {
    List<String> statements = new ArrayList<>();
    List<String> items =
        db.column(
            "SELECT l_orderkey || ',' || l_linenumber FROM lineitem"
                + " ORDER BY l_orderkey, l_linenumber");
    for (int i = 0; i < lineItems && !items.isEmpty(); i++) {
      String[] key = items.get(random.nextInt(items.size())).split(",", -1);
      int quantity = 1 + random.nextInt(50);
      String where = " WHERE l_orderkey = " + key[0] + " AND l_linenumber = " + key[1];
      statements.add(
          random.nextBoolean()
              ? "UPDATE lineitem SET l_extendedprice = round(l_extendedprice / l_quantity * "
                  + quantity
                  + ", 2), l_quantity = "
                  + quantity
                  + where
              : "UPDATE lineitem SET l_discount = "
                  + String.format(Locale.ROOT, "0.%02d", random.nextInt(11))
                  + where);
    }
    List<String> parts = db.column("SELECT p_partkey FROM part ORDER BY 1");
    List<String> customers = db.column("SELECT c_custkey FROM customer ORDER BY 1");
    List<String> orders = db.column("SELECT o_orderkey FROM orders ORDER BY 1");
    List<String> partsupps =
        db.column("SELECT ps_partkey || ',' || ps_suppkey FROM partsupp ORDER BY 1");
    String[] priorities = {"1-URGENT", "2-HIGH", "3-MEDIUM", "4-NOT SPECIFIED", "5-LOW"};
    for (int i = 0; i < others; i++) {
      statements.add(
          "UPDATE part SET p_retailprice = p_retailprice + "
              + cents(-5000, 5000)
              + " WHERE p_partkey = "
              + pick(parts));
      String[] ps = pick(partsupps).split(",", -1);
      statements.add(
          "UPDATE partsupp SET ps_supplycost = greatest(1.00, ps_supplycost + "
              + cents(-2000, 2000)
              + "), ps_availqty = "
              + (1 + random.nextInt(9999))
              + " WHERE ps_partkey = "
              + ps[0]
              + " AND ps_suppkey = "
              + ps[1]);
      statements.add(
          "UPDATE customer SET c_acctbal = "
              + cents(-99999, 999999)
              + " WHERE c_custkey = "
              + pick(customers));
      statements.add(
          "UPDATE orders SET o_totalprice = o_totalprice + "
              + cents(-10000, 10000)
              + ", o_orderpriority = '"
              + priorities[random.nextInt(priorities.length)]
              + "' WHERE o_orderkey = "
              + pick(orders));
    }
    db.transaction(statements);
    log.add("updates: " + statements.size() + " statements: " + String.join("; ", statements));
  }

  private String pick(List<String> values) {
    return values.get(random.nextInt(values.size()));
  }

  /** A random amount of money in [{@code low}, {@code high}) cents, as a decimal literal. */
  private String cents(int low, int high) {
    int value = low + random.nextInt(high - low);
    return (value < 0 ? "-" : "")
        + Math.abs(value) / 100
        + "."
        + String.format(Locale.ROOT, "%02d", Math.abs(value) % 100);
  }
}
