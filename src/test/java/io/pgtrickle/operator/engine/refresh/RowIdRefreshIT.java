package io.pgtrickle.operator.engine.refresh;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgtrickle.operator.testing.TestDatabase;
import io.pgtrickle.operator.testing.TestPostgres;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * FULL refresh of storage keyed by row id (the apply path of Citus reference and distributed
 * storage: DELETE ... USING and INSERT ... ON CONFLICT), on plain PostgreSQL where it runs the same
 * SQL: multiset semantics, and rows already right untouched.
 */
class RowIdRefreshIT {
  private static final RefreshTarget TARGET =
      new RefreshTarget(
          "public.storage",
          "public.wanted",
          List.of("\"k\"", "\"v\""),
          Optional.of("\"pgt_row_id\""));

  private TestDatabase db;

  @BeforeEach
  void setUp() throws Exception {
    db = TestPostgres.freshDatabase();
    db.execute(
        "CREATE TABLE source (id int PRIMARY KEY, k text, v jsonb)",
        "CREATE VIEW wanted AS SELECT k, v FROM source",
        "CREATE TABLE storage (k text, v jsonb, pgt_row_id uuid NOT NULL PRIMARY KEY)",
        "INSERT INTO source VALUES (1, 'a', '{\"x\": 1}'), (2, 'a', '{\"x\": 1}'),"
            + " (3, 'b', NULL), (4, NULL, '[1, 2]'), (5, 'c', '3')");
  }

  @Test
  void appliesTheMultisetDifferenceAndLeavesRightRowsAlone() throws Exception {
    assertThat(refresh()).isEqualTo(5);
    assertEqual();
    long untouched = xminOf("c");

    db.execute(
        "DELETE FROM source WHERE id = 2", // one of two duplicate copies
        "UPDATE source SET v = '{\"x\": 2}' WHERE id = 3",
        "INSERT INTO source VALUES (6, 'b', NULL), (7, 'b', NULL)");
    // (a) loses its second copy; (b, null) goes from one copy to two, so the first copy stays and
    // a second is inserted; (b, {x:2}) is new: 1 deleted + 2 inserted
    assertThat(refresh()).isEqualTo(3);
    assertEqual();
    assertThat(xminOf("c"))
        .as("a row that was already right is not rewritten")
        .isEqualTo(untouched);

    assertThat(refresh()).as("nothing differs, nothing is written").isZero();
    db.execute("DELETE FROM source");
    assertThat(refresh()).isEqualTo(6);
    assertThat(db.queryLong("SELECT count(*) FROM storage")).isZero();
  }

  private long refresh() throws SQLException {
    try (Connection connection = db.connect()) {
      connection.setAutoCommit(false);
      long rows = new FullRefresh().apply(connection, TARGET, new ChangeWindow(java.util.Map.of()));
      connection.commit();
      return rows;
    }
  }

  private void assertEqual() throws SQLException {
    assertThat(
            db.queryLong(
                "SELECT count(*) FROM ((SELECT k, v FROM wanted EXCEPT ALL SELECT k, v FROM storage)"
                    + " UNION ALL (SELECT k, v FROM storage EXCEPT ALL SELECT k, v FROM wanted)) d"))
        .isZero();
  }

  private long xminOf(String k) throws SQLException {
    return db.queryLong("SELECT xmin::text::bigint FROM storage WHERE k = '" + k + "'");
  }
}
