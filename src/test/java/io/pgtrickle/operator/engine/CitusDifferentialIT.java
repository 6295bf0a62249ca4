package io.pgtrickle.operator.engine;

import static io.pgtrickle.operator.engine.EngineTestSupport.OWNER;
import static io.pgtrickle.operator.engine.EngineTestSupport.spec;
import static io.pgtrickle.operator.testing.StreamTableAssertions.assertMatchesQuery;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgtrickle.operator.api.PlacementMode;
import io.pgtrickle.operator.api.RefreshMode;
import io.pgtrickle.operator.api.StreamTableSpec;
import io.pgtrickle.operator.testing.CitusTestCluster;
import io.pgtrickle.operator.testing.RequiresCitus;
import io.pgtrickle.operator.testing.StreamTableAssertions;
import io.pgtrickle.operator.testing.TestDatabase;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Differential refresh on a real coordinator and two workers (issue 11): a star schema with a
 * distributed fact co-located with a distributed dimension, two reference dimensions and a local
 * table. Forms that read the change alone run DIFFERENTIAL while both workers take writes, into
 * local and distributed storage; inner joins too, behind the write barrier; outer joins refresh in
 * full and say why.
 */
@RequiresCitus
class CitusDifferentialIT {
  private TestDatabase db;
  private StreamTableEngine engine;

  @BeforeEach
  void setUp() throws Exception {
    CitusTestCluster cluster = CitusTestCluster.shared();
    db = new TestDatabase(cluster.coordinator(), CitusTestCluster.DATABASE);
    cluster.onCoordinator(
        "DROP TABLE IF EXISTS cd_sales, cd_customers, cd_products, cd_regions, cd_notes CASCADE",
        "CREATE TABLE cd_regions (id int PRIMARY KEY, name text)",
        "SELECT create_reference_table('cd_regions')",
        "CREATE TABLE cd_products (id int PRIMARY KEY, category text, price numeric)",
        "SELECT create_reference_table('cd_products')",
        "CREATE TABLE cd_customers (tenant_id int, id int, region_id int, name text,"
            + " PRIMARY KEY (tenant_id, id))",
        "SELECT create_distributed_table('cd_customers', 'tenant_id')",
        "CREATE TABLE cd_sales (tenant_id int, id int, customer_id int, product_id int,"
            + " qty int, amount numeric, PRIMARY KEY (tenant_id, id))",
        "SELECT create_distributed_table('cd_sales', 'tenant_id', colocate_with => 'cd_customers')",
        "CREATE TABLE cd_notes (id int PRIMARY KEY, note text)",
        "ALTER TABLE cd_regions REPLICA IDENTITY FULL",
        "ALTER TABLE cd_products REPLICA IDENTITY FULL",
        "ALTER TABLE cd_customers REPLICA IDENTITY FULL",
        "ALTER TABLE cd_sales REPLICA IDENTITY FULL",
        "INSERT INTO cd_regions VALUES (1, 'emea'), (2, 'amer'), (3, 'apac')",
        "INSERT INTO cd_products SELECT g, 'c' || (g % 4), g * 1.5 FROM generate_series(1, 20) g",
        "INSERT INTO cd_customers SELECT g % 16, g, 1 + g % 3, 'n' || g"
            + " FROM generate_series(1, 64) g",
        "INSERT INTO cd_sales SELECT g % 16, g, g % 64, 1 + g % 20, 1 + g % 5, g % 97"
            + " FROM generate_series(1, 400) g",
        "INSERT INTO cd_notes VALUES (1, 'one')");
    engine = EngineTestSupport.citusEngine(db);
  }

  @AfterEach
  void dropStreamTables() throws Exception {
    for (StreamTableRecord record : engine.list()) {
      engine.drop(record.schema(), record.name(), OWNER);
    }
  }

  @Test
  void formsThatReadTheChangeAloneRunDifferentialWhileBothWorkersWrite() throws Exception {
    Map<String, String> queries = new java.util.LinkedHashMap<>();
    queries.put("cd_big", "SELECT tenant_id, id, amount FROM cd_sales WHERE amount > 50");
    // duplicates: a bag whose copies are numbered in distributed storage
    queries.put("cd_pairs", "SELECT product_id, qty FROM cd_sales WHERE amount > 20");
    queries.put(
        "cd_by_product",
        "SELECT product_id, count(*) AS n, sum(amount) AS total, avg(qty) AS mean_qty"
            + " FROM cd_sales GROUP BY product_id");
    queries.put("cd_totals", "SELECT count(*) AS n, sum(amount) AS total FROM cd_sales");
    queries.put(
        "cd_distinct",
        "SELECT qty, count(DISTINCT product_id) AS products FROM cd_sales GROUP BY qty");
    queries.put(
        "cd_union",
        "SELECT id FROM cd_sales WHERE amount > 90 UNION ALL SELECT id FROM cd_customers"
            + " WHERE region_id = 2");
    for (Map.Entry<String, String> q : queries.entrySet()) {
      PlacementMode placement =
          q.getKey().equals("cd_distinct") || q.getKey().equals("cd_union")
              ? PlacementMode.REFERENCE
              : PlacementMode.AUTO;
      engine.apply(definition(q.getKey(), q.getValue(), placement), OWNER);
    }
    assertThat(placement("cd_distinct")).isEqualTo("reference");
    assertThat(placement("cd_union")).isEqualTo("reference");
    assertThat(placement("cd_big")).isEqualTo("distributed");
    assertThat(placement("cd_pairs")).isEqualTo("distributed");
    assertThat(placement("cd_by_product")).isEqualTo("distributed");
    assertThat(placement("cd_totals")).isEqualTo("distributed");
    engine.apply(
        definition("cd_by_product_local", queries.get("cd_by_product"), PlacementMode.LOCAL),
        OWNER);
    queries.put("cd_by_product_local", queries.get("cd_by_product"));
    engine.apply(definition("cd_pairs_local", queries.get("cd_pairs"), PlacementMode.LOCAL), OWNER);
    queries.put("cd_pairs_local", queries.get("cd_pairs"));

    staysDifferentialAndExactWhileWriting(queries, 6, null);
  }

  /**
   * AUTO runs FULL on a large change (and after a TRUNCATE marker): on Citus storage of groups it
   * replaces the groups by their row id (no ctid across nodes).
   */
  @Test
  void aFullRefreshOfGroupsInCitusStorageKeepsThemEqual() throws Exception {
    String query =
        "SELECT product_id, count(*) AS n, sum(amount) AS total FROM cd_sales"
            + " WHERE qty > 1 GROUP BY product_id";
    engine.apply(definition("cd_ref", query, PlacementMode.REFERENCE, RefreshMode.AUTO), OWNER);
    engine.apply(definition("cd_dist", query, PlacementMode.AUTO, RefreshMode.AUTO), OWNER);
    assertThat(placement("cd_ref")).isEqualTo("reference");
    assertThat(placement("cd_dist")).isEqualTo("distributed");
    db.execute(
        "UPDATE cd_sales SET qty = 1 + (qty + 1) % 5, product_id = 1 + id % 7",
        "DELETE FROM cd_sales WHERE product_id = 3",
        "INSERT INTO cd_sales VALUES (4, 8001, 4, 99, 4, 5)");
    for (String name : List.of("cd_ref", "cd_dist")) {
      refreshUntilEqual(name, query);
      assertThat(lastMode(name)).as(name).isEqualTo("FULL");
    }
    db.execute("INSERT INTO cd_sales VALUES (5, 8002, 5, 99, 4, 6)");
    for (String name : List.of("cd_ref", "cd_dist")) {
      refreshUntilEqual(name, query);
      assertThat(lastMode(name)).as(name).isEqualTo("DIFFERENTIAL");
    }
  }

  /** A bag in Citus storage numbers its copies; FULL keeps the numbering (1..n per row). */
  @Test
  void aFullRefreshOfRowsInCitusStorageKeepsTheirCopiesNumbered() throws Exception {
    String query = "SELECT product_id, qty FROM cd_sales WHERE amount > 10";
    engine.apply(definition("cd_rows", query, PlacementMode.AUTO, RefreshMode.AUTO), OWNER);
    assertThat(placement("cd_rows")).isEqualTo("distributed");
    db.execute("UPDATE cd_sales SET amount = amount + 60, qty = 1 + id % 2 WHERE id % 3 = 0");
    refreshUntilEqual("cd_rows", query);
    assertThat(lastMode("cd_rows")).isEqualTo("FULL");
    db.execute(
        "INSERT INTO cd_sales VALUES (7, 8101, 7, 5, 2, 50), (8, 8102, 8, 5, 2, 50)",
        "DELETE FROM cd_sales WHERE id IN (SELECT id FROM cd_sales WHERE product_id = 5"
            + " AND qty = 2 AND amount > 10 ORDER BY id LIMIT 1)");
    refreshUntilEqual("cd_rows", query);
    assertThat(lastMode("cd_rows")).isEqualTo("DIFFERENTIAL");
    assertThat(
            db.queryLong(
                "SELECT count(*) FROM (SELECT pgt_row_id, count(*) AS n, max(pgt_copy) AS top,"
                    + " min(pgt_copy) AS bottom FROM cd_rows GROUP BY pgt_row_id) c"
                    + " WHERE c.n <> c.top OR c.bottom <> 1"))
        .as("copies numbered 1..n per row")
        .isZero();
  }

  /**
   * Inner joins (with a reference dimension; with a co-located distributed dimension and a second
   * reference one; rows and groups, local and distributed storage) and min/max (a group whose
   * extreme goes recomputed from the tables) run DIFFERENTIAL behind the write barrier, held until
   * the refresh commits, while both workers' sales and both kinds of dimension change. An outer
   * join is refused for DIFFERENTIAL and refreshed in full under AUTO, with why.
   */
  @Test
  void innerJoinsRunDifferentialBehindTheBarrierWhileFactsAndDimensionsChange() throws Exception {
    Map<String, String> queries = new java.util.LinkedHashMap<>();
    queries.put(
        "cd_by_category",
        "SELECT p.category, count(*) AS n, sum(s.amount) AS total FROM cd_sales s"
            + " JOIN cd_products p ON p.id = s.product_id GROUP BY p.category");
    queries.put(
        "cd_by_region",
        "SELECT r.name, count(*) AS n, sum(s.qty) AS q FROM cd_sales s JOIN cd_customers c"
            + " ON c.tenant_id = s.tenant_id AND c.id = s.customer_id JOIN cd_regions r"
            + " ON r.id = c.region_id GROUP BY r.name");
    queries.put(
        "cd_extremes",
        "SELECT p.category, min(s.amount) AS lo, max(s.amount) AS hi FROM cd_sales s"
            + " JOIN cd_products p ON p.id = s.product_id GROUP BY p.category");
    queries.put(
        "cd_product_extremes",
        "SELECT product_id, min(amount) AS lo, max(qty) AS hi, count(*) AS n FROM cd_sales"
            + " GROUP BY product_id");
    queries.put(
        "cd_lines",
        "SELECT s.tenant_id, s.id, p.category, s.amount * p.price AS value FROM cd_sales s"
            + " JOIN cd_products p ON p.id = s.product_id WHERE s.amount > 60");
    for (Map.Entry<String, String> q : queries.entrySet()) {
      engine.apply(definition(q.getKey(), q.getValue(), PlacementMode.AUTO), OWNER);
    }
    engine.apply(
        definition("cd_by_category_local", queries.get("cd_by_category"), PlacementMode.LOCAL),
        OWNER);
    queries.put("cd_by_category_local", queries.get("cd_by_category"));
    staysDifferentialAndExactWhileWriting(
        queries,
        5,
        stop -> {
          int n = 0;
          while (!stop.get() && n < 60) {
            db.execute(
                "UPDATE cd_products SET category = 'c' || ((id + "
                    + n
                    + ") % 5), price = price + 1 WHERE id = "
                    + (1 + n % 20),
                "UPDATE cd_regions SET name = name || 'x' WHERE id = " + (1 + n % 3));
            n++;
          }
          return n;
        });

    // Each product's and category's current minimum goes: those groups are recomputed.
    db.execute(
        "DELETE FROM cd_sales s USING (SELECT product_id, min(amount) AS lo FROM cd_sales"
            + " GROUP BY product_id) m WHERE s.product_id = m.product_id AND s.amount = m.lo");
    for (String name : List.of("cd_product_extremes", "cd_extremes")) {
      refreshUntilEqual(name, queries.get(name));
      assertThat(lastMode(name)).as(name + ": " + lastReason(name)).isEqualTo("DIFFERENTIAL");
    }

    String outer =
        "SELECT s.id, p.category FROM cd_sales s LEFT JOIN cd_products p ON p.id = s.product_id";
    assertThatThrownBy(
            () ->
                engine.apply(
                    definition("cd_outer", outer, PlacementMode.AUTO, RefreshMode.DIFFERENTIAL),
                    OWNER))
        .isInstanceOfSatisfying(
            EngineException.class, e -> assertThat(e.reason()).isEqualTo(Reason.InvalidSpec))
        .hasMessageContaining("outer joins");
    engine.apply(definition("cd_outer", outer, PlacementMode.AUTO, RefreshMode.AUTO), OWNER);
    db.execute("UPDATE cd_products SET category = 'moved' WHERE id = 3");
    refreshUntilEqual("cd_outer", outer);
    assertThat(lastMode("cd_outer")).isEqualTo("FULL");
    assertThat(lastReason("cd_outer")).contains("outer joins");
  }

  /**
   * A FULL refresh reads the workers after taking its snapshot on the coordinator, and no snapshot
   * spans the nodes: a worker's commit after the write barrier was let go would be read by the FULL
   * and applied again when its slot delivers it. The barrier is held until the refresh commits, so
   * a write started during the refresh waits for it, and is then applied once, differentially.
   */
  @Test
  void aWriteDuringAFullRefreshIsReadByTheNextRefreshOnly() throws Exception {
    java.util.concurrent.atomic.AtomicInteger lockedSteps =
        new java.util.concurrent.atomic.AtomicInteger(-1);
    ExecutorService pool = Executors.newSingleThreadExecutor();
    java.util.concurrent.atomic.AtomicReference<Future<?>> late =
        new java.util.concurrent.atomic.AtomicReference<>();
    StreamTableEngine hooked =
        EngineTestSupport.citusEngine(
            db,
            (step, connection) -> {
              // The refresh's first attempt finds it runs FULL and runs again behind the barrier:
              // the write is made at the second attempt's LOCKED step, after its snapshot.
              if (step == Refresher.Step.LOCKED
                  && lockedSteps.get() >= 0
                  && lockedSteps.incrementAndGet() == 2) {
                Future<?> insert =
                    pool.submit(
                        () -> {
                          db.execute("INSERT INTO cd_sales VALUES (3, 9100, 3, 3, 1, 10)");
                          return null;
                        });
                late.set(insert);
                try {
                  insert.get(1, java.util.concurrent.TimeUnit.SECONDS);
                } catch (java.util.concurrent.TimeoutException e) {
                  // held back by the barrier, as it should be
                } catch (Exception e) {
                  throw new java.sql.SQLException(e);
                }
              }
            });
    String query =
        "SELECT product_id, count(*) AS n, sum(amount) AS total FROM cd_sales GROUP BY product_id";
    hooked.apply(definition("cd_full", query, PlacementMode.LOCAL, RefreshMode.AUTO), OWNER);
    db.execute("UPDATE cd_sales SET amount = amount + 1"); // every row: AUTO runs FULL
    lockedSteps.set(0);
    long deadline = System.nanoTime() + 20_000_000_000L;
    while (late.get() == null && System.nanoTime() < deadline) {
      hooked.refresh("public", "cd_full");
    }
    assertThat(late.get()).as("the write was made during a FULL refresh").isNotNull();
    assertThat(lastMode("cd_full")).isEqualTo("FULL");
    late.get().get();
    pool.shutdown();
    // The FULL did not read it (the write waited for the refresh's commit)...
    assertThat(db.queryLong("SELECT n FROM cd_full WHERE product_id = 3"))
        .as("product 3's count after the FULL refresh, one less than the query's now")
        .isEqualTo(db.queryLong("SELECT count(*) FROM cd_sales WHERE product_id = 3") - 1);
    // ...and the next refreshes apply it once.
    deadline = System.nanoTime() + 20_000_000_000L;
    while (StreamTableAssertions.differences(db, "cd_full", query) != 0
        && System.nanoTime() < deadline) {
      hooked.refresh("public", "cd_full");
      Thread.sleep(100);
    }
    assertMatchesQuery(db, "cd_full", query);
    assertThat(lastMode("cd_full"))
        .as(
            db.queryString(
                "SELECT last_refresh_reason FROM pgtrickle.pgt_stream_tables"
                    + " WHERE st_name = 'cd_full'"))
        .isEqualTo("DIFFERENTIAL");
  }

  /**
   * A two-phase commit half done on a worker (its coordinator's part committed, its own prepared)
   * would commit after the drain and be read by the refresh: a refresh behind the barrier waits for
   * it, and fails, saying so, when it does not end.
   */
  @Test
  void aRefreshBehindTheBarrierWaitsForPreparedTransactions() throws Exception {
    String query = "SELECT product_id, count(*) AS n FROM cd_sales GROUP BY product_id";
    engine.apply(definition("cd_2pc", query, PlacementMode.LOCAL, RefreshMode.AUTO), OWNER);
    TestDatabase worker =
        new TestDatabase(CitusTestCluster.shared().workers().get(0), CitusTestCluster.DATABASE);
    worker.execute("CREATE TABLE IF NOT EXISTS cd_2pc_probe (x int)");
    try (java.sql.Connection connection = worker.connect();
        java.sql.Statement statement = connection.createStatement()) {
      statement.execute("BEGIN");
      statement.execute("INSERT INTO cd_2pc_probe VALUES (1)");
      statement.execute("PREPARE TRANSACTION 'cd_2pc_probe'");
    }
    try {
      db.execute("UPDATE cd_sales SET amount = amount + 1"); // every row: AUTO runs FULL
      assertThatThrownBy(() -> refreshUntilApplied("cd_2pc"))
          .isInstanceOfSatisfying(
              EngineException.class, e -> assertThat(e.reason()).isEqualTo(Reason.RefreshFailed))
          .hasMessageContaining("two-phase");
    } finally {
      worker.execute("COMMIT PREPARED 'cd_2pc_probe'", "DROP TABLE cd_2pc_probe");
    }
    refreshUntilEqual("cd_2pc", query);
  }

  /** Refreshes until a refresh applies something (WAL changes arrive once decoded), within 20 s. */
  private void refreshUntilApplied(String name) throws Exception {
    long deadline = System.nanoTime() + 20_000_000_000L;
    while (engine.refresh("public", name).kind() != RefreshOutcome.Kind.APPLIED
        && System.nanoTime() < deadline) {
      Thread.sleep(50);
    }
  }

  /** Writes until stopped; returns how many rounds it wrote. */
  private interface Writer {
    int writeUntil(AtomicBoolean stop) throws Exception;
  }

  /**
   * Refreshes each stream table {@code rounds} times while both workers' sales change (and {@code
   * dimensions}, if not null, writes too); then each must equal its query, have run DIFFERENTIAL
   * during the writes and end DIFFERENTIAL.
   */
  private void staysDifferentialAndExactWhileWriting(
      Map<String, String> queries, int rounds, Writer dimensions) throws Exception {
    AtomicBoolean stop = new AtomicBoolean();
    ExecutorService pool = Executors.newFixedThreadPool(3);
    List<Future<Integer>> writers = new ArrayList<>();
    for (int w = 0; w < 2; w++) {
      int writer = w;
      writers.add(pool.submit(() -> write(writer, stop)));
    }
    if (dimensions != null) {
      writers.add(pool.submit(() -> dimensions.writeUntil(stop)));
    }
    Map<String, Integer> differential = new java.util.HashMap<>();
    for (int round = 0; round < rounds; round++) {
      for (String name : queries.keySet()) {
        if (engine.refresh("public", name).kind() == RefreshOutcome.Kind.APPLIED
            && "DIFFERENTIAL".equals(lastMode(name))) {
          differential.merge(name, 1, Integer::sum);
        }
      }
    }
    stop.set(true);
    for (Future<Integer> w : writers) {
      assertThat(w.get()).isPositive();
    }
    pool.shutdown();
    for (Map.Entry<String, String> q : queries.entrySet()) {
      refreshUntilEqual(q.getKey(), q.getValue());
      assertThat(lastMode(q.getKey()))
          .as(q.getKey() + ": " + lastReason(q.getKey()))
          .isEqualTo("DIFFERENTIAL");
      assertThat(differential.getOrDefault(q.getKey(), 0)).as(q.getKey()).isPositive();
    }
  }

  /** Inserts, updates and deletes routed to both workers (tenants 0-15), until stopped. */
  private int write(int writer, AtomicBoolean stop) throws Exception {
    int n = 0;
    while (!stop.get() && n < 60) {
      int id = 10_000 * (writer + 1) + n;
      int tenant = (n + writer) % 16;
      db.execute(
          "INSERT INTO cd_sales VALUES ("
              + tenant
              + ", "
              + id
              + ", "
              + n % 64
              + ", "
              + (1 + n % 20)
              + ", "
              + (1 + n % 5)
              + ", "
              + (n * 7 % 101)
              + ")",
          "UPDATE cd_sales SET amount = amount + 3, product_id = 1 + (product_id + 1) % 20"
              + " WHERE id = "
              + (id - 2),
          "DELETE FROM cd_sales WHERE id = " + (id - 4),
          "UPDATE cd_customers SET region_id = 1 + (region_id % 3) WHERE id = " + (1 + n % 64));
      n++;
    }
    return n;
  }

  private void refreshUntilEqual(String name, String query) throws Exception {
    long deadline = System.nanoTime() + 20_000_000_000L;
    while (true) {
      engine.refresh("public", name);
      if (StreamTableAssertions.differences(db, name, query) == 0) {
        assertMatchesQuery(db, name, query);
        return;
      }
      if (System.nanoTime() > deadline) {
        assertMatchesQuery(db, name, query);
      }
      Thread.sleep(100);
    }
  }

  private String placement(String name) throws Exception {
    return db.queryString(
        "SELECT CASE p.partmethod WHEN 'h' THEN 'distributed' WHEN 'n' THEN 'reference' END"
            + " FROM pg_dist_partition p WHERE p.logicalrelid = 'public."
            + name
            + "'::regclass");
  }

  private String lastReason(String name) throws Exception {
    return db.queryString(
        "SELECT last_refresh_reason FROM pgtrickle.pgt_stream_tables WHERE st_name = '"
            + name
            + "'");
  }

  private String lastMode(String name) throws Exception {
    return db.queryString(
        "SELECT last_refresh_mode FROM pgtrickle.pgt_stream_tables WHERE st_name = '" + name + "'");
  }

  private static StreamTableDefinition definition(
      String name, String query, PlacementMode placement) throws EngineException {
    return definition(name, query, placement, RefreshMode.DIFFERENTIAL);
  }

  private static StreamTableDefinition definition(
      String name, String query, PlacementMode placement, RefreshMode mode) throws EngineException {
    StreamTableSpec spec = spec(name, query);
    spec.setPlacement(placement);
    spec.setRefreshMode(mode);
    return StreamTableDefinition.from(spec);
  }
}
