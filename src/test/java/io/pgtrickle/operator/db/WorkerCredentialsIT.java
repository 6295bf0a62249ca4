package io.pgtrickle.operator.db;

import static io.pgtrickle.operator.testing.StreamTableAssertions.assertMatchesQuery;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.pgtrickle.operator.api.PlacementMode;
import io.pgtrickle.operator.api.StreamTable;
import io.pgtrickle.operator.api.StreamTableSpec;
import io.pgtrickle.operator.embedded.EmbeddedPostgresServer;
import io.pgtrickle.operator.engine.EngineException;
import io.pgtrickle.operator.engine.Reason;
import io.pgtrickle.operator.engine.RefreshOutcome;
import io.pgtrickle.operator.engine.StreamTableDefinition;
import io.pgtrickle.operator.engine.StreamTableEngine;
import io.pgtrickle.operator.local.Manifests;
import io.pgtrickle.operator.local.TargetResolver;
import io.pgtrickle.operator.testing.ScriptedTopology;
import io.pgtrickle.operator.testing.TestDatabase;
import io.pgtrickle.operator.testing.TestPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Local mode with {@code --jdbc-url '...?user=...&password=...'} and no PGUSER/PGPASSWORD: the
 * Citus workers (plain PostgreSQL servers in a topology the test scripts) are reached with the
 * URL's credentials. The worker asks every role but postgres for a password, so the OS user the
 * driver falls back to is refused there.
 */
class WorkerCredentialsIT {
  private static final String ROLE = "pgt_worker_creds";
  private static final String PASSWORD = "w0rker-Pa55";
  private static final String OWNER = "local/default/order-totals";
  private static final String QUERY = "SELECT count(*) AS n, sum(amount) AS total FROM orders";
  private static final AtomicInteger DATABASES = new AtomicInteger();

  @TempDir static Path config;
  private static EmbeddedPostgresServer workerServer;

  private TestDatabase coordinator;
  private TestDatabase worker;
  private ScriptedTopology topology;

  @BeforeAll
  static void startAPasswordCheckingWorker() throws Exception {
    Path hba =
        Files.writeString(
            config.resolve("pg_hba.conf"),
            """
            local all all trust
            host all postgres 127.0.0.1/32 trust
            host all postgres ::1/128 trust
            host all all 127.0.0.1/32 scram-sha-256
            host all all ::1/128 scram-sha-256
            """);
    workerServer = EmbeddedPostgresServer.start(Map.of("hba_file", hba.toString()));
    new TestDatabase(workerServer, "postgres")
        .execute("CREATE ROLE " + ROLE + " LOGIN SUPERUSER PASSWORD '" + PASSWORD + "'");
    new TestDatabase(TestPostgres.server(0), "postgres")
        .execute(
            "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '"
                + ROLE
                + "') THEN CREATE ROLE "
                + ROLE
                + " LOGIN SUPERUSER; END IF; END $$");
  }

  @AfterAll
  static void stopTheWorker() {
    workerServer.close();
  }

  @BeforeEach
  void setUp() throws Exception {
    String database = "worker_creds_" + DATABASES.incrementAndGet();
    TestPostgres.server(0).createDatabase(database);
    workerServer.createDatabase(database);
    coordinator = new TestDatabase(TestPostgres.server(0), database);
    worker = new TestDatabase(workerServer, database);
    for (TestDatabase node : List.of(coordinator, worker)) {
      node.execute(
          "CREATE TABLE orders (id int PRIMARY KEY, amount int)",
          "ALTER TABLE orders REPLICA IDENTITY FULL");
    }
    // what the capture preflight asks of a Citus node; a placeholder setting on plain PostgreSQL
    worker.execute("ALTER DATABASE " + database + " SET citus.enable_change_data_capture = on");
    topology = new ScriptedTopology(List.of(workerServer), "orders");
    topology.place(101, 1);
  }

  @AfterEach
  void dropWorkerSlots() throws Exception {
    worker.execute(
        "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots"
            + " WHERE database = current_database()");
  }

  @Test
  void workersAreReachedWithTheUrlsUserAndPassword() throws Exception {
    try (TargetResolver targets = resolver("?user=" + ROLE + "&password=" + PASSWORD)) {
      StreamTableEngine engine = targets.forStreamTable(streamTable()).engine(Map.of(), topology);
      engine.migrateCatalog();

      engine.apply(definition(), OWNER);
      assertThat(slotsOnTheWorker()).isEqualTo(1);

      coordinator.execute("INSERT INTO orders VALUES (1, 10)");
      worker.execute("SET synchronous_commit = on", "INSERT INTO orders VALUES (1, 10)");
      awaitApplied(engine);
      assertMatchesQuery(coordinator, "order_totals", QUERY);

      assertThat(engine.drop("public", "order_totals", OWNER)).isTrue();
      assertThat(slotsOnTheWorker()).isZero();
    }
  }

  @Test
  void aWorkerRefusingThePasswordIsNamedButThePasswordNeverShows() throws Exception {
    String wrong = "not-" + PASSWORD;
    try (TargetResolver targets = resolver("?user=" + ROLE + "&password=" + wrong)) {
      StreamTableEngine engine = targets.forStreamTable(streamTable()).engine(Map.of(), topology);
      engine.migrateCatalog();

      assertThatThrownBy(() -> engine.apply(definition(), OWNER))
          .isInstanceOfSatisfying(
              EngineException.class,
              e -> {
                assertThat(e.reason()).isEqualTo(Reason.ClusterUnavailable);
                assertThat(e.getMessage())
                    .contains("localhost:" + workerServer.port())
                    .contains("password authentication failed")
                    .doesNotContain(wrong);
              });
      assertThat(slotsOnTheWorker()).isZero();
    }
  }

  /** Local mode's resolver with --jdbc-url and no PGUSER or PGPASSWORD in the environment. */
  private TargetResolver resolver(String parameters) {
    return new TargetResolver(
        new Manifests(List.of(), List.of(), List.of()),
        Optional.of(coordinator.jdbcUrl() + parameters),
        Map.of(),
        () -> {
          throw new AssertionError("no embedded database with --jdbc-url");
        });
  }

  private static StreamTable streamTable() {
    StreamTable streamTable = new StreamTable();
    streamTable.setMetadata(new ObjectMetaBuilder().withName("order-totals").build());
    return streamTable;
  }

  private static StreamTableDefinition definition() throws EngineException {
    StreamTableSpec spec = new StreamTableSpec();
    spec.setName("order_totals");
    spec.setQuery(QUERY);
    spec.setSchedule("1s");
    spec.setPlacement(PlacementMode.LOCAL); // auto would distribute it, which needs Citus
    return StreamTableDefinition.from(spec);
  }

  private long slotsOnTheWorker() throws Exception {
    return worker.queryLong(
        "SELECT count(*) FROM pg_replication_slots WHERE database = current_database()");
  }

  private static void awaitApplied(StreamTableEngine engine) throws Exception {
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (engine.refresh("public", "order_totals").kind() != RefreshOutcome.Kind.APPLIED) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("no refresh applied within 10 s");
      }
      Thread.sleep(20);
    }
  }
}
