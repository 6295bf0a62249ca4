package io.pgtrickle.operator.catalog;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgtrickle.operator.testing.TestDatabase;
import io.pgtrickle.operator.testing.TestPostgres;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

class CatalogMigrationIT {
  @Test
  void createsBothSchemasAndTheCatalogTables() throws Exception {
    TestDatabase db = TestPostgres.freshDatabase();

    assertThat(CatalogMigrator.migrate(db.dataSource())).isPositive();

    assertThat(
            db.queryLong(
                "SELECT count(*) FROM pg_namespace"
                    + " WHERE nspname IN ('pgtrickle', 'pgtrickle_changes')"))
        .isEqualTo(2);
    assertThat(columnDefault(db, "pgt_stream_tables", "st_placement")).isEqualTo("'local'::text");
    assertThat(columnDefault(db, "pgt_dependencies", "source_placement"))
        .isEqualTo("'local'::text");
    assertThat(columnType(db, "pgt_dependencies", "source_relid")).isEqualTo("oid");
    assertThat(columnType(db, "pgt_dependencies", "source_stable_name")).isEqualTo("text");
    assertThat(columnType(db, "pgt_change_tracking", "frontier_per_node")).isEqualTo("jsonb");
    assertThat(columnType(db, "pgt_stream_tables", "frontier")).isEqualTo("jsonb");
    assertThat(columnType(db, "pgt_change_tracking", "consumers")).isEqualTo("bigint[]");
  }

  @Test
  void runningAgainChangesNothing() throws Exception {
    TestDatabase db = TestPostgres.freshDatabase();
    CatalogMigrator.migrate(db.dataSource());
    long appliedBefore = db.queryLong("SELECT count(*) FROM pgtrickle.pgt_schema_history");

    assertThat(CatalogMigrator.migrate(db.dataSource())).isZero();
    assertThat(db.queryLong("SELECT count(*) FROM pgtrickle.pgt_schema_history"))
        .isEqualTo(appliedBefore);
  }

  @Test
  void twoOperatorsMigratingAtOnceBothSucceedAndApplyEachMigrationOnce() throws Exception {
    TestDatabase db = TestPostgres.freshDatabase();
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      List<Future<Integer>> runs = new ArrayList<>();
      for (int i = 0; i < 2; i++) {
        runs.add(pool.submit(() -> CatalogMigrator.migrate(db.dataSource())));
      }
      int executed = 0;
      for (Future<Integer> run : runs) {
        executed += run.get();
      }
      long versions =
          db.queryLong(
              "SELECT count(*) FROM pgtrickle.pgt_schema_history WHERE success AND type = 'SQL'");
      assertThat(executed).isEqualTo(versions);
    } finally {
      pool.shutdownNow();
    }
  }

  private static String columnDefault(TestDatabase db, String table, String column)
      throws Exception {
    return db.queryString(
        "SELECT column_default FROM information_schema.columns WHERE table_schema = 'pgtrickle'"
            + " AND table_name = '"
            + table
            + "' AND column_name = '"
            + column
            + "'");
  }

  private static String columnType(TestDatabase db, String table, String column) throws Exception {
    return db.queryString(
        "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = "
            + "'pgtrickle."
            + table
            + "'::regclass AND attname = '"
            + column
            + "'");
  }
}
