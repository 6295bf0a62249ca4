package io.pgtrickle.operator.corpus;

import io.trino.tpch.TpchColumn;
import io.trino.tpch.TpchEntity;
import io.trino.tpch.TpchTable;
import java.io.IOException;
import java.io.StringReader;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.sql.SQLException;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.postgresql.PGConnection;

/**
 * TPC-H's eight tables, made and filled by the generator of {@code io.trino.tpch} (the dbgen port):
 * its column names and types, TPC-H's primary keys, and rows from its generators. Orders and their
 * line items are generated in {@link #PARTS} parts of increasing keys; the last parts are held back
 * for the refresh function RF1, so the orders it inserts have keys beyond the loaded ones and line
 * items of their own, as TPC-H's refresh data does.
 */
final class TpchData {
  /** Orders and line items are generated in this many parts (each ~1% of them). */
  static final int PARTS = 100;

  /** TPC-H's primary keys (TPC-H specification 1.4.2.2). */
  static final Map<String, List<String>> PRIMARY_KEYS =
      Map.of(
          "region", List.of("r_regionkey"),
          "nation", List.of("n_nationkey"),
          "part", List.of("p_partkey"),
          "supplier", List.of("s_suppkey"),
          "partsupp", List.of("ps_partkey", "ps_suppkey"),
          "customer", List.of("c_custkey"),
          "orders", List.of("o_orderkey"),
          "lineitem", List.of("l_orderkey", "l_linenumber"));

  private final CorpusDatabase db;
  private final double scaleFactor;

  TpchData(CorpusDatabase db, double scaleFactor) {
    this.db = db;
    this.scaleFactor = scaleFactor;
  }

  /**
   * Creates the tables and loads them, orders and line items without their last {@code heldBack}
   * parts. Returns the rows loaded.
   */
  long createAndLoad(int heldBack) throws SQLException {
    long rows = 0;
    for (TpchTable<?> table : TpchTable.getTables()) {
      db.execute(ddl(table));
      if (isPartitioned(table)) {
        for (int part = 1; part <= PARTS - heldBack; part++) {
          rows += copy(table, part, PARTS);
        }
      } else {
        rows += copy(table, 1, 1);
      }
      db.execute("ANALYZE " + table.getTableName());
    }
    return rows;
  }

  /** RF1's rows: the orders of part {@code part} (of {@link #PARTS}) and their line items. */
  long insertPart(int part) throws SQLException {
    return insertPart(part, PARTS);
  }

  /**
   * The orders of part {@code part} of {@code parts} and their line items, in one transaction. The
   * generator splits rows evenly by position, so with {@code parts} a multiple of {@link #PARTS}
   * the parts refine those of {@link #PARTS} (part 991 of 1000 is the first tenth of part 100 of
   * 100) when the row count divides evenly, as it does at scale factors 0.1 and 1.
   */
  long insertPart(int part, int parts) throws SQLException {
    db.connection().setAutoCommit(false);
    try {
      long rows = copy(TpchTable.ORDERS, part, parts) + copy(TpchTable.LINE_ITEM, part, parts);
      db.connection().commit();
      return rows;
    } catch (SQLException e) {
      db.connection().rollback();
      throw e;
    } finally {
      db.connection().setAutoCommit(true);
    }
  }

  static boolean isPartitioned(TpchTable<?> table) {
    return table == TpchTable.ORDERS || table == TpchTable.LINE_ITEM;
  }

  static String ddl(TpchTable<?> table) {
    List<String> columns = new ArrayList<>();
    for (TpchColumn<?> column : table.getColumns()) {
      columns.add(column.getColumnName() + " " + sqlType(column) + " NOT NULL");
    }
    columns.add("PRIMARY KEY (" + String.join(", ", PRIMARY_KEYS.get(table.getTableName())) + ")");
    return "CREATE TABLE " + table.getTableName() + " (" + String.join(", ", columns) + ")";
  }

  /**
   * The generator's types as PostgreSQL types. Its DOUBLE columns are TPC-H's decimals (prices,
   * quantities, discounts: two decimals), kept exact as numeric(15,2): a double's sum depends on
   * the order of its terms, and the query and the table would then differ in the last digit.
   */
  private static String sqlType(TpchColumn<?> column) {
    return switch (column.getType().getBase()) {
      case IDENTIFIER -> "bigint";
      case INTEGER -> "integer";
      case DATE -> "date";
      case DOUBLE -> "numeric(15,2)";
      case VARCHAR -> "varchar(" + column.getType().getPrecision().orElseThrow() + ")";
    };
  }

  private <E extends TpchEntity> long copy(TpchTable<E> table, int part, int parts)
      throws SQLException {
    StringBuilder text = new StringBuilder();
    long rows = 0;
    for (E row : table.createGenerator(scaleFactor, part, parts)) {
      List<String> values = new ArrayList<>();
      for (TpchColumn<E> column : table.getColumns()) {
        values.add(value(column, row));
      }
      text.append(String.join("\t", values)).append('\n');
      rows++;
    }
    List<String> names = table.getColumns().stream().map(TpchColumn::getColumnName).toList();
    try {
      return rows == 0
          ? 0
          : db.connection()
              .unwrap(PGConnection.class)
              .getCopyAPI()
              .copyIn(
                  "COPY " + table.getTableName() + " (" + String.join(", ", names) + ") FROM STDIN",
                  new StringReader(text.toString()));
    } catch (IOException e) {
      throw new SQLException("could not copy " + table.getTableName(), e);
    }
  }

  private static <E extends TpchEntity> String value(TpchColumn<E> column, E row) {
    return switch (column.getType().getBase()) {
      case IDENTIFIER -> Long.toString(column.getIdentifier(row));
      case INTEGER -> Integer.toString(column.getInteger(row));
      case DATE -> LocalDate.ofEpochDay(column.getDate(row)).toString();
      case DOUBLE ->
          BigDecimal.valueOf(column.getDouble(row)).setScale(2, RoundingMode.HALF_UP).toString();
      case VARCHAR -> escape(column.getString(row));
    };
  }

  /** COPY's text format: backslash, tab and line breaks escaped. */
  private static String escape(String text) {
    return text.replace("\\", "\\\\")
        .replace("\t", "\\t")
        .replace("\n", "\\n")
        .replace("\r", "\\r");
  }
}
