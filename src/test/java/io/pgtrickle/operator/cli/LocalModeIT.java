package io.pgtrickle.operator.cli;

import static io.pgtrickle.operator.cli.LocalManifests.streamTable;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.pgtrickle.operator.api.StreamTableSpec;
import io.pgtrickle.operator.engine.StreamTableDefinition;
import io.pgtrickle.operator.engine.StreamTableEngine;
import io.pgtrickle.operator.testing.DatabaseObjects;
import io.pgtrickle.operator.testing.StreamTableAssertions;
import io.pgtrickle.operator.testing.TestDatabase;
import io.pgtrickle.operator.testing.TestPostgres;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Local mode end to end: the CLI in-process against a real PostgreSQL. */
class LocalModeIT {
  private static final Path EXAMPLES =
      Path.of(System.getProperty("project.basedir", "."), "manifests", "examples");

  @TempDir Path dir;
  private TestDatabase db;

  @BeforeEach
  void setUp() throws Exception {
    db = TestPostgres.freshDatabase();
    db.execute(Files.readString(EXAMPLES.resolve("sample-schema.sql"), StandardCharsets.UTF_8));
  }

  @Test
  void onceWithTheExamplesMakesEveryResourceReady() throws Exception {
    CliRun run = CliRun.of("local", "-f", EXAMPLES.toString(), "--jdbc-url", url(), "--once");

    assertThat(run.exitCode()).as(run.err()).isZero();
    List<JsonNode> documents = run.yamlDocuments();
    assertThat(documents)
        .extracting(d -> d.path("kind").asText() + "/" + d.path("metadata").path("name").asText())
        .containsExactly(
            "CitusCluster/analytics", "StreamTable/large-orders", "StreamTable/revenue-by-region");
    assertThat(documents).allSatisfy(d -> assertThat(ready(d)).isEqualTo("True"));
    JsonNode revenue = documents.get(2).path("status");
    assertThat(revenue.path("storageTable").asText()).isEqualTo("public.revenue_by_region");
    assertThat(revenue.path("sources")).hasSize(2);
    JsonNode frontier = revenue.path("sources").get(0).path("frontier").get(0);
    assertThat(frontier.path("node").asText()).isEqualTo("coordinator");
    assertThat(frontier.path("lsn").asText()).matches("[0-9A-F]+/[0-9A-F]+");
    assertThat(run.out()).doesNotContain("change-me");
    StreamTableAssertions.assertMatchesQuery(
        db,
        "revenue_by_region",
        "SELECT c.region, count(o.id) AS orders, sum(o.amount) AS revenue FROM customers c"
            + " JOIN orders o ON o.customer_id = c.id GROUP BY c.region");
  }

  @Test
  void aSecondRunRefreshesWhatChanged() throws Exception {
    CliRun.of("local", "-f", EXAMPLES.toString(), "--jdbc-url", url(), "--once");
    db.execute("INSERT INTO orders (customer_id, amount) VALUES (1, 900), (2, 950)");

    CliRun run = CliRun.of("local", "-f", EXAMPLES.toString(), "--jdbc-url", url(), "--once");

    assertThat(run.exitCode()).isZero();
    JsonNode large = run.yamlDocuments().get(1).path("status");
    assertThat(large.path("lastRefresh").path("rowsChanged").asLong()).isEqualTo(2);
    assertThat(db.queryLong("SELECT count(*) FROM large_orders WHERE amount >= 900"))
        .isEqualTo(db.queryLong("SELECT count(*) FROM orders WHERE amount >= 900"));
  }

  @Test
  void aBadResourceIsNotReadyAndTheExitCodeSaysSo() throws Exception {
    write(
        "bad.yaml",
        streamTable("bad-query", "bad_query", "SELECT id, random() FROM orders"),
        streamTable("good", "good", "SELECT id FROM orders"));
    var before = DatabaseObjects.of(db);

    CliRun run = CliRun.of("local", "-f", dir.toString(), "--jdbc-url", url(), "--once");

    assertThat(run.exitCode()).isEqualTo(1);
    List<JsonNode> documents = run.yamlDocuments();
    JsonNode bad = condition(documents.get(0));
    assertThat(bad.path("status").asText()).isEqualTo("False");
    assertThat(bad.path("reason").asText()).isEqualTo("InvalidQuery");
    assertThat(bad.path("message").asText()).contains("random()");
    assertThat(ready(documents.get(1))).isEqualTo("True");
    assertThat(DatabaseObjects.of(db)).noneMatch(o -> o.contains("bad_query"));
    assertThat(DatabaseObjects.of(db)).containsAll(before);
  }

  @Test
  void pruneDropsWhatIsNoLongerDeclaredAndOnlyWithPrune() throws Exception {
    write("a.yaml", streamTable("a", "st_a", "SELECT id FROM orders"));
    write("b.yaml", streamTable("b", "st_b", "SELECT id FROM customers"));
    assertThat(CliRun.of("local", "-f", dir.toString(), "--jdbc-url", url(), "--once").exitCode())
        .isZero();
    Files.delete(dir.resolve("b.yaml"));

    CliRun.of("local", "-f", dir.toString(), "--jdbc-url", url(), "--once");
    assertThat(db.queryLong("SELECT count(*) FROM pgtrickle.pgt_stream_tables")).isEqualTo(2);

    CliRun run = CliRun.of("local", "-f", dir.toString(), "--jdbc-url", url(), "--once", "--prune");
    assertThat(run.exitCode()).isZero();
    assertThat(db.queryString("SELECT string_agg(st_name, ',') FROM pgtrickle.pgt_stream_tables"))
        .isEqualTo("st_a");
    assertThat(db.queryLong("SELECT count(*) FROM pg_class WHERE relname = 'st_b'")).isZero();
    assertThat(
            db.queryLong(
                "SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
                    + " WHERE c.relname = 'customers' AND NOT t.tgisinternal"))
        .isZero();
  }

  @Test
  void pruneWithNoStreamTablesLeftDropsEveryOneLocalModeDeclaredThere() throws Exception {
    write("a.yaml", streamTable("a", "st_a", "SELECT id FROM orders"));
    write("b.yaml", streamTable("b", "st_b", "SELECT id FROM customers"));
    assertThat(CliRun.of("local", "-f", dir.toString(), "--jdbc-url", url(), "--once").exitCode())
        .isZero();
    StreamTableEngine operator = new StreamTableEngine(db.dataSource());
    operator.apply(
        StreamTableDefinition.from(spec("not_local", "SELECT id FROM orders")), "k8s/default/x");
    Path nothingLeft = Files.createDirectory(dir.resolve("empty"));

    CliRun run =
        CliRun.of("local", "-f", nothingLeft.toString(), "--jdbc-url", url(), "--once", "--prune");

    assertThat(run.exitCode()).as(run.err()).isZero();
    assertThat(db.queryString("SELECT string_agg(st_name, ',') FROM pgtrickle.pgt_stream_tables"))
        .as("only what local mode declared is pruned")
        .isEqualTo("not_local");
    assertThat(db.queryLong("SELECT count(*) FROM pg_class WHERE relname IN ('st_a', 'st_b')"))
        .isZero();
    assertThat(
            db.queryLong(
                "SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
                    + " WHERE c.relname = 'customers' AND NOT t.tgisinternal"))
        .isZero();
  }

  @Test
  void pruneWithOnlyACitusClusterInTheFilesPrunesItsDatabase() throws Exception {
    write("st.yaml", streamTable("st", "st", "SELECT id FROM orders"));
    assertThat(CliRun.of("local", "-f", dir.toString(), "--jdbc-url", url(), "--once").exitCode())
        .isZero();
    Files.delete(dir.resolve("st.yaml"));
    write("cluster.yaml", LocalManifests.cluster(db));

    CliRun run = CliRun.of("local", "-f", dir.toString(), "--once", "--prune");

    assertThat(run.exitCode()).as(run.err()).isZero();
    assertThat(db.queryLong("SELECT count(*) FROM pgtrickle.pgt_stream_tables")).isZero();
    assertThat(db.queryLong("SELECT count(*) FROM pg_class WHERE relname = 'st'")).isZero();
  }

  @Test
  void pruneKeepsAStreamTableStillInTheFilesEvenWhenItsClusterCannotBeTold() throws Exception {
    String cluster = LocalManifests.cluster(db);
    String st = streamTable("st", "st", "SELECT id FROM orders");
    write("all.yaml", cluster, st.replace("spec:", "spec:\n  clusterRef: local-db"));
    assertThat(CliRun.of("local", "-f", dir.toString(), "--once").exitCode()).isZero();
    write("all.yaml", cluster, st.replace("spec:", "spec:\n  clusterRef: typo-db"));

    CliRun run = CliRun.of("local", "-f", dir.toString(), "--once", "--prune");

    assertThat(run.exitCode()).as("st is not Ready: its cluster is not in the files").isEqualTo(1);
    assertThat(db.queryString("SELECT string_agg(st_name, ',') FROM pgtrickle.pgt_stream_tables"))
        .isEqualTo("st");
  }

  @Test
  void pruneWithoutADatabaseToPruneIsBadUsage() throws Exception {
    write("st.yaml", streamTable("st", "st", "SELECT id FROM no_such_table"));

    CliRun run = CliRun.of("local", "-f", dir.toString(), "--once", "--prune");

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err()).contains("--prune").contains("--jdbc-url").contains("CitusCluster");
    assertThat(run.out()).as("nothing was reconciled").isEmpty();
  }

  @Test
  void aPruneThatFailsExitsNonZeroWithTheReason() throws Exception {
    int closedPort;
    try (java.net.ServerSocket socket = new java.net.ServerSocket(0)) {
      closedPort = socket.getLocalPort();
    }
    Path nothingLeft = Files.createDirectory(dir.resolve("empty"));

    CliRun run =
        CliRun.of(
            "local",
            "-f",
            nothingLeft.toString(),
            "--jdbc-url",
            "jdbc:postgresql://127.0.0.1:"
                + closedPort
                + "/db?user=postgres&password=pw-x1&connectTimeout=2",
            "--once",
            "--prune");

    assertThat(run.exitCode()).isEqualTo(1);
    assertThat(run.err()).contains("prune").contains("--jdbc-url").contains("refused");
    assertThat(run.out() + run.err()).doesNotContain("pw-x1");
  }

  @Test
  void anUnknownFieldFailsNamingFileAndFieldAndNothingIsCreated() throws Exception {
    write("good.yaml", streamTable("good", "good", "SELECT id FROM orders"));
    write(
        "typo.yaml",
        streamTable("typo", "typo", "SELECT id FROM orders").replace("schedule", "shedule"));
    var before = DatabaseObjects.of(db);

    CliRun run = CliRun.of("local", "-f", dir.toString(), "--jdbc-url", url(), "--once");

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err()).contains("typo.yaml:8").contains("spec.shedule");
    assertThat(run.out()).isEmpty();
    assertThat(DatabaseObjects.of(db)).isEqualTo(before);
  }

  @Test
  void aYamlSyntaxErrorNamesTheFileAndLine() throws Exception {
    write(
        "broken.yaml",
        streamTable("good", "good", "SELECT id FROM orders"),
        "apiVersion: pgtrickle.io/v1alpha1\nkind: StreamTable\nmetadata: {name: [x}\n");
    var before = DatabaseObjects.of(db);

    CliRun run = CliRun.of("local", "-f", dir.toString(), "--jdbc-url", url(), "--once");

    assertThat(run.err()).contains("broken.yaml:13").contains("not valid YAML");
    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(DatabaseObjects.of(db)).isEqualTo(before);
  }

  @Test
  void credentialsComeFromTheClustersSecretAndNeverShow() throws Exception {
    db.execute("CREATE ROLE app_owner LOGIN SUPERUSER PASSWORD 's3cr3t-Pa55'");
    write(
        "cluster.yaml",
        """
        apiVersion: v1
        kind: Secret
        metadata: {name: creds}
        data: {user: %s, pass: %s}
        ---
        apiVersion: pgtrickle.io/v1alpha1
        kind: CitusCluster
        metadata: {name: local-db}
        spec:
          coordinator: {host: 127.0.0.1, port: %d, database: %s, sslMode: disable}
          credentials: {secretName: creds, usernameKey: user, passwordKey: pass}
        """
            .formatted(base64("app_owner"), base64("s3cr3t-Pa55"), db.server().port(), db.name()),
        streamTable("st", "st", "SELECT id FROM orders")
            .replace("spec:", "spec:\n  clusterRef: local-db"));

    CliRun run = CliRun.of("local", "-f", dir.toString(), "--once");

    assertThat(run.exitCode()).as(run.out() + run.err()).isZero();
    assertThat(db.queryString("SELECT tableowner FROM pg_tables WHERE tablename = 'st'"))
        .isEqualTo("app_owner");
    assertThat(run.out() + run.err()).doesNotContain("s3cr3t-Pa55");
  }

  /** The server's own refusal is the message, not the connection pool's timeout that wraps it. */
  @Test
  void aRefusedConnectionSaysWhyInTheCondition() throws Exception {
    write(
        "cluster.yaml",
        """
        apiVersion: pgtrickle.io/v1alpha1
        kind: CitusCluster
        metadata: {name: local-db}
        spec:
          coordinator: {host: 127.0.0.1, port: %d, database: no_such_database, sslMode: disable}
        """
            .formatted(db.server().port()),
        streamTable("st", "st", "SELECT id FROM orders")
            .replace("spec:", "spec:\n  clusterRef: local-db"));

    CliRun run = CliRun.of("local", "-f", dir.toString(), "--once");

    assertThat(run.exitCode()).isEqualTo(1);
    for (JsonNode document : run.yamlDocuments()) {
      JsonNode ready = condition(document);
      assertThat(ready.path("reason").asText()).isEqualTo("ClusterUnavailable");
      assertThat(ready.path("message").asText())
          .contains("does not exist") // the role, or the database: the server's own words
          .doesNotContain("request timed out");
    }
  }

  @Test
  void aMissingSecretGivesAClearCondition() throws Exception {
    write(
        "cluster.yaml",
        """
        apiVersion: pgtrickle.io/v1alpha1
        kind: CitusCluster
        metadata: {name: db}
        spec:
          coordinator: {host: 127.0.0.1, port: %d, database: %s}
          credentials: {secretName: nowhere}
        """
            .formatted(db.server().port(), db.name()),
        streamTable("st", "st", "SELECT id FROM orders")
            .replace("spec:", "spec:\n  clusterRef: db"));

    CliRun run = CliRun.of("local", "-f", dir.toString(), "--once");

    assertThat(run.exitCode()).isEqualTo(1);
    for (JsonNode document : run.yamlDocuments()) {
      JsonNode ready = condition(document);
      assertThat(ready.path("reason").asText()).isEqualTo("ClusterUnavailable");
      assertThat(ready.path("message").asText()).contains("Secret default/nowhere");
    }
  }

  @Test
  void withoutDatabaseItStartsAnEmbeddedOne() throws Exception {
    write("st.yaml", streamTable("st", "st", "SELECT id FROM no_such_table"));

    CliRun run = CliRun.of("local", "-f", dir.toString(), "--once");

    assertThat(run.exitCode()).isEqualTo(1);
    JsonNode ready = condition(run.yamlDocuments().get(0));
    assertThat(ready.path("reason").asText()).isEqualTo("SourceMissing");
    assertThat(ready.path("message").asText()).contains("no_such_table");
  }

  @Test
  void malformedFilesFailWithTheFileName() throws Exception {
    write("broken.yaml", "apiVersion: pgtrickle.io/v1alpha1\nkind: StreamTable\nspec: {}\n");

    CliRun run = CliRun.of("local", "-f", dir.toString(), "--jdbc-url", url(), "--once");

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err()).contains("broken.yaml").contains("metadata.name");
  }

  private String url() {
    return db.jdbcUrl() + "?user=postgres";
  }

  private void write(String file, String... documents) throws Exception {
    Files.writeString(dir.resolve(file), String.join("\n---\n", documents));
  }

  private static StreamTableSpec spec(String name, String query) {
    StreamTableSpec spec = new StreamTableSpec();
    spec.setName(name);
    spec.setQuery(query);
    spec.setSchedule("1s");
    return spec;
  }

  private static String base64(String text) {
    return java.util.Base64.getEncoder().encodeToString(text.getBytes(StandardCharsets.UTF_8));
  }

  private static JsonNode condition(JsonNode document) {
    for (JsonNode condition : document.path("status").path("conditions")) {
      if ("Ready".equals(condition.path("type").asText())) {
        return condition;
      }
    }
    return Optional.<JsonNode>empty().orElseThrow();
  }

  private static String ready(JsonNode document) {
    return condition(document).path("status").asText();
  }
}
