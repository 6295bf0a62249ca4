package io.pgtrickle.operator.corpus;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * A random schema for {@link RandomQueryIT}: 2 to 4 tables {@code t1 ... t4} of 2 to 5 columns of
 * integer, bigint, numeric, text, boolean and date, each column's values drawn from a small domain
 * (so joins match and groups collide), NULL in most columns. Some tables have a primary key, an
 * integer {@code id} first; the others none, and duplicate rows. Every table has an integer or
 * bigint column besides {@code id}, so any two tables have an equi-join. Column names tell their
 * type: {@code i} integer, {@code g} bigint, {@code n} numeric, {@code s} text, {@code b} boolean,
 * {@code d} date, then their position ({@code i2}, {@code s3}).
 */
final class RandomSchema {
  /** A column's type, and what expressions of it can be mixed with. */
  enum Kind {
    INT("integer", "i"),
    BIGINT("bigint", "g"),
    /** Scale 2 always, so equal values print alike (1.00 never meets 1.0 in a DISTINCT). */
    NUMERIC("numeric(6,2)", "n"),
    TEXT("text", "s"),
    BOOL("boolean", "b"),
    DATE("date", "d");

    final String sqlType;
    final String prefix;

    Kind(String sqlType, String prefix) {
      this.sqlType = sqlType;
      this.prefix = prefix;
    }

    boolean isNumber() {
      return this == INT || this == BIGINT || this == NUMERIC;
    }

    /** Whether values of the two kinds compare with {@code =} and {@code <}. */
    boolean comparesWith(Kind other) {
      return this == other || (isNumber() && other.isNumber());
    }
  }

  record Column(String name, Kind kind, boolean notNull, double nullRate) {}

  /** A table; when {@code keyed}, its first column is {@code id integer PRIMARY KEY}. */
  record Table(String name, List<Column> columns, boolean keyed) {
    List<Column> nonKey() {
      return keyed ? columns.subList(1, columns.size()) : columns;
    }
  }

  /** Mostly plain; some need quoting in a row's text form: a comma, quotes, parentheses, NULL. */
  private static final String[] TEXTS = {
    "a", "b", "c", "ab", "B", "", "a", "b", "a,b", "it's \"x\"", "(c)", "NULL"
  };

  private static final String[] NUMERICS = {"0.00", "1.00", "2.00", "1.50", "2.25", "-0.50"};
  private static final int DOMAIN = 5;

  private final List<Table> tables;
  private final List<String> rows = new ArrayList<>();

  private RandomSchema(List<Table> tables) {
    this.tables = List.copyOf(tables);
  }

  /** Tables and their first rows ({@code rows} a table on average), all from {@code random}. */
  static RandomSchema generate(Random random, int rows) {
    int count = 2 + random.nextInt(3);
    List<Table> tables = new ArrayList<>();
    for (int t = 1; t <= count; t++) {
      // The first table has a key, the second none; the others either.
      boolean keyed = t == 1 || (t > 2 && random.nextBoolean());
      int width = 2 + random.nextInt(4);
      List<Column> columns = new ArrayList<>();
      if (keyed) {
        columns.add(new Column("id", Kind.INT, true, 0));
      }
      Kind[] kinds = Kind.values();
      while (columns.size() < width) {
        int position = columns.size() + 1;
        boolean needsJoinKey =
            columns.stream().noneMatch(c -> !c.name().equals("id") && isIntegral(c.kind()))
                && columns.size() == width - 1;
        Kind kind =
            needsJoinKey || (columns.size() == (keyed ? 1 : 0) && random.nextInt(3) != 0)
                ? (random.nextInt(4) == 0 ? Kind.BIGINT : Kind.INT)
                : kinds[random.nextInt(kinds.length)];
        boolean notNull = random.nextInt(5) == 0;
        double nullRate = notNull ? 0 : 0.05 + random.nextDouble() * 0.2;
        columns.add(new Column(kind.prefix + position, kind, notNull, nullRate));
      }
      tables.add(new Table("t" + t, columns, keyed));
    }
    RandomSchema schema = new RandomSchema(tables);
    // Now and then one table starts empty.
    int empty = random.nextInt(4) == 0 ? random.nextInt(count) : -1;
    for (int t = 0; t < count; t++) {
      Table table = tables.get(t);
      int n = t == empty ? 0 : rows / 2 + random.nextInt(rows + 1);
      List<String> values = new ArrayList<>();
      for (int i = 1; i <= n; i++) {
        String row = schema.row(table, random, Integer.toString(i));
        values.add(row);
        if (!table.keyed() && random.nextInt(5) == 0) {
          values.add(row); // a duplicate
        }
      }
      if (!values.isEmpty()) {
        schema.rows.add("INSERT INTO " + table.name() + " VALUES " + String.join(", ", values));
      }
    }
    return schema;
  }

  private static boolean isIntegral(Kind kind) {
    return kind == Kind.INT || kind == Kind.BIGINT;
  }

  List<Table> tables() {
    return tables;
  }

  List<String> tableNames() {
    return tables.stream().map(Table::name).toList();
  }

  /** CREATE TABLE statements; with {@code replicaIdentityFull}, as WAL capture needs. */
  List<String> ddl(boolean replicaIdentityFull) {
    List<String> statements = new ArrayList<>();
    for (Table table : tables) {
      List<String> columns = new ArrayList<>();
      for (Column column : table.columns()) {
        columns.add(
            column.name()
                + " "
                + column.kind().sqlType
                + (table.keyed() && column.name().equals("id")
                    ? " PRIMARY KEY"
                    : column.notNull() ? " NOT NULL" : ""));
      }
      // No autovacuum: the rows keep their places, so a failure's script (whose changes name
      // rows by ctid, as RandomDml's do) replays in psql as it ran.
      statements.add(
          "CREATE TABLE "
              + table.name()
              + " ("
              + String.join(", ", columns)
              + ") WITH (autovacuum_enabled = off)");
      if (replicaIdentityFull) {
        statements.add("ALTER TABLE " + table.name() + " REPLICA IDENTITY FULL");
      }
    }
    return statements;
  }

  /** INSERT statements of the first rows. */
  List<String> initialRows() {
    return List.copyOf(rows);
  }

  /** One row's {@code (v1, v2, ...)}; {@code id} is the key's value when the table has one. */
  String row(Table table, Random random, String id) {
    List<String> values = new ArrayList<>();
    for (Column column : table.columns()) {
      values.add(table.keyed() && column.name().equals("id") ? id : value(column, random, true));
    }
    return "(" + String.join(", ", values) + ")";
  }

  /** A value of the column's domain, or NULL now and then when {@code nulls} and it may be. */
  static String value(Column column, Random random, boolean nulls) {
    if (nulls && !column.notNull() && random.nextDouble() < column.nullRate()) {
      return "NULL";
    }
    return literal(column.kind(), random);
  }

  /** A literal of the kind's small domain, typed so it means the same in any context. */
  static String literal(Kind kind, Random random) {
    return switch (kind) {
      case INT -> Integer.toString(random.nextInt(DOMAIN));
      case BIGINT -> random.nextInt(DOMAIN) + "::bigint";
      case NUMERIC -> NUMERICS[random.nextInt(NUMERICS.length)];
      case TEXT -> "'" + TEXTS[random.nextInt(TEXTS.length)].replace("'", "''") + "'";
      case BOOL -> random.nextBoolean() ? "true" : "false";
      case DATE -> "DATE '2024-01-0" + (1 + random.nextInt(DOMAIN)) + "'";
    };
  }

  /** The schema as a script: tables, then their first rows. */
  String script(boolean replicaIdentityFull) {
    List<String> all = new ArrayList<>(ddl(replicaIdentityFull));
    all.addAll(rows);
    return String.join(";\n", all) + ";";
  }
}
