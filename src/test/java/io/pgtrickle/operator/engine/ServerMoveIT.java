package io.pgtrickle.operator.engine;

import static io.pgtrickle.operator.engine.EngineTestSupport.OWNER;
import static io.pgtrickle.operator.engine.EngineTestSupport.definition;
import static io.pgtrickle.operator.engine.EngineTestSupport.engine;
import static io.pgtrickle.operator.testing.StreamTableAssertions.assertMatchesQuery;
import static org.assertj.core.api.Assertions.assertThat;

import io.pgtrickle.operator.catalog.CatalogMigrator;
import io.pgtrickle.operator.testing.TestDatabase;
import io.pgtrickle.operator.testing.TestPostgres;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * When a catalog without a recorded server is a move (from before version 7, with frontiers) and
 * when it is not (a new catalog). DumpRestoreIT and OperatorMockServerIT cover a real move.
 */
class ServerMoveIT {
  private static final String QUERY =
      "SELECT region, count(*) AS orders, sum(amount) AS total FROM orders GROUP BY region";

  private TestDatabase db;

  @BeforeEach
  void setUp() throws Exception {
    db = TestPostgres.freshDatabase();
    db.execute(
        "CREATE TABLE orders (id int PRIMARY KEY, region text, amount numeric)",
        "INSERT INTO orders SELECT g, 'r' || (g % 3), g FROM generate_series(1, 30) g");
  }

  @Test
  void aNewCatalogRecordsItsServerWithoutCallingItAMove() throws Exception {
    CatalogMigrator.migrate(db.dataSource());
    assertThat(db.queryLong("SELECT count(*) FROM pgtrickle.pgt_server")).isZero();

    assertThat(ServerMove.forgetOldServer(db.dataSource())).isEmpty();

    assertThat(db.queryString("SELECT server FROM pgtrickle.pgt_server"))
        .isEqualTo(db.queryString("SELECT " + ServerMove.CURRENT));
  }

  @Test
  void aCatalogFromBeforeServersWereRecordedIsReSyncedOnce() throws Exception {
    StreamTableEngine engine = engine(db);
    engine.apply(definition("by_region", QUERY), OWNER);
    // What a catalog from before version 7 looks like: frontiers, but no server named anywhere.
    db.execute(
        "DELETE FROM pgtrickle.pgt_server",
        "UPDATE pgtrickle.pgt_stream_tables SET frontier_server = NULL",
        "INSERT INTO orders VALUES (100, 'r9', 5)");

    assertThat(ServerMove.forgetOldServer(db.dataSource())).isPresent();

    assertThat(
            db.queryLong("SELECT count(*) FROM pgtrickle.pgt_stream_tables WHERE frontier <> '{}'"))
        .isZero();
    // The buffer's row for order 100 is gone with the old frontiers: the re-sync reads it.
    engine.refresh("public", "by_region");
    assertMatchesQuery(db, "by_region", QUERY);
    assertThat(db.queryString("SELECT frontier_server FROM pgtrickle.pgt_stream_tables"))
        .isEqualTo(db.queryString("SELECT " + ServerMove.CURRENT));
    assertThat(ServerMove.forgetOldServer(db.dataSource())).isEmpty();
  }
}
