package io.pgtrickle.operator.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgtrickle.operator.testing.TestDatabase;
import io.pgtrickle.operator.testing.TestPostgres;
import io.pgtrickle.operator.testing.UpstreamFixture;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code adopt} command: exit 1 with {@code error: ...} when there is nothing to adopt; exit 0
 * after adopting the upstream layout, again (nothing left) on a second run; and local mode, which
 * refused the database before, then runs on it and claims the adopted stream tables. The {@code
 * release} command: exit 1 with {@code error: ...} and nothing changed when a storage cannot be
 * refilled, exit 0 once it can (stream tables marked for the upstream's rebuild), and on a re-run.
 */
class AdoptCommandIT {
  @TempDir Path dir;
  private TestDatabase db;

  @AfterEach
  void dropSlots() throws Exception {
    if (db != null) {
      db.dropReplicationSlots();
    }
  }

  @Test
  void aDatabaseWithoutTheUpstreamIsAnError() throws Exception {
    db = TestPostgres.freshDatabase();

    CliRun run = CliRun.of("adopt", "--jdbc-url", db.jdbcUrl() + "?user=postgres");

    assertThat(run.exitCode()).isEqualTo(1);
    assertThat(run.err()).startsWith("error: nothing to adopt");
    CliRun release = CliRun.of("release", "--jdbc-url", db.jdbcUrl() + "?user=postgres");
    assertThat(release.exitCode()).isEqualTo(1);
    assertThat(release.err()).startsWith("error: nothing to release");
  }

  @Test
  void adoptsThenLocalModeRunsOnTheDatabase() throws Exception {
    db = TestPostgres.freshDatabase();
    UpstreamFixture.build(db);
    String url = db.jdbcUrl() + "?user=postgres";

    CliRun run = CliRun.of("adopt", "--jdbc-url", url);

    assertThat(run.exitCode()).as(run.err()).isZero();
    assertThat(run.out())
        .contains("adopted 2 source(s) (public.orders, public.events)")
        .contains("handed over 1 slot(s)")
        .contains("re-synced in full");
    CliRun again = CliRun.of("adopt", "--jdbc-url", url);
    assertThat(again.exitCode()).as(again.err()).isZero();
    assertThat(again.out()).contains("adopted 0 source(s)").contains("handed over 0 slot(s)");

    Files.writeString(
        dir.resolve("st.yaml"),
        LocalManifests.streamTable(
                "orders-total", "orders_total", "SELECT sum(amount) AS total FROM public.orders")
            + "---\n"
            + """
            apiVersion: pgtrickle.io/v1alpha1
            kind: StreamTable
            metadata:
              name: event-count
            spec:
              name: event_count
              query: "SELECT count(*) AS n FROM public.events"
              schedule: 1s
              cdcMode: wal
            """);
    db.execute("SET synchronous_commit = on", "INSERT INTO public.orders VALUES (9, 90)");
    CliRun local = CliRun.of("local", "-f", dir.toString(), "--jdbc-url", url, "--once");

    assertThat(local.exitCode()).as(local.out() + local.err()).isZero();
    assertThat(db.queryLong("SELECT total FROM public.orders_total"))
        .isEqualTo(db.queryLong("SELECT sum(amount) FROM public.orders"));
    assertThat(db.queryLong("SELECT n FROM public.event_count"))
        .isEqualTo(db.queryLong("SELECT count(*) FROM public.events"));
    // The declarations claimed the adopted stream tables (registered without an owner).
    assertThat(db.queryLong("SELECT count(*) FROM pgtrickle.pgt_stream_tables WHERE owner IS NULL"))
        .isZero();
  }

  @Test
  void releaseRefusesAStorageItCannotRefillThenReleasesForTheUpstreamsRebuild() throws Exception {
    db = TestPostgres.freshDatabase();
    UpstreamFixture.build(db);
    String url = db.jdbcUrl() + "?user=postgres";
    assertThat(CliRun.of("adopt", "--jdbc-url", url).exitCode()).isZero();
    // A column added to the parked storage is neither the query's nor the upstream's.
    db.execute("ALTER TABLE pgtrickle_upstream.storage_1 ADD COLUMN note text");

    CliRun refused = CliRun.of("release", "--jdbc-url", url);

    assertThat(refused.exitCode()).isEqualTo(1);
    assertThat(refused.err())
        .startsWith(
            "error: nothing was released: the upstream storage of \"public\".\"orders_total\"")
        .contains("[note]");
    assertThat(db.queryLong("SELECT count(*) FROM pgtrickle_upstream.pgt_adoption")).isEqualTo(1);
    assertThat(db.queryLong("SELECT count(*) FROM pgtrickle.pgt_stream_tables")).isEqualTo(2);
    db.execute("ALTER TABLE pgtrickle_upstream.storage_1 DROP COLUMN note");

    CliRun release = CliRun.of("release", "--jdbc-url", url);

    assertThat(release.exitCode()).as(release.err()).isZero();
    assertThat(release.out()).contains("marked needs_reinit").contains("handed 1 slot(s) back");
    assertThat(db.queryLong("SELECT count(*) FROM pgtrickle.pgt_stream_tables WHERE needs_reinit"))
        .isEqualTo(2);
    CliRun again = CliRun.of("release", "--jdbc-url", url);
    assertThat(again.exitCode()).as(again.err()).isZero();
    assertThat(again.out()).contains("released earlier");
  }
}
