package io.pgtrickle.operator.differential.plan;

import io.pgtrickle.operator.differential.model.Aggregate;
import io.pgtrickle.operator.differential.model.Grouping;
import io.pgtrickle.operator.differential.model.QueryModel;
import java.util.ArrayList;
import java.util.List;

/**
 * How a differential stream table's storage holds its rows, and the hidden columns (prefix {@code
 * pgt_}) beside the query's columns. Every layout has {@value #ROW_ID}: the md5 of the row's text
 * (a bag of rows: copies share it) or of its group key's text (one row per group), indexed, so a
 * change finds its rows without a scan. FULL and DIFFERENTIAL maintain the same columns.
 */
public enum Layout {
  /** Rows of a linear query (filters, projections, inner joins, UNION ALL), one per copy. */
  BAG,
  /** One row per group, kept by adding the change to hidden counts and sums. */
  GROUPS_ALGEBRAIC,
  /** One row per group; the groups a change touches are recomputed from the sources. */
  GROUPS_RECOMPUTED;

  public static final String ROW_ID = "pgt_row_id";
  public static final String COUNT = "pgt_count";

  public static Layout of(QueryModel model) {
    if (model.grouping().kind() == Grouping.Kind.NONE) {
      return BAG;
    }
    return model.grouping().algebraic() ? GROUPS_ALGEBRAIC : GROUPS_RECOMPUTED;
  }

  public static String key(int index) {
    return "pgt_k" + (index + 1);
  }

  public static String argument(int index) {
    return "pgt_a" + (index + 1);
  }

  /** The state columns of aggregate {@code index}, each {@code [name, initial SQL over arg]}. */
  public static List<String[]> aggregateState(Aggregate aggregate, int index, String argument) {
    String p = argument(index);
    List<String[]> columns = new ArrayList<>();
    switch (aggregate.kind()) {
      case COUNT_STAR, OTHER -> {}
      case COUNT -> columns.add(new String[] {p + "_nn", "count(" + argument + ")"});
      case SUM, AVG -> {
        columns.add(new String[] {p + "_nn", "count(" + argument + ")"});
        columns.add(new String[] {p + "_sum", "sum(" + argument + ")"});
      }
      case MIN, MAX -> {
        columns.add(new String[] {p + "_nn", "count(" + argument + ")"});
        String f = aggregate.kind() == Aggregate.Kind.MIN ? "min" : "max";
        columns.add(new String[] {p + "_ext", f + "(" + argument + ")"});
      }
      case BOOL_AND, BOOL_OR -> {
        columns.add(new String[] {p + "_t", "count(*) FILTER (WHERE (" + argument + "))"});
        columns.add(new String[] {p + "_f", "count(*) FILTER (WHERE NOT (" + argument + "))"});
      }
    }
    return columns;
  }

  /** The value of aggregate {@code index} computed from its state columns in row {@code alias}. */
  public static String aggregateValue(Aggregate aggregate, int index, String alias) {
    String p = alias + "." + argument(index);
    return switch (aggregate.kind()) {
      case COUNT_STAR -> alias + "." + COUNT;
      case COUNT -> p + "_nn";
      case SUM -> p + "_sum";
      // avg of integers and numerics is their numeric sum divided by the count, as PostgreSQL's
      // own avg computes it (same division, same scale).
      case AVG -> "(" + p + "_sum::numeric / NULLIF(" + p + "_nn, 0))";
      case MIN, MAX -> p + "_ext";
      case BOOL_AND -> "CASE WHEN " + p + "_t + " + p + "_f = 0 THEN NULL ELSE " + p + "_f = 0 END";
      case BOOL_OR -> "CASE WHEN " + p + "_t + " + p + "_f = 0 THEN NULL ELSE " + p + "_t > 0 END";
      case OTHER -> throw new IllegalStateException("recomputed aggregates have no state");
    };
  }
}
