package io.pgtrickle.operator.corpus;

import io.pgtrickle.operator.corpus.RandomSchema.Column;
import io.pgtrickle.operator.corpus.RandomSchema.Kind;
import io.pgtrickle.operator.corpus.RandomSchema.Table;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * The changes of {@link RandomQueryIT} beyond {@link RandomDml}'s row-at-a-time ones, knowing the
 * {@link RandomSchema}'s small domains: statements over many rows chosen by a predicate (updates of
 * join and group keys, deletes, copies of rows), and transactions that change the same rows more
 * than once: rows deleted and re-inserted as they were (in one statement and in two), rows
 * inserted, updated and deleted again, rows updated twice, updates that change nothing, duplicate
 * inserts, and now and then a TRUNCATE or a DELETE of every row. Rows are chosen by predicates over
 * values, never by physical position, so a seed replays the same changes. A statement the table
 * refuses (a key taken) is logged and skipped, its transaction rolled back.
 */
final class RandomChanges {
  /** The rows this transaction wrote: those inserted or updated by it, in the table's heap. */
  private static final String MINE = "xmin = pg_catalog.pg_current_xact_id()::xid";

  private final CorpusDatabase db;
  private final RandomSchema schema;
  private final Random random;
  private final int rows;
  private final List<String> log = new ArrayList<>();

  /** {@code rows}: a table is topped up when it has fewer than half as many. */
  RandomChanges(CorpusDatabase db, RandomSchema schema, Random random, int rows) {
    this.db = db;
    this.schema = schema;
    this.random = random;
    this.rows = rows;
  }

  /** Every statement run (or skipped, with why), in order; a transaction between BEGIN/COMMIT. */
  List<String> log() {
    return log;
  }

  /**
   * One round: one to three changes to each table, and rarely a TRUNCATE; a table with fewer than
   * half the rows it started with on average gets new ones first, so joins keep matching.
   */
  void round() throws SQLException {
    for (Table table : schema.tables()) {
      if (random.nextInt(20) == 0) {
        truncate(table);
        continue;
      }
      long count = Long.parseLong(db.column("SELECT count(*) FROM " + table.name()).get(0));
      if (count < rows / 2) {
        run(insert(table, rows / 2));
      }
      int changes = 1 + random.nextInt(3);
      for (int i = 0; i < changes; i++) {
        change(table);
      }
    }
  }

  private void change(Table table) throws SQLException {
    String name = table.name();
    switch (random.nextInt(12)) {
      case 0 -> run(insert(table, 1 + random.nextInt(3)));
      case 1 -> run(copy(table));
      case 2, 3 -> run(update(table));
      case 4 -> run("DELETE FROM " + name + " WHERE " + predicate(table));
      case 5 -> {
        String where = predicate(table);
        run(
            "WITH gone AS (DELETE FROM "
                + name
                + " WHERE "
                + where
                + " RETURNING *) INSERT INTO "
                + name
                + " SELECT * FROM gone");
      }
      case 6 -> {
        String where = predicate(table);
        transaction(
            "CREATE TEMP TABLE random_moved ON COMMIT DROP AS SELECT * FROM "
                + name
                + " WHERE "
                + where,
            "DELETE FROM " + name + " WHERE " + where,
            "INSERT INTO " + name + " SELECT * FROM random_moved");
      }
      case 7 -> deleteAndReinsertOneRow(table);
      case 8 -> {
        List<String> statements = new ArrayList<>();
        statements.add(insert(table, 1 + random.nextInt(2)));
        if (random.nextBoolean()) {
          statements.add("UPDATE " + name + " SET " + assignment(table) + " WHERE " + MINE);
        }
        if (random.nextInt(3) != 0) {
          statements.add("DELETE FROM " + name + " WHERE " + MINE);
        }
        transaction(statements.toArray(String[]::new));
      }
      case 9 -> transaction(update(table), update(table));
      case 10 -> transaction(update(table), "DELETE FROM " + name + " WHERE " + predicate(table));
      default -> {
        Column column = pick(table.nonKey());
        run(
            "UPDATE "
                + name
                + " SET "
                + column.name()
                + " = "
                + column.name()
                + " WHERE "
                + predicate(table));
      }
    }
  }

  /** New rows: a key past every key there is; without a key, sometimes one row twice. */
  private String insert(Table table, int rows) {
    List<String> values = new ArrayList<>();
    for (int i = 1; i <= rows; i++) {
      String id = "(SELECT coalesce(max(id), 0) + " + i + " FROM " + table.name() + ")";
      String row = schema.row(table, random, id);
      values.add(row);
      if (!table.keyed() && random.nextInt(4) == 0) {
        values.add(row);
      }
    }
    return "INSERT INTO " + table.name() + " VALUES " + String.join(", ", values);
  }

  /** Copies of the rows a predicate matches: duplicates, or with new keys. */
  private String copy(Table table) {
    String name = table.name();
    if (!table.keyed()) {
      return "INSERT INTO " + name + " SELECT * FROM " + name + " WHERE " + predicate(table);
    }
    List<String> columns = new ArrayList<>();
    columns.add("m.top + row_number() OVER (ORDER BY " + name + ".id)");
    for (Column column : table.nonKey()) {
      columns.add(name + "." + column.name());
    }
    return "INSERT INTO "
        + name
        + " SELECT "
        + String.join(", ", columns)
        + " FROM "
        + name
        + ", (SELECT max(id) AS top FROM "
        + name
        + ") m WHERE "
        + predicate(table);
  }

  /** Sets one or two columns (join and group keys; the key itself now and then). */
  private String update(Table table) {
    List<String> sets = new ArrayList<>();
    if (table.keyed() && random.nextInt(6) == 0) {
      sets.add("id = id + (SELECT max(id) FROM " + table.name() + ")");
    } else {
      sets.add(assignment(table));
      if (table.nonKey().size() > 1 && random.nextInt(3) == 0) {
        String second = assignment(table);
        if (!second.startsWith(sets.get(0).substring(0, sets.get(0).indexOf(' ')) + " ")) {
          sets.add(second);
        }
      }
    }
    return "UPDATE "
        + table.name()
        + " SET "
        + String.join(", ", sets)
        + " WHERE "
        + predicate(table);
  }

  private String assignment(Table table) {
    Column column = pick(table.nonKey());
    String name = column.name();
    String value =
        switch (random.nextInt(4)) {
          case 0 ->
              switch (column.kind()) {
                case INT, BIGINT -> "CASE WHEN " + name + " >= 4 THEN 0 ELSE " + name + " + 1 END";
                case NUMERIC -> name + " + 0.25";
                case TEXT -> "CASE " + name + " WHEN 'a' THEN 'b' ELSE 'a' END";
                case BOOL -> "NOT " + name;
                case DATE -> name + " + 1";
              };
          default -> RandomSchema.value(column, random, true);
        };
    if (column.notNull() && value.equals("NULL")) {
      value = RandomSchema.literal(column.kind(), random);
    }
    return name + " = " + value;
  }

  /** Rows by value: equal to a domain value, NULL, below one, one of two. */
  private String predicate(Table table) {
    Column column = pick(table.columns());
    String name = column.name();
    if (name.equals("id")) {
      return "id % " + (2 + random.nextInt(3)) + " = " + random.nextInt(2);
    }
    return switch (random.nextInt(column.kind() == Kind.BOOL ? 3 : 5)) {
      case 0 -> name + " IS NULL";
      case 1, 2 -> name + " = " + RandomSchema.literal(column.kind(), random);
      case 3 -> name + " < " + RandomSchema.literal(column.kind(), random);
      default ->
          name
              + " IN ("
              + RandomSchema.literal(column.kind(), random)
              + ", "
              + RandomSchema.literal(column.kind(), random)
              + ")";
    };
  }

  /**
   * One row (by its text, in text order, so the same row whatever the heap) deleted and inserted
   * again, in one transaction; sometimes then updated too.
   */
  private void deleteAndReinsertOneRow(Table table) throws SQLException {
    String name = table.name();
    List<String> rows =
        db.column("SELECT x::text FROM " + name + " x ORDER BY x::text COLLATE \"C\"");
    if (rows.isEmpty()) {
      return;
    }
    String row = rows.get(random.nextInt(rows.size())).replace("'", "''");
    List<String> statements = new ArrayList<>();
    statements.add(
        "DELETE FROM "
            + name
            + " WHERE ctid = (SELECT ctid FROM "
            + name
            + " x WHERE x::text = '"
            + row
            + "' LIMIT 1)");
    statements.add("INSERT INTO " + name + " SELECT ('" + row + "'::" + name + ").*");
    if (random.nextInt(3) == 0) {
      statements.add("UPDATE " + name + " SET " + assignment(table) + " WHERE " + MINE);
    }
    transaction(statements.toArray(String[]::new));
  }

  /**
   * Every row gone: TRUNCATE alone, or with new rows in the same transaction, or every row deleted
   * one by one ({@code DELETE} without WHERE).
   */
  private void truncate(Table table) {
    switch (random.nextInt(5)) {
      case 0 -> run("TRUNCATE " + table.name());
      case 1 -> run("DELETE FROM " + table.name());
      default -> transaction("TRUNCATE " + table.name(), insert(table, Math.max(1, rows / 2)));
    }
  }

  private Column pick(List<Column> columns) {
    return columns.get(random.nextInt(columns.size()));
  }

  private void run(String sql) {
    try {
      db.execute(sql);
      log.add(sql + ";");
    } catch (SQLException e) {
      log.add("-- refused (" + e.getSQLState() + "), skipped: " + sql + ";");
    }
  }

  private void transaction(String... statements) {
    try {
      db.transaction(List.of(statements));
      log.add("BEGIN;");
      for (String sql : statements) {
        log.add("  " + sql + ";");
      }
      log.add("COMMIT;");
    } catch (SQLException e) {
      log.add("-- refused (" + e.getSQLState() + "), rolled back:");
      for (String sql : statements) {
        log.add("--   " + sql + ";");
      }
    }
  }
}
