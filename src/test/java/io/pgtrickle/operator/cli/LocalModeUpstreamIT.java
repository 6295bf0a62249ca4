package io.pgtrickle.operator.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgtrickle.operator.testing.DatabaseObjects;
import io.pgtrickle.operator.testing.TestDatabase;
import io.pgtrickle.operator.testing.TestPostgres;
import io.pgtrickle.operator.testing.UpstreamFixture;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Local mode against a database that holds the upstream extension, or whose catalog a partial
 * restore left incomplete: exits non-zero with the reason on stderr, and the database is exactly as
 * it was.
 */
class LocalModeUpstreamIT {
  @TempDir Path dir;
  private TestDatabase db;

  @AfterEach
  void dropSlots() throws Exception {
    if (db != null) {
      db.dropReplicationSlots();
    }
  }

  @Test
  void refusesWithAClearErrorAndChangesNothing() throws Exception {
    db = TestPostgres.freshDatabase();
    UpstreamFixture fixture = UpstreamFixture.build(db);
    String before = fixture.snapshot();
    Files.writeString(
        dir.resolve("st.yaml"),
        LocalManifests.streamTable("totals", "totals", "SELECT sum(amount) AS s FROM orders"));

    for (String[] args :
        new String[][] {
          {"local", "-f", dir.toString(), "--jdbc-url", db.jdbcUrl() + "?user=postgres", "--once"},
          {"local", "-f", dir.toString(), "--jdbc-url", db.jdbcUrl() + "?user=postgres"}
        }) {
      CliRun run = CliRun.of(args);

      assertThat(run.exitCode()).isEqualTo(1);
      assertThat(run.err())
          .contains("error: ")
          .contains("the upstream pg_trickle extension " + UpstreamFixture.VERSION)
          .contains("nothing was created or changed");
      assertThat(run.out()).contains("reason: UpstreamInstall");
      assertThat(fixture.snapshot()).isEqualTo(before);
    }
  }

  @Test
  void anIncompleteCatalogIsRefusedWithAClearErrorToo() throws Exception {
    db = TestPostgres.freshDatabase();
    db.execute("CREATE TABLE orders (id int PRIMARY KEY, amount int)");
    io.pgtrickle.operator.catalog.CatalogMigrator.migrate(db.dataSource());
    // As after a pg_restore without its post-data section, which holds every constraint.
    db.execute("ALTER TABLE pgtrickle.pgt_dependencies DROP CONSTRAINT pgt_dependencies_pkey");
    String before = String.join("\n", DatabaseObjects.of(db));
    Files.writeString(
        dir.resolve("st.yaml"),
        LocalManifests.streamTable("totals", "totals", "SELECT sum(amount) AS s FROM orders"));

    CliRun run =
        CliRun.of(
            "local", "-f", dir.toString(), "--jdbc-url", db.jdbcUrl() + "?user=postgres", "--once");

    assertThat(run.exitCode()).isEqualTo(1);
    assertThat(run.err())
        .contains("error: ")
        .contains("primary key of pgtrickle.pgt_dependencies")
        .contains("post-data");
    assertThat(run.out()).contains("reason: CatalogIncomplete");
    assertThat(String.join("\n", DatabaseObjects.of(db))).isEqualTo(before);
  }
}
