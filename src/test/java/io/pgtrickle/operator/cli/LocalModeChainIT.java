package io.pgtrickle.operator.cli;

import static io.pgtrickle.operator.cli.LocalManifests.streamTable;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.pgtrickle.operator.testing.StreamTableAssertions;
import io.pgtrickle.operator.testing.TestDatabase;
import io.pgtrickle.operator.testing.TestPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Local mode with a stream table over another, declared top first (file order): created, refreshed
 * and pruned in dependency order.
 */
class LocalModeChainIT {
  private static final String BASE = "SELECT id, amount FROM orders WHERE amount > 1";
  private static final String TOP = "SELECT count(*) AS n, sum(amount) AS total FROM base";

  @TempDir Path dir;
  private TestDatabase db;

  @BeforeEach
  void setUp() throws Exception {
    db = TestPostgres.freshDatabase();
    db.execute(
        "CREATE TABLE orders (id int PRIMARY KEY, amount int)",
        "INSERT INTO orders SELECT g, g FROM generate_series(1, 10) g");
    write("a-top.yaml", streamTable("top", "top", TOP));
    write("b-base.yaml", streamTable("base", "base", BASE));
    write("c-other.yaml", streamTable("other", "other", "SELECT id FROM orders"));
  }

  @Test
  void aChainDeclaredTopFirstIsCreatedRefreshedAndPrunedInOrder() throws Exception {
    CliRun first = once();
    assertThat(first.exitCode()).as(first.out() + first.err()).isZero();
    JsonNode top = first.yamlDocuments().get(0).path("status");
    assertThat(top.path("dependsOn")).extracting(JsonNode::asText).containsExactly("public.base");
    StreamTableAssertions.assertMatchesQuery(db, "top", TOP);

    db.execute("INSERT INTO orders VALUES (100, 100)", "DELETE FROM orders WHERE id = 5");
    CliRun second = once();
    assertThat(second.exitCode()).isZero();
    StreamTableAssertions.assertMatchesQuery(db, "base", BASE);
    StreamTableAssertions.assertMatchesQuery(db, "top", TOP); // in the same run

    Files.delete(dir.resolve("a-top.yaml"));
    Files.delete(dir.resolve("b-base.yaml"));
    CliRun prune =
        CliRun.of("local", "-f", dir.toString(), "--jdbc-url", url(), "--once", "--prune");
    assertThat(prune.exitCode()).as(prune.err()).isZero();
    assertThat(db.queryString("SELECT string_agg(st_name, ',') FROM pgtrickle.pgt_stream_tables"))
        .isEqualTo("other");
    assertThat(db.queryLong("SELECT count(*) FROM pg_class WHERE relname IN ('top', 'base')"))
        .isZero();
  }

  @Test
  void aStreamTableWaitingForAnUndeclaredOneSaysWhatItWaitsFor() throws Exception {
    Files.delete(dir.resolve("b-base.yaml"));
    write("b-base.yaml", streamTable("base", "base", "SELECT id, amount FROM no_such_table"));
    CliRun run = once();
    assertThat(run.exitCode()).isEqualTo(1);
    List<JsonNode> documents = run.yamlDocuments();
    JsonNode ready = documents.get(0).path("status").path("conditions").get(0);
    assertThat(ready.path("reason").asText()).isEqualTo("SourceMissing");
    assertThat(ready.path("message").asText())
        .startsWith("waits for StreamTable base (public.base)");
  }

  private CliRun once() {
    return CliRun.of("local", "-f", dir.toString(), "--jdbc-url", url(), "--once");
  }

  private String url() {
    return db.jdbcUrl() + "?user=postgres";
  }

  private void write(String file, String document) throws Exception {
    Files.writeString(dir.resolve(file), document);
  }
}
