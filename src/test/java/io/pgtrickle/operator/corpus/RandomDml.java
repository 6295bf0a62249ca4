package io.pgtrickle.operator.corpus;

import io.pgtrickle.operator.naming.SqlIdentifiers;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/**
 * Random changes to any tables, learned from the catalog: inserts of new rows, deletes, updates (of
 * keys too), re-inserts of deleted rows, duplicate rows where no key forbids them, and NULLs where
 * the column allows them. Rows are chosen by their position in their text order and values from the
 * table's own values and small ranges around them, so a seed replays the same changes whatever the
 * physical order of the rows. A change the table refuses (a key taken, a value out of range) is
 * logged and skipped. Every statement runs in its own transaction.
 */
final class RandomDml {
  private final CorpusDatabase db;
  private final Random random;
  private final List<String> log = new ArrayList<>();
  private final Map<String, List<List<String>>> deleted = new HashMap<>();

  private record Column(String name, String type, boolean notNull, char category) {}

  private record Table(String name, List<Column> columns, Set<String> uniqueColumns) {
    boolean keyed() {
      return !uniqueColumns.isEmpty();
    }
  }

  /** A row as text values (null for NULL), and where it is. */
  private record Row(String ctid, List<String> values) {}

  RandomDml(CorpusDatabase db, Random random) {
    this.db = db;
    this.random = random;
  }

  /** Every statement run (or skipped, with why), in order. */
  List<String> log() {
    return log;
  }

  /** One round of changes to each of {@code tables}. */
  void round(List<String> tables) throws SQLException {
    for (String name : tables) {
      Table table = table(name);
      if (table.columns().isEmpty()) {
        continue;
      }
      int inserts = 1 + random.nextInt(2);
      for (int i = 0; i < inserts; i++) {
        insert(table, newRow(table, rows(table)));
      }
      List<Row> rows = rows(table);
      if (!rows.isEmpty()) {
        delete(table, rows.get(random.nextInt(rows.size())));
      }
      rows = rows(table);
      int updates = 1 + random.nextInt(2);
      for (int i = 0; i < updates && !rows.isEmpty(); i++) {
        update(table, rows.get(random.nextInt(rows.size())), rows);
        rows = rows(table);
      }
      List<List<String>> gone = deleted.getOrDefault(name, List.of());
      if (!gone.isEmpty() && random.nextInt(3) == 0) {
        insert(table, gone.get(random.nextInt(gone.size())));
      }
      if (!table.keyed() && !rows.isEmpty() && random.nextInt(3) == 0) {
        insert(table, rows.get(random.nextInt(rows.size())).values());
      }
    }
  }

  private void insert(Table table, List<String> values) {
    List<String> names = new ArrayList<>();
    List<String> literals = new ArrayList<>();
    for (int i = 0; i < values.size(); i++) {
      names.add(quote(table.columns().get(i).name()));
      literals.add(literal(values.get(i), table.columns().get(i)));
    }
    run(
        "INSERT INTO "
            + quote(table.name())
            + " ("
            + String.join(", ", names)
            + ") VALUES ("
            + String.join(", ", literals)
            + ")");
  }

  private void delete(Table table, Row row) {
    if (run("DELETE FROM " + quote(table.name()) + " WHERE ctid = '" + row.ctid() + "'")) {
      deleted.computeIfAbsent(table.name(), t -> new ArrayList<>()).add(row.values());
    }
  }

  /** Sets one to all columns of the row; a key column gets a value no row has, or a taken one. */
  private void update(Table table, Row row, List<Row> rows) {
    List<String> sets = new ArrayList<>();
    int changes = 1 + random.nextInt(table.columns().size());
    Set<Integer> chosen = new LinkedHashSet<>();
    while (chosen.size() < changes) {
      chosen.add(random.nextInt(table.columns().size()));
    }
    for (int i : chosen) {
      Column column = table.columns().get(i);
      String value =
          table.uniqueColumns().contains(column.name()) && random.nextInt(4) != 0
              ? unusedValue(column, i, rows)
              : value(column, i, rows);
      sets.add(quote(column.name()) + " = " + literal(value, column));
    }
    run(
        "UPDATE "
            + quote(table.name())
            + " SET "
            + String.join(", ", sets)
            + " WHERE ctid = '"
            + row.ctid()
            + "'");
  }

  private List<String> newRow(Table table, List<Row> rows) {
    List<String> values = new ArrayList<>();
    for (int i = 0; i < table.columns().size(); i++) {
      Column column = table.columns().get(i);
      values.add(
          table.uniqueColumns().contains(column.name())
              ? unusedValue(column, i, rows)
              : value(column, i, rows));
    }
    return values;
  }

  /** A value for the column: NULL now and then, one the column has, or a new one near them. */
  private String value(Column column, int index, List<Row> rows) {
    if (!column.notNull() && random.nextInt(8) == 0) {
      return null;
    }
    List<String> existing = existing(index, rows);
    if (!existing.isEmpty() && random.nextBoolean()) {
      return existing.get(random.nextInt(existing.size()));
    }
    return fresh(column, existing);
  }

  /** A value the column has in no row (for a key), by the column's kind. */
  private String unusedValue(Column column, int index, List<Row> rows) {
    List<String> existing = existing(index, rows);
    for (int attempt = 0; attempt < 20; attempt++) {
      String value = fresh(column, existing);
      if (!existing.contains(value)) {
        return value;
      }
    }
    return fresh(column, existing);
  }

  private String fresh(Column column, List<String> existing) {
    switch (column.category()) {
      case 'N' -> {
        long low = 0;
        long high = 100;
        for (String value : existing) {
          try {
            long v = Math.round(Double.parseDouble(value));
            low = Math.min(low, v);
            high = Math.max(high, v);
          } catch (NumberFormatException e) {
            // a value such as NaN: keep the range
          }
        }
        long value = low - 10 + (long) (random.nextDouble() * (high - low + 20));
        boolean integral = column.type().matches("(smallint|integer|bigint)");
        return integral ? Long.toString(value) : value + "." + random.nextInt(100);
      }
      case 'S' -> {
        String value = "x" + random.nextInt(1000);
        if (!existing.isEmpty() && random.nextBoolean()) {
          String base = existing.get(random.nextInt(existing.size()));
          value = base.substring(0, Math.min(base.length(), 8)) + " " + random.nextInt(100);
        }
        return fitting(value, column.type());
      }
      case 'B' -> {
        return Boolean.toString(random.nextBoolean());
      }
      default -> {
        return existing.isEmpty() ? null : existing.get(random.nextInt(existing.size()));
      }
    }
  }

  /** Cuts text to a varchar(n) or character(n) length. */
  private static String fitting(String value, String type) {
    int open = type.indexOf('(');
    if (open < 0) {
      return value;
    }
    int length = Integer.parseInt(type.substring(open + 1, type.indexOf(')')));
    return value.length() > length ? value.substring(0, length) : value;
  }

  private static List<String> existing(int index, List<Row> rows) {
    List<String> values = new ArrayList<>();
    for (Row row : rows) {
      String value = row.values().get(index);
      if (value != null) {
        values.add(value);
      }
    }
    return values;
  }

  private boolean run(String sql) {
    try {
      db.execute(sql);
      log.add(sql);
      return true;
    } catch (SQLException e) {
      log.add("-- refused (" + e.getSQLState() + "), skipped: " + sql);
      return false;
    }
  }

  private Table table(String name) throws SQLException {
    List<Column> columns = new ArrayList<>();
    try (Statement statement = db.connection().createStatement();
        ResultSet rs =
            statement.executeQuery(
                "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,"
                    + " t.typcategory FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid"
                    + " WHERE a.attrelid = "
                    + regclass(name)
                    + " AND a.attnum > 0 AND NOT a.attisdropped"
                    + " AND a.attgenerated = '' AND a.attidentity = '' ORDER BY a.attnum")) {
      while (rs.next()) {
        columns.add(
            new Column(
                rs.getString(1), rs.getString(2), rs.getBoolean(3), rs.getString(4).charAt(0)));
      }
    }
    Set<String> unique =
        new LinkedHashSet<>(
            db.column(
                "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid"
                    + " AND a.attnum = ANY (i.indkey) WHERE i.indisunique AND i.indrelid = "
                    + regclass(name)
                    + " ORDER BY a.attnum"));
    return new Table(name, columns, unique);
  }

  /** The rows in text order: the same list whatever their physical order. */
  private List<Row> rows(Table table) throws SQLException {
    List<String> casts = new ArrayList<>();
    for (Column column : table.columns()) {
      casts.add("t." + quote(column.name()) + "::text");
    }
    List<Row> rows = new ArrayList<>();
    try (Statement statement = db.connection().createStatement();
        ResultSet rs =
            statement.executeQuery(
                "SELECT t.ctid::text, "
                    + String.join(", ", casts)
                    + " FROM "
                    + quote(table.name())
                    + " t ORDER BY ROW(t.*)::text COLLATE \"C\", t.ctid")) {
      while (rs.next()) {
        List<String> values = new ArrayList<>();
        for (int i = 0; i < table.columns().size(); i++) {
          values.add(rs.getString(i + 2));
        }
        rows.add(new Row(rs.getString(1), values));
      }
    }
    return rows;
  }

  private static String literal(String value, Column column) {
    return value == null ? "NULL" : "'" + value.replace("'", "''") + "'::" + column.type();
  }

  private static String regclass(String table) {
    return "'" + quote(table).replace("'", "''") + "'::regclass";
  }

  private static String quote(String name) {
    return SqlIdentifiers.quote(name);
  }
}
