package io.pgtrickle.operator.engine.refresh;

import io.pgtrickle.operator.api.RefreshMode;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * Recomputes the whole query and applies only the difference to the storage table (as a multiset:
 * duplicate rows are kept with their multiplicity). Rows are compared by their text form, which
 * works for every column type, json included, where equality operators may not exist.
 */
public final class FullRefresh implements RefreshStrategy {
  private static final String NEW_ROWS = "pg_temp.pgt_full_refresh_rows";

  @Override
  public RefreshMode mode() {
    return RefreshMode.FULL;
  }

  @Override
  public long apply(Connection connection, RefreshTarget target, ChangeWindow window)
      throws SQLException {
    String columns = String.join(", ", target.columns());
    try (Statement statement = connection.createStatement()) {
      statement.execute("DROP TABLE IF EXISTS " + NEW_ROWS);
      statement.execute(
          "CREATE TEMP TABLE pgt_full_refresh_rows ON COMMIT DROP AS SELECT "
              + columns
              + ", "
              + rowText("q", target)
              + " AS pgt__row FROM "
              + target.queryView()
              + " q");
      if (isEmpty(statement, target.storageTable())) {
        return statement.executeUpdate(
            "INSERT INTO "
                + target.storageTable()
                + " ("
                + columns
                + ") SELECT "
                + columns
                + " FROM "
                + NEW_ROWS);
      }
      statement.execute("ANALYZE " + NEW_ROWS);
      // Surplus copies of a row (beyond how often the new result has it) are deleted...
      long deleted =
          statement.executeUpdate(
              "WITH wanted AS (SELECT pgt__row, count(*) AS copies FROM "
                  + NEW_ROWS
                  + " GROUP BY pgt__row),"
                  + " present AS (SELECT s.ctid AS row_id, "
                  + rowText("s", target)
                  + " AS pgt__row, row_number() OVER (PARTITION BY "
                  + rowText("s", target)
                  + ") AS copy FROM "
                  + target.storageTable()
                  + " s)"
                  + " DELETE FROM "
                  + target.storageTable()
                  + " t USING present p LEFT JOIN wanted w ON w.pgt__row = p.pgt__row"
                  + " WHERE t.ctid = p.row_id AND p.copy > coalesce(w.copies, 0)");
      // ...and missing copies inserted; rows already right are not touched.
      long inserted =
          statement.executeUpdate(
              "WITH present AS (SELECT "
                  + rowText("s", target)
                  + " AS pgt__row, count(*) AS copies FROM "
                  + target.storageTable()
                  + " s GROUP BY 1),"
                  + " wanted AS (SELECT n.*, row_number() OVER (PARTITION BY n.pgt__row)"
                  + " AS pgt__copy FROM "
                  + NEW_ROWS
                  + " n)"
                  + " INSERT INTO "
                  + target.storageTable()
                  + " ("
                  + columns
                  + ") SELECT "
                  + prefixed("w", target)
                  + " FROM wanted w LEFT JOIN present p ON p.pgt__row = w.pgt__row"
                  + " WHERE w.pgt__copy > coalesce(p.copies, 0)");
      statement.execute("DROP TABLE " + NEW_ROWS);
      return deleted + inserted;
    }
  }

  private static boolean isEmpty(Statement statement, String table) throws SQLException {
    try (ResultSet rs = statement.executeQuery("SELECT NOT EXISTS (SELECT 1 FROM " + table + ")")) {
      rs.next();
      return rs.getBoolean(1);
    }
  }

  private static String rowText(String alias, RefreshTarget target) {
    return "ROW(" + prefixed(alias, target) + ")::text";
  }

  private static String prefixed(String alias, RefreshTarget target) {
    return String.join(", ", target.columns().stream().map(c -> alias + "." + c).toList());
  }
}
