package io.pgtrickle.operator.cdc.wal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgtrickle.operator.catalog.CatalogMigrator;
import io.pgtrickle.operator.catalog.CdcMode;
import io.pgtrickle.operator.catalog.ChangeTrackingRegistry;
import io.pgtrickle.operator.catalog.Placement;
import io.pgtrickle.operator.catalog.ResolvedTable;
import io.pgtrickle.operator.catalog.SourceRegistration;
import io.pgtrickle.operator.catalog.TableLookup;
import io.pgtrickle.operator.cdc.ChangeBuffer;
import io.pgtrickle.operator.naming.ObjectNames;
import io.pgtrickle.operator.naming.StableName;
import io.pgtrickle.operator.testing.TestDatabase;
import io.pgtrickle.operator.testing.TestPostgres;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Test (a) of the Citus issue, without Citus: a coordinator and two "worker" servers, each worker
 * holding part of a table's rows in a same-named table with its own pgoutput slot; the consumer
 * moves every committed change into the coordinator's buffer with per-node frontiers, exactly once
 * across crashes at every step.
 */
class WalConsumerIT {
  private static final AtomicInteger DATABASES = new AtomicInteger();

  private TestDatabase coordinator;
  private final List<TestDatabase> workers = new ArrayList<>();
  private StableName source;
  private ObjectNames names;

  @BeforeEach
  void setUp() throws Exception {
    String database = "walnodes_" + DATABASES.incrementAndGet();
    coordinator = create(0, database);
    workers.add(create(1, database));
    workers.add(create(2, database));
    for (TestDatabase worker : workers) {
      write(
          worker,
          "CREATE TABLE public.orders (id int PRIMARY KEY, note text, amount numeric)",
          "ALTER TABLE public.orders REPLICA IDENTITY FULL");
    }
    coordinator.execute(
        "CREATE TABLE public.orders (id int PRIMARY KEY, note text, amount numeric)");
    CatalogMigrator.migrate(coordinator.dataSource());
    try (Connection connection = coordinator.connect()) {
      ResolvedTable table = TableLookup.byName(connection, "public", "orders").orElseThrow();
      source =
          new ChangeTrackingRegistry()
              .register(
                  connection, new SourceRegistration(table, Placement.DISTRIBUTED, CdcMode.WAL));
      names = new ObjectNames(source);
      ChangeBuffer.create(connection, names);
    }
    for (TestDatabase worker : workers) {
      try (Connection node = worker.connect()) {
        SlotReader.ensure(node, "public", "orders", names);
      }
    }
  }

  @AfterEach
  void dropSlots() throws Exception {
    for (TestDatabase worker : workers) {
      try (Connection node = worker.connect()) {
        SlotReader.drop(node, names);
      }
    }
  }

  @Test
  void everyCommittedChangeOfEveryNodeArrivesOnceWithItsNodeFrontier() throws Exception {
    write(
        workers.get(0),
        "INSERT INTO orders VALUES (1, 'plain', 10), (2, 'a, \"quoted\" (note)', 20), (3, NULL, 30)");
    write(workers.get(1), "INSERT INTO orders VALUES (101, '', 1.5)");
    write(workers.get(0), "UPDATE orders SET amount = amount + 1 WHERE id = 1");
    write(workers.get(1), "DELETE FROM orders WHERE id = 101");
    write(workers.get(1), "INSERT INTO orders VALUES (102, 'x', 2)", "TRUNCATE orders");

    WalConsumer consumer = new WalConsumer(coordinator.dataSource());
    consumeAll(consumer);

    // Rows look exactly as triggers would have written them (row::text on the source).
    assertThat(bufferRows(1, 'I'))
        .containsExactlyInAnyOrder(
            "(1,plain,10)", "(2,\"a, \"\"quoted\"\" (note)\",20)", "(3,,30)", "(1,plain,11)");
    assertThat(bufferRows(1, 'D')).containsExactly("(1,plain,10)");
    assertThat(bufferRows(2, 'I')).containsExactly("(101,\"\",1.5)", "(102,x,2)");
    assertThat(
            coordinator.queryLong(
                "SELECT count(*) FROM "
                    + names.changeBufferQualified()
                    + " WHERE origin_node = 2 AND op = 'T'"))
        .isEqualTo(1);
    assertThat(bufferRows(2, 'D')).containsExactly("(101,\"\",1.5)");
    assertThat(
            workers.get(0).queryString("SELECT string_agg(o::text, ';' ORDER BY id) FROM orders o"))
        .isEqualTo("(1,plain,11);(2,\"a, \"\"quoted\"\" (note)\",20);(3,,30)");

    // Each node's frontier is its own LSN, and the slots were released up to it.
    for (int node = 1; node <= 2; node++) {
      String frontier = frontierOf(node);
      assertThat(frontier).matches("[0-9A-F]+/[0-9A-F]+");
      assertThat(
              workers
                  .get(node - 1)
                  .queryLong(
                      "SELECT pg_wal_lsn_diff(confirmed_flush_lsn, '"
                          + frontier
                          + "')"
                          + " FROM pg_replication_slots WHERE slot_name = '"
                          + names.replicationSlot()
                          + "'"))
          .isPositive();
    }
    assertThat(consumer.consume(workers.get(0).connect(), 1, source, 1000).transactions()).isZero();
  }

  @ParameterizedTest
  @EnumSource(WalConsumer.Step.class)
  void aCrashAtAnyStepLosesNothingAndAppliesNothingTwice(WalConsumer.Step step) throws Exception {
    TestDatabase worker = workers.get(0);
    write(worker, "INSERT INTO orders VALUES (1, 'a', 1)");
    consumeAll(new WalConsumer(coordinator.dataSource()));
    write(worker, "INSERT INTO orders VALUES (2, 'b', 2)", "INSERT INTO orders VALUES (3, 'c', 3)");
    write(worker, "UPDATE orders SET note = 'z' WHERE id = 2");

    WalConsumer crashing =
        new WalConsumer(
            coordinator.dataSource(),
            at -> {
              if (at == step) {
                throw new SQLException("injected crash at " + at);
              }
            });
    try (Connection node = worker.connect()) {
      assertThatThrownBy(() -> crashing.consume(node, 1, source, 1000))
          .hasMessageContaining("injected crash");
    }
    consumeAll(new WalConsumer(coordinator.dataSource()));
    consumeAll(new WalConsumer(coordinator.dataSource()));

    assertThat(bufferRows(1, 'I'))
        .containsExactlyInAnyOrder("(1,a,1)", "(2,b,2)", "(3,c,3)", "(2,z,2)");
    assertThat(bufferRows(1, 'D')).containsExactly("(2,b,2)");
  }

  @Test
  void aSessionKilledBeforeTheSlotAdvancesIsSkippedByTheFrontier() throws Exception {
    TestDatabase worker = workers.get(0);
    write(worker, "INSERT INTO orders VALUES (1, 'a', 1)", "INSERT INTO orders VALUES (2, 'b', 2)");
    // The node session dies after the coordinator committed: the slot cannot advance.
    Connection doomed = worker.connect();
    WalConsumer killing =
        new WalConsumer(
            coordinator.dataSource(),
            at -> {
              if (at == WalConsumer.Step.COMMITTED) {
                try (var statement = doomed.createStatement()) {
                  statement.execute("SELECT pg_terminate_backend(pg_backend_pid())");
                }
              }
            });
    assertThatThrownBy(() -> killing.consume(doomed, 1, source, 1000))
        .isInstanceOf(SQLException.class);
    assertThat(bufferRows(1, 'I')).hasSize(2);

    try (Connection node = worker.connect()) {
      WalConsumer.Consumed again =
          new WalConsumer(coordinator.dataSource()).consume(node, 1, source, 1000);
      assertThat(again.transactions()).isZero();
      assertThat(again.skipped()).isEqualTo(2);
    }
    assertThat(bufferRows(1, 'I')).containsExactlyInAnyOrder("(1,a,1)", "(2,b,2)");
  }

  /**
   * Writes on a worker with synchronous_commit on: logical decoding over SQL reads only flushed
   * WAL, and the embedded test servers run with synchronous_commit off.
   */
  @Test
  void anIdleNodesSlotMovesPastWhatOtherTablesWroteThere() throws Exception {
    write(workers.get(0), "INSERT INTO orders VALUES (1, 'only node 1 has changes', 1)");
    for (TestDatabase worker : workers) {
      write(
          worker,
          "CREATE TABLE other (id int, payload text)",
          "INSERT INTO other SELECT g, repeat('x', 500) FROM generate_series(1, 2000) g");
    }
    String[] before = new String[2];
    for (int node = 1; node <= 2; node++) {
      before[node - 1] =
          workers.get(node - 1).queryString("SELECT pg_current_wal_flush_lsn()::text");
    }

    consumeAll(new WalConsumer(coordinator.dataSource()));

    for (int node = 1; node <= 2; node++) {
      assertThat(
              workers
                  .get(node - 1)
                  .queryString(
                      "SELECT (confirmed_flush_lsn >= '"
                          + before[node - 1]
                          + "'::pg_lsn)::text FROM pg_replication_slots WHERE slot_name = '"
                          + names.replicationSlot()
                          + "'"))
          .as("node %d's slot moved past the other table's writes", node)
          .isEqualTo("true");
    }
    assertThat(bufferRows(1, 'I')).containsExactly("(1,\"only node 1 has changes\",1)");
    consumeAll(new WalConsumer(coordinator.dataSource()));
    assertThat(bufferRows(1, 'I')).hasSize(1); // nothing applied twice
  }

  private static void write(TestDatabase worker, String... sql) throws SQLException {
    String[] statements = new String[sql.length + 1];
    statements[0] = "SET synchronous_commit = on";
    System.arraycopy(sql, 0, statements, 1, sql.length);
    worker.execute(statements);
  }

  private void consumeAll(WalConsumer consumer) throws SQLException {
    for (int node = 1; node <= 2; node++) {
      try (Connection connection = workers.get(node - 1).connect()) {
        consumer.consume(connection, node, source, 1000);
      }
    }
  }

  private List<String> bufferRows(int node, char op) throws SQLException {
    List<String> rows = new ArrayList<>();
    try (Connection connection = coordinator.connect();
        var statement =
            connection.prepareStatement(
                "SELECT row_data FROM "
                    + names.changeBufferQualified()
                    + " WHERE origin_node = ? AND op = ? ORDER BY origin_lsn")) {
      statement.setInt(1, node);
      statement.setString(2, String.valueOf(op));
      try (var rs = statement.executeQuery()) {
        while (rs.next()) {
          rows.add(rs.getString(1));
        }
      }
    }
    return rows;
  }

  private String frontierOf(int node) throws SQLException {
    return coordinator.queryString(
        "SELECT frontier_per_node ->> '"
            + node
            + "' FROM pgtrickle.pgt_change_tracking"
            + " WHERE source_stable_name = '"
            + source
            + "'");
  }

  private static TestDatabase create(int server, String database) throws SQLException {
    TestPostgres.server(server).createDatabase(database);
    return new TestDatabase(TestPostgres.server(server), database);
  }
}
