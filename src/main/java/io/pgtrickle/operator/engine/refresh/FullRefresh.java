package io.pgtrickle.operator.engine.refresh;

import io.pgtrickle.operator.api.RefreshMode;
import io.pgtrickle.operator.differential.plan.Layout;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;

/**
 * Recomputes the whole query and applies only the difference to the storage table (as a multiset:
 * duplicate rows are kept with their multiplicity). Rows are compared by their text form, which
 * works for every column type, json included, where equality operators may not exist. Rows that are
 * already right are not touched. Local storage is addressed by ctid; Citus storage (reference or
 * distributed) by its row id, a uuid of the row's text and copy number, with DELETE ... USING and
 * INSERT ... ON CONFLICT, which Citus plans across shards (it has no ctid across nodes, and its
 * MERGE is restricted for distributed targets).
 */
public final class FullRefresh implements RefreshStrategy {
  private static final String NEW_ROWS = "pg_temp.pgt_full_refresh_rows";
  private static final String DIFF = "pg_temp.pgt_full_refresh_diff";
  private static final String GONE = "pg_temp.pgt_full_refresh_gone";
  private static final String ADDED = "pg_temp.pgt_full_refresh_added";
  private static final String COPY = io.pgtrickle.operator.differential.sql.ApplySql.COPY;

  @Override
  public RefreshMode mode() {
    return RefreshMode.FULL;
  }

  @Override
  public long apply(Connection connection, RefreshTarget target, ChangeWindow window)
      throws SQLException {
    String columns = String.join(", ", target.columns());
    try (Statement statement = connection.createStatement()) {
      if (target.rowMatch() == RefreshTarget.RowMatch.NUMBERED_COPIES) {
        statement.execute("SET LOCAL jit = off");
        statement.execute("DROP TABLE IF EXISTS " + NEW_ROWS);
        return applyByNumberedCopies(statement, target);
      }
      if (target.rowMatch() == RefreshTarget.RowMatch.GROUP_ID) {
        statement.execute("SET LOCAL jit = off");
        statement.execute("DROP TABLE IF EXISTS " + NEW_ROWS);
        return applyByGroupId(statement, target);
      }
      if (target.rowIdColumn().isPresent()) {
        // These are large, simple scans and hash joins: JIT compilation costs more than it saves.
        statement.execute("SET LOCAL jit = off");
        statement.execute("DROP TABLE IF EXISTS " + NEW_ROWS);
        return applyByRowId(statement, target, target.rowIdColumn().get());
      }
      boolean empty;
      try (ResultSet rs =
          statement.executeQuery(
              "SELECT pg_catalog.set_config('jit', 'off', true), NOT EXISTS (SELECT 1 FROM "
                  + target.storageTable()
                  + ")")) {
        rs.next();
        empty = rs.getBoolean(2);
      }
      boolean bag = target.rowMatch() == RefreshTarget.RowMatch.BAG;
      // A bag's row id, as its state view defines it: the md5 of the row's text.
      String insertColumns = columns + (bag ? ", " + Layout.ROW_ID : "");
      if (empty) {
        // Nothing to compare with: the rows go straight in.
        return statement.executeUpdate(
            "INSERT INTO "
                + target.storageTable()
                + " ("
                + insertColumns
                + ") SELECT "
                + prefixed("q", target)
                + (bag ? ", md5(" + rowText("q", target) + ")::uuid" : "")
                + " FROM "
                + target.queryView()
                + " q");
      }
      statement.execute("DROP TABLE IF EXISTS " + NEW_ROWS);
      // A state view with groups is fenced, so that its hidden columns (the row id's md5 among
      // them) are computed once per row, not once more inside the row's text.
      statement.execute(
          "CREATE TEMP TABLE pgt_full_refresh_rows ON COMMIT DROP AS "
              + withRowText(
                  target,
                  target.rowMatch() == RefreshTarget.RowMatch.STATE_TEXT
                      ? fenced(target.queryView())
                      : target.queryView()));
      statement.execute("ANALYZE " + NEW_ROWS);
      // One pass over each side with hash aggregates: per distinct row, how many copies the
      // result wants minus how many the table has, and where the table's copies are.
      statement.execute("DROP TABLE IF EXISTS " + DIFF);
      statement.execute(
          "CREATE TEMP TABLE pgt_full_refresh_diff ON COMMIT DROP AS"
              + " SELECT coalesce(w.pgt__row, p.pgt__row) AS pgt__row,"
              + " coalesce(w.copies, 0) - coalesce(p.copies, 0) AS delta, p.row_ids"
              + " FROM (SELECT pgt__row, count(*) AS copies FROM "
              + NEW_ROWS
              + " GROUP BY 1) w FULL JOIN (SELECT "
              + rowText("s", target)
              + " AS pgt__row, count(*) AS copies, array_agg(s.ctid) AS row_ids FROM "
              + target.storageTable()
              + " s GROUP BY 1) p ON p.pgt__row = w.pgt__row"
              + " WHERE coalesce(w.copies, 0) <> coalesce(p.copies, 0)");
      statement.execute("ANALYZE " + DIFF);
      // Surplus copies are deleted by their row ids...
      long deleted =
          statement.executeUpdate(
              "DELETE FROM "
                  + target.storageTable()
                  + " WHERE ctid = ANY (ARRAY(SELECT unnest(row_ids[1:(-delta)]) FROM "
                  + DIFF
                  + " WHERE delta < 0))");
      // ...and missing copies inserted; rows already right are not touched.
      long inserted =
          statement.executeUpdate(
              "INSERT INTO "
                  + target.storageTable()
                  + " ("
                  + insertColumns
                  + ") SELECT "
                  + prefixed("n", target)
                  + (bag ? ", md5(n.pgt__row)::uuid" : "")
                  + " FROM (SELECT r.*, d.delta, row_number() OVER (PARTITION BY r.pgt__row)"
                  + " AS pgt__copy FROM "
                  + NEW_ROWS
                  + " r JOIN "
                  + DIFF
                  + " d ON d.pgt__row = r.pgt__row WHERE d.delta > 0) n"
                  + " WHERE n.pgt__copy <= n.delta");
      statement.execute("DROP TABLE " + DIFF + ", " + NEW_ROWS);
      return deleted + inserted;
    }
  }

  /**
   * The same difference, by key: a row's id is a function of its contents and copy number, so rows
   * already right keep their id and are not touched; surplus ids are deleted, missing ones
   * inserted.
   */
  private static long applyByRowId(Statement statement, RefreshTarget target, String rowId)
      throws SQLException {
    String columns = String.join(", ", target.columns());
    statement.execute(
        "CREATE TEMP TABLE pgt_full_refresh_rows ON COMMIT DROP AS SELECT "
            + columns
            + ", md5(r.pgt__row || '#' || row_number() OVER (PARTITION BY r.pgt__row))::uuid AS "
            + rowId
            + " FROM ("
            + withRowText(target, target.queryView())
            + ") r");
    String insert =
        "INSERT INTO "
            + target.storageTable()
            + " ("
            + columns
            + ", "
            + rowId
            + ") SELECT "
            + prefixed("n", target)
            + ", n."
            + rowId
            + " FROM "
            + NEW_ROWS
            + " n";
    if (isEmpty(statement, target.storageTable())) {
      return statement.executeUpdate(insert);
    }
    return replaceByKey(statement, target.storageTable(), List.of(rowId), insert);
  }

  /**
   * Citus storage of groups: a group's row id is its key's, so a group whose values changed keeps
   * its id and is upserted; groups the result no longer has are deleted by id. Rows already right
   * are not touched. Temp tables are read through subqueries, which Citus plans as intermediate
   * results (it refuses a local table joined to its tables in a modification).
   */
  private static long applyByGroupId(Statement statement, RefreshTarget target)
      throws SQLException {
    String columns = String.join(", ", target.columns());
    String rowId = Layout.ROW_ID;
    statement.execute(
        "CREATE TEMP TABLE pgt_full_refresh_rows ON COMMIT DROP AS "
            + withRowText(target, fenced(target.queryView())));
    String insert =
        "INSERT INTO "
            + target.storageTable()
            + " ("
            + columns
            + ") SELECT "
            + prefixed("n", target)
            + " FROM (SELECT * FROM "
            + NEW_ROWS;
    if (isEmpty(statement, target.storageTable())) {
      return statement.executeUpdate(insert + ") n");
    }
    statement.execute("ANALYZE " + NEW_ROWS);
    statement.execute("DROP TABLE IF EXISTS " + GONE);
    statement.execute(
        "CREATE TEMP TABLE pgt_full_refresh_gone ON COMMIT DROP AS SELECT "
            + rowId
            + " FROM "
            + target.storageTable()
            + " EXCEPT SELECT "
            + rowId
            + " FROM "
            + NEW_ROWS);
    long deleted =
        statement.executeUpdate(
            "DELETE FROM "
                + target.storageTable()
                + " s USING (SELECT "
                + rowId
                + " FROM "
                + GONE
                + ") g WHERE s."
                + rowId
                + " = g."
                + rowId);
    statement.execute("DROP TABLE IF EXISTS " + ADDED);
    statement.execute(
        "CREATE TEMP TABLE pgt_full_refresh_added ON COMMIT DROP AS SELECT pgt__row FROM "
            + NEW_ROWS
            + " EXCEPT SELECT "
            + rowText("s", target)
            + " FROM "
            + target.storageTable()
            + " s");
    List<String> updates = new java.util.ArrayList<>();
    String quotedRowId = io.pgtrickle.operator.naming.SqlIdentifiers.quote(rowId);
    for (String column : target.columns()) {
      if (!column.equals(quotedRowId)) {
        updates.add(column + " = EXCLUDED." + column);
      }
    }
    long upserted =
        statement.executeUpdate(
            insert
                + " r WHERE r.pgt__row IN (SELECT pgt__row FROM "
                + ADDED
                + ")) n ON CONFLICT ("
                + rowId
                + ") DO UPDATE SET "
                + String.join(", ", updates));
    statement.execute("DROP TABLE " + GONE + ", " + ADDED + ", " + NEW_ROWS);
    return deleted + upserted;
  }

  /**
   * Citus storage of a differential bag: a copy's key is its row's id (the md5 of its text, as the
   * differential step computes it) and its number among the row's copies (1..n), so copies already
   * there keep their key; surplus keys are deleted, missing ones inserted.
   */
  private static long applyByNumberedCopies(Statement statement, RefreshTarget target)
      throws SQLException {
    String keys = Layout.ROW_ID + ", " + COPY;
    String columns = String.join(", ", target.columns()) + ", " + keys;
    statement.execute(
        "CREATE TEMP TABLE pgt_full_refresh_rows ON COMMIT DROP AS SELECT "
            + prefixed("r", target)
            + ", md5(r.pgt__row)::uuid AS "
            + Layout.ROW_ID
            + ", row_number() OVER (PARTITION BY r.pgt__row) AS "
            + COPY
            + " FROM ("
            + withRowText(target, target.queryView())
            + ") r");
    String insert =
        "INSERT INTO "
            + target.storageTable()
            + " ("
            + columns
            + ") SELECT "
            + prefixed("n", target)
            + ", n."
            + Layout.ROW_ID
            + ", n."
            + COPY
            + " FROM "
            + NEW_ROWS
            + " n";
    if (isEmpty(statement, target.storageTable())) {
      return statement.executeUpdate(insert);
    }
    return replaceByKey(statement, target.storageTable(), List.of(Layout.ROW_ID, COPY), insert);
  }

  /**
   * Deletes the storage rows whose key the new rows ({@value #NEW_ROWS}) lack and inserts the new
   * rows whose key the storage lacks ({@code insert} selects them as {@code n}). Temp tables are
   * read through subqueries: Citus refuses a local table joined to a reference table in a
   * modification, but plans a subquery over it as an intermediate result.
   */
  private static long replaceByKey(
      Statement statement, String storage, List<String> keys, String insert) throws SQLException {
    String keyList = String.join(", ", keys);
    statement.execute("ANALYZE " + NEW_ROWS);
    statement.execute("DROP TABLE IF EXISTS " + GONE);
    statement.execute(
        "CREATE TEMP TABLE pgt_full_refresh_gone ON COMMIT DROP AS SELECT "
            + keyList
            + " FROM "
            + storage
            + " EXCEPT SELECT "
            + keyList
            + " FROM "
            + NEW_ROWS);
    long deleted =
        statement.executeUpdate(
            "DELETE FROM "
                + storage
                + " s USING (SELECT "
                + keyList
                + " FROM "
                + GONE
                + ") g WHERE "
                + String.join(" AND ", keys.stream().map(k -> "s." + k + " = g." + k).toList()));
    statement.execute("DROP TABLE IF EXISTS " + ADDED);
    statement.execute(
        "CREATE TEMP TABLE pgt_full_refresh_added ON COMMIT DROP AS SELECT "
            + keyList
            + " FROM "
            + NEW_ROWS
            + " EXCEPT SELECT "
            + keyList
            + " FROM "
            + storage);
    long inserted =
        statement.executeUpdate(
            insert
                + " JOIN "
                + ADDED
                + " a ON "
                + String.join(" AND ", keys.stream().map(k -> "a." + k + " = n." + k).toList())
                + " ON CONFLICT DO NOTHING");
    statement.execute("DROP TABLE " + GONE + ", " + ADDED + ", " + NEW_ROWS);
    return deleted + inserted;
  }

  private static boolean isEmpty(Statement statement, String table) throws SQLException {
    try (ResultSet rs = statement.executeQuery("SELECT NOT EXISTS (SELECT 1 FROM " + table + ")")) {
      rs.next();
      return rs.getBoolean(1);
    }
  }

  /**
   * The rows of {@code source} (a relation or subquery), each with its text as {@code pgt__row}.
   */
  private static String withRowText(RefreshTarget target, String source) {
    return "SELECT "
        + prefixed("q", target)
        + ", "
        + rowText("q", target)
        + " AS pgt__row FROM "
        + source
        + " q";
  }

  /** A view read as a fenced subquery: its columns computed once per row, not per reference. */
  private static String fenced(String view) {
    return "(SELECT * FROM " + view + " OFFSET 0)";
  }

  private static String rowText(String alias, RefreshTarget target) {
    return "ROW(" + prefixed(alias, target) + ")::text";
  }

  private static String prefixed(String alias, RefreshTarget target) {
    return String.join(", ", target.columns().stream().map(c -> alias + "." + c).toList());
  }
}
