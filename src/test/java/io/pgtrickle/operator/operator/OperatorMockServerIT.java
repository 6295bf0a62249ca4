package io.pgtrickle.operator.operator;

import static io.pgtrickle.operator.testing.StreamTableAssertions.assertMatchesQuery;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.base.PatchContext;
import io.fabric8.kubernetes.client.dsl.base.PatchType;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.pgtrickle.operator.api.CdcModeSpec;
import io.pgtrickle.operator.api.CitusCluster;
import io.pgtrickle.operator.api.StreamTable;
import io.pgtrickle.operator.status.Conditions;
import io.pgtrickle.operator.testing.DatabaseObjects;
import io.pgtrickle.operator.testing.TestDatabase;
import io.pgtrickle.operator.testing.TestPostgres;
import io.pgtrickle.operator.testing.UpstreamFixture;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The operator on the fabric8 mock API server (CRUD mode, with our CRDs loaded) against a real
 * embedded PostgreSQL: resources applied through the API become real database objects, with status,
 * and deleting them drops everything.
 */
@EnableKubernetesMockClient(crud = true)
class OperatorMockServerIT {
  private static final String NAMESPACE = "analytics";

  /** Low enough that any WAL-captured table exceeds it. */
  private static final long SLOT_LAG_LIMIT = 1;

  static KubernetesClient client;
  private static OperatorRuntime runtime;
  private static int namesUsed;

  private TestDatabase db;
  private String cluster;

  @BeforeAll
  static void startOperator() throws Exception {
    OperatorTestResources.loadCrds(client);
    runtime =
        new OperatorRuntime(
            client, OperatorTestResources.settings(Duration.ofSeconds(2), SLOT_LAG_LIMIT));
    runtime.start();
  }

  @AfterAll
  static void stopOperator() {
    if (runtime != null) {
      runtime.close();
    }
  }

  @BeforeEach
  void setUp() throws Exception {
    db = TestPostgres.freshDatabase();
    db.execute(
        "CREATE TABLE orders (id int PRIMARY KEY, region text, amount numeric)",
        "INSERT INTO orders SELECT g, 'r' || (g % 3), g FROM generate_series(1, 50) g");
    namesUsed++;
    cluster = "db-" + namesUsed;
    client.secrets().inNamespace(NAMESPACE).resource(secret(cluster + "-creds")).create();
    client
        .resources(CitusCluster.class)
        .inNamespace(NAMESPACE)
        .resource(cluster(cluster, cluster + "-creds"))
        .create();
  }

  @Test
  void appliedResourcesBecomeReadyWithFrontiersAndDeletionDropsEverything() throws Exception {
    Set<String> before = DatabaseObjectsAfterCatalog.of(db);
    String query = "SELECT region, sum(amount) AS total FROM orders GROUP BY region";
    client
        .resources(StreamTable.class)
        .inNamespace(NAMESPACE)
        .resource(streamTable("totals", cluster, "totals", query))
        .create();

    StreamTable ready = await(() -> readyStreamTable("totals"));
    assertThat(ready.getStatus().getStorageTable()).isEqualTo("public.totals");
    assertThat(ready.getStatus().getSources())
        .singleElement()
        .satisfies(
            source -> {
              assertThat(source.getTable()).isEqualTo("public.orders");
              assertThat(source.getFrontier())
                  .singleElement()
                  .satisfies(node -> assertThat(node.getLsn()).matches("[0-9A-F]+/[0-9A-F]+"));
            });
    assertThat(ready.getMetadata().getFinalizers()).contains(StreamTableReconciler.FINALIZER);
    assertMatchesQuery(db, "totals", query);

    CitusCluster clusterStatus =
        await(
            () -> {
              CitusCluster c =
                  client
                      .resources(CitusCluster.class)
                      .inNamespace(NAMESPACE)
                      .withName(cluster)
                      .get();
              return c.getStatus() != null
                      && Conditions.isTrue(c.getStatus().getConditions(), Conditions.READY)
                  ? c
                  : null;
            });
    assertThat(clusterStatus.getStatus().getNodes()).containsOnlyKeys(ClusterInspector.SINGLE_NODE);
    assertThat(clusterStatus.getStatus().getPostgresVersion()).isNotBlank();
    assertThat(clusterStatus.getStatus().getNodeCount()).isEqualTo(1);

    // The scheduler keeps it fresh; status follows within the status interval.
    db.execute("INSERT INTO orders VALUES (1000, 'r9', 7)");
    await(() -> db.queryLong("SELECT count(*) FROM totals WHERE region = 'r9'") == 1 ? true : null);
    assertMatchesQuery(db, "totals", query);

    // Drift: a capture trigger dropped by hand comes back on the next periodic reconcile.
    String trigger =
        db.queryString("SELECT tgname FROM pg_trigger WHERE tgname LIKE 'pg_trickle_cdc_ins_%'");
    db.execute("DROP TRIGGER " + trigger + " ON orders");
    await(
        () ->
            db.queryLong("SELECT count(*) FROM pg_trigger WHERE tgname = '" + trigger + "'") == 1
                ? true
                : null);

    // Change the query: the table is rebuilt.
    String newQuery = "SELECT id, amount FROM orders WHERE amount > 40";
    // A JSON merge patch without a resourceVersion, as kubectl patch sends: the operator's
    // status writes in between cannot make it conflict.
    client
        .resources(StreamTable.class)
        .inNamespace(NAMESPACE)
        .withName("totals")
        .patch(
            PatchContext.of(PatchType.JSON_MERGE),
            new ObjectMapper()
                .createObjectNode()
                .set("spec", new ObjectMapper().createObjectNode().put("query", newQuery))
                .toString());
    await(
        () -> {
          StreamTable st = readyStreamTable("totals");
          return st != null && st.getStatus().getObservedGeneration() >= 2 ? st : null;
        });
    assertMatchesQuery(db, "totals", newQuery);

    // Delete: every object goes, then the resource.
    deleteAndAwaitGone(StreamTable.class, "totals");
    assertThat(DatabaseObjectsAfterCatalog.of(db)).isEqualTo(before);
  }

  @Test
  void aBadQueryIsReportedAndLeavesNothing() throws Exception {
    Set<String> before = DatabaseObjectsAfterCatalog.of(db);
    client
        .resources(StreamTable.class)
        .inNamespace(NAMESPACE)
        .resource(streamTable("bad", cluster, "bad_table", "SELECT id, random() FROM orders"))
        .create();

    Condition ready =
        await(() -> readyCondition("bad").filter(c -> "False".equals(c.getStatus())).orElse(null));
    assertThat(ready.getReason()).isEqualTo("InvalidQuery");
    assertThat(ready.getMessage()).contains("random()");
    assertThat(DatabaseObjectsAfterCatalog.of(db)).isEqualTo(before);
    deleteAndAwaitGone(StreamTable.class, "bad");
  }

  @Test
  void aSourceDroppedAndRecreatedIsSourceMissingThenResynced() throws Exception {
    String query = "SELECT id, amount FROM orders WHERE amount > 10";
    client
        .resources(StreamTable.class)
        .inNamespace(NAMESPACE)
        .resource(streamTable("lost", cluster, "lost", query))
        .create();
    await(() -> readyStreamTable("lost"));

    db.execute("DROP TABLE orders CASCADE");
    Condition missing =
        await(
            () ->
                readyCondition("lost")
                    .filter(c -> "SourceMissing".equals(c.getReason()))
                    .orElse(null));
    assertThat(missing.getStatus()).isEqualTo("False");
    assertThat(missing.getMessage()).contains("\"orders\"");

    db.execute(
        "CREATE TABLE orders (id int PRIMARY KEY, region text, amount numeric)",
        "INSERT INTO orders VALUES (1, 'r', 100), (2, 'r', 5)");
    await(() -> readyStreamTable("lost"));
    await(
        () ->
            client.v1().events().inNamespace(NAMESPACE).list().getItems().stream()
                    .anyMatch(e -> "Resynced".equals(e.getReason()))
                ? true
                : null);
    db.execute("INSERT INTO orders VALUES (3, 'r', 300)");
    await(() -> db.queryLong("SELECT count(*) FROM lost") == 2 ? true : null);
    assertMatchesQuery(db, "lost", query);
    deleteAndAwaitGone(StreamTable.class, "lost");
  }

  @Test
  void aDatabaseNowOnAnotherServerIsResyncedOnceWithAnEventAndTheReason() throws Exception {
    String query = "SELECT region, sum(amount) AS total FROM orders GROUP BY 1";
    client
        .resources(StreamTable.class)
        .inNamespace(NAMESPACE)
        .resource(streamTable("moved", cluster, "moved", query))
        .create();
    await(() -> readyStreamTable("moved"));

    // What a restore onto another server leaves (DumpRestoreIT does it for real with pg_dump):
    // the catalog and the frontier name a server that is not the one connected to.
    db.execute(
        "UPDATE pgtrickle.pgt_server SET server = 'another/1'",
        "UPDATE pgtrickle.pgt_stream_tables SET frontier_server = 'another/1'",
        "INSERT INTO orders VALUES (1000, 'r9', 9)");

    await(
        () ->
            client.v1().events().inNamespace(NAMESPACE).list().getItems().stream()
                    .anyMatch(
                        e ->
                            "Resynced".equals(e.getReason())
                                && "moved".equals(e.getInvolvedObject().getName())
                                && e.getMessage().contains("another server"))
                ? true
                : null);
    StreamTable resynced =
        await(
            () -> {
              StreamTable st = readyStreamTable("moved");
              return st != null
                      && st.getStatus().getLastRefresh() != null
                      && st.getStatus().getLastRefresh().getReason() != null
                      && st.getStatus().getLastRefresh().getReason().contains("another server")
                  ? st
                  : null;
            });
    assertThat(resynced.getStatus().getLastRefresh().getMode()).isEqualTo("FULL");
    assertThat(db.queryString("SELECT server FROM pgtrickle.pgt_server")).isNotEqualTo("another/1");
    assertMatchesQuery(db, "moved", query);
    db.execute("INSERT INTO orders VALUES (1001, 'r9', 1)");
    await(() -> db.queryLong("SELECT total FROM moved WHERE region = 'r9'") == 10 ? true : null);
    deleteAndAwaitGone(StreamTable.class, "moved");
  }

  @Test
  void aStreamTableOverAnotherIsDeletedOnlyAfterItsReader() throws Exception {
    client
        .resources(StreamTable.class)
        .inNamespace(NAMESPACE)
        .resource(streamTable("base", cluster, "base", "SELECT id FROM no_such_table"))
        .create();
    client
        .resources(StreamTable.class)
        .inNamespace(NAMESPACE)
        .resource(streamTable("top", cluster, "top", "SELECT count(*) AS n FROM base"))
        .create();
    Condition waiting =
        await(
            () ->
                readyCondition("top")
                    .filter(c -> c.getMessage().startsWith("waits for StreamTable base"))
                    .orElse(null));
    assertThat(waiting.getReason()).isEqualTo("SourceMissing");

    client
        .resources(StreamTable.class)
        .inNamespace(NAMESPACE)
        .withName("base")
        .patch(
            PatchContext.of(PatchType.JSON_MERGE),
            "{\"spec\":{\"query\":\"SELECT id FROM orders\"}}");
    StreamTable top = await(() -> readyStreamTable("top"));
    assertThat(top.getStatus().getDependsOn()).containsExactly("public.base");

    client.resources(StreamTable.class).inNamespace(NAMESPACE).withName("base").delete();
    await(
        () ->
            client.v1().events().inNamespace(NAMESPACE).list().getItems().stream()
                    .anyMatch(
                        e ->
                            "CleanupFailed".equals(e.getReason())
                                && e.getMessage().contains("public.top reads public.base"))
                ? true
                : null);
    assertThat(db.queryLong("SELECT count(*) FROM base")).isEqualTo(50);
    deleteAndAwaitGone(StreamTable.class, "top");
    await(
        () ->
            client.resources(StreamTable.class).inNamespace(NAMESPACE).withName("base").get()
                    == null
                ? true
                : null);
    assertThat(db.queryLong("SELECT count(*) FROM pgtrickle.pgt_stream_tables")).isZero();
  }

  @Test
  void aMissingSecretGivesAClearCondition() throws Exception {
    client
        .resources(CitusCluster.class)
        .inNamespace(NAMESPACE)
        .resource(cluster("no-secret", "does-not-exist"))
        .create();
    client
        .resources(StreamTable.class)
        .inNamespace(NAMESPACE)
        .resource(streamTable("orphan", "no-secret", "orphan", "SELECT id FROM orders"))
        .create();

    Condition clusterReady = await(() -> clusterReadyCondition("no-secret"));
    assertThat(clusterReady.getStatus()).isEqualTo("False");
    assertThat(clusterReady.getReason()).isEqualTo("ClusterUnavailable");
    assertThat(clusterReady.getMessage()).contains("Secret analytics/does-not-exist");
    Condition streamReady = await(() -> readyCondition("orphan").orElse(null));
    assertThat(streamReady.getReason()).isEqualTo("ClusterUnavailable");
  }

  @Test
  void aDatabaseWithTheUpstreamExtensionIsRefusedAndLeftUntouched() throws Exception {
    TestDatabase upstream = TestPostgres.freshDatabase();
    try {
      UpstreamFixture fixture = UpstreamFixture.build(upstream);
      String before = fixture.snapshot();
      client
          .resources(CitusCluster.class)
          .inNamespace(NAMESPACE)
          .resource(
              OperatorTestResources.cluster(NAMESPACE, "upstream", cluster + "-creds", upstream))
          .create();

      Condition clusterReady = await(() -> clusterReadyCondition("upstream"));
      assertThat(clusterReady.getStatus()).isEqualTo("False");
      assertThat(clusterReady.getReason()).isEqualTo("UpstreamInstall");
      assertThat(clusterReady.getMessage())
          .contains("the upstream pg_trickle extension " + UpstreamFixture.VERSION);
      assertThat(fixture.snapshot()).isEqualTo(before);
    } finally {
      upstream.dropReplicationSlots();
    }
  }

  @Test
  void withAdoptUpstreamTheUpstreamInstallIsAdoptedAndTheStatusSaysSo() throws Exception {
    TestDatabase upstream = TestPostgres.freshDatabase();
    try {
      UpstreamFixture fixture = UpstreamFixture.build(upstream);
      CitusCluster adopting =
          OperatorTestResources.cluster(NAMESPACE, "adopting", cluster + "-creds", upstream);
      adopting.getSpec().setAdoptUpstream(true);
      client.resources(CitusCluster.class).inNamespace(NAMESPACE).resource(adopting).create();

      Condition clusterReady = await(() -> clusterReadyCondition("adopting"));
      assertThat(clusterReady.getStatus()).as(clusterReady.getMessage()).isEqualTo("True");
      CitusCluster found =
          client.resources(CitusCluster.class).inNamespace(NAMESPACE).withName("adopting").get();
      Condition adopted =
          Conditions.find(found.getStatus().getConditions(), "UpstreamAdopted").orElseThrow();
      assertThat(adopted.getStatus()).isEqualTo("True");
      assertThat(adopted.getMessage())
          .contains("adopted 2 source(s) (public.orders, public.events)")
          .contains("handed over 1 slot(s)");
      assertThat(
              upstream.queryLong(
                  "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'pgtrickle_"
                      + fixture.walSources().get(0)
                      + "'"))
          .isZero();
      assertThat(
              upstream.queryLong(
                  "SELECT count(*) FROM pgtrickle.pgt_stream_tables WHERE owner IS NULL"))
          .isEqualTo(2);
      await(
          () ->
              client.v1().events().inNamespace(NAMESPACE).list().getItems().stream()
                  .filter(e -> "UpstreamAdopted".equals(e.getReason()))
                  .findFirst()
                  .orElse(null));
    } finally {
      upstream.dropReplicationSlots();
    }
  }

  @Test
  void deletingAfterTheClusterIsGoneReleasesTheFinalizerWithAnEvent() throws Exception {
    client
        .resources(StreamTable.class)
        .inNamespace(NAMESPACE)
        .resource(streamTable("stranded", cluster, "stranded", "SELECT id FROM orders"))
        .create();
    await(() -> readyStreamTable("stranded"));

    deleteAndAwaitGone(CitusCluster.class, cluster);
    deleteAndAwaitGone(StreamTable.class, "stranded");

    assertThat(client.v1().events().inNamespace(NAMESPACE).list().getItems())
        .anySatisfy(
            event -> {
              assertThat(event.getReason()).isEqualTo("CleanupSkipped");
              assertThat(event.getInvolvedObject().getName()).isEqualTo("stranded");
              assertThat(event.getMessage()).contains("may remain");
            });
    assertThat(db.queryLong("SELECT count(*) FROM pg_class WHERE relname = 'stranded'"))
        .isEqualTo(1);
  }

  @Test
  void aWalSlotHoldingBackMoreThanTheLimitIsFlaggedAndDeletionDropsIt() throws Exception {
    db.execute(
        "CREATE TABLE wal_src (id int PRIMARY KEY)",
        "ALTER TABLE wal_src REPLICA IDENTITY FULL",
        "INSERT INTO wal_src VALUES (1)");
    StreamTable resource = streamTable("walled", cluster, "walled", "SELECT id FROM wal_src");
    resource.getSpec().setCdcMode(CdcModeSpec.WAL);
    client.resources(StreamTable.class).inNamespace(NAMESPACE).resource(resource).create();

    Condition lag =
        await(
            () -> {
              StreamTable st = readyStreamTable("walled");
              return st == null
                  ? null
                  : Conditions.find(st.getStatus().getConditions(), StreamTableReconciler.SLOT_LAG)
                      .filter(c -> "True".equals(c.getStatus()))
                      .orElse(null);
            });
    assertThat(lag.getMessage()).contains("public.wal_src on coordinator");
    assertThat(readyStreamTable("walled").getStatus().getSources())
        .singleElement()
        .satisfies(source -> assertThat(source.getCdcMode()).isEqualTo("wal"));
    await(
        () ->
            client.v1().events().inNamespace(NAMESPACE).list().getItems().stream()
                    .anyMatch(
                        e ->
                            e.getReason().equals(StreamTableReconciler.SLOT_LAG)
                                && e.getInvolvedObject().getName().equals("walled"))
                ? true
                : null);
    assertThat(
            db.queryLong(
                "SELECT count(*) FROM pg_replication_slots WHERE database = current_database()"))
        .isEqualTo(1);

    deleteAndAwaitGone(StreamTable.class, "walled");
    assertThat(
            db.queryLong(
                "SELECT count(*) FROM pg_replication_slots WHERE database = current_database()"))
        .isZero();
  }

  @Test
  void metricsAndProbesAreServed() throws Exception {
    client
        .resources(StreamTable.class)
        .inNamespace(NAMESPACE)
        .resource(streamTable("measured", cluster, "measured", "SELECT id FROM orders"))
        .create();
    await(() -> readyStreamTable("measured"));
    db.execute("INSERT INTO orders VALUES (2000, 'r1', 1)");
    await(() -> db.queryLong("SELECT count(*) FROM measured WHERE id = 2000") == 1 ? true : null);

    HttpClient http = HttpClient.newHttpClient();
    String base = "http://127.0.0.1:" + runtime.healthPort();
    assertThat(get(http, base + "/healthz").statusCode()).isEqualTo(200);
    await(() -> get(http, base + "/readyz").statusCode() == 200 ? true : null);
    String metrics = get(http, base + "/metrics").body();
    assertThat(metrics)
        .contains("operator_sdk")
        .contains("pgtrickle_refresh_duration_seconds_count{streamtable=\"analytics/measured\"}")
        .contains("pgtrickle_refresh_rows_total{streamtable=\"analytics/measured\"}")
        .contains("pgtrickle_source_lag_bytes{");
  }

  private static HttpResponse<String> get(HttpClient http, String url) throws Exception {
    return http.send(
        HttpRequest.newBuilder(URI.create(url)).build(), HttpResponse.BodyHandlers.ofString());
  }

  /** Deletes a resource and waits until it is gone (its finalizer, if any, has run). */
  private static void deleteAndAwaitGone(
      Class<? extends io.fabric8.kubernetes.api.model.HasMetadata> kind, String name)
      throws Exception {
    client.resources(kind).inNamespace(NAMESPACE).withName(name).delete();
    await(
        () ->
            client.resources(kind).inNamespace(NAMESPACE).withName(name).get() == null
                ? true
                : null);
  }

  private StreamTable readyStreamTable(String name) {
    StreamTable st =
        client.resources(StreamTable.class).inNamespace(NAMESPACE).withName(name).get();
    return st != null
            && st.getStatus() != null
            && Conditions.isTrue(st.getStatus().getConditions(), Conditions.READY)
        ? st
        : null;
  }

  /** The CitusCluster's Ready condition, or null while it has no status yet. */
  private static Condition clusterReadyCondition(String name) {
    CitusCluster c =
        client.resources(CitusCluster.class).inNamespace(NAMESPACE).withName(name).get();
    return c.getStatus() == null
        ? null
        : Conditions.find(c.getStatus().getConditions(), Conditions.READY).orElse(null);
  }

  private Optional<Condition> readyCondition(String name) {
    StreamTable st =
        client.resources(StreamTable.class).inNamespace(NAMESPACE).withName(name).get();
    return st == null || st.getStatus() == null
        ? Optional.empty()
        : Conditions.find(st.getStatus().getConditions(), Conditions.READY);
  }

  private Secret secret(String name) {
    return OperatorTestResources.secret(NAMESPACE, name);
  }

  private CitusCluster cluster(String name, String secretName) {
    return OperatorTestResources.cluster(NAMESPACE, name, secretName, db);
  }

  private static StreamTable streamTable(
      String name, String clusterRef, String table, String query) {
    return OperatorTestResources.streamTable(NAMESPACE, name, clusterRef, table, query, "200ms");
  }

  private static <T> T await(Callable<T> probe) throws Exception {
    return OperatorTestResources.await(60, probe);
  }

  /** Objects of the database once the operator's catalog exists (it is created on connect). */
  private static final class DatabaseObjectsAfterCatalog {
    static Set<String> of(TestDatabase db) throws Exception {
      io.pgtrickle.operator.catalog.CatalogMigrator.migrate(db.dataSource());
      return DatabaseObjects.of(db);
    }
  }
}
