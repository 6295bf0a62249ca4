package io.pgtrickle.operator.differential.sql;

import io.pgtrickle.operator.differential.model.Aggregate;
import io.pgtrickle.operator.differential.model.Branch;
import io.pgtrickle.operator.differential.model.Grouping;
import io.pgtrickle.operator.differential.model.QueryModel;
import io.pgtrickle.operator.differential.model.Span;
import io.pgtrickle.operator.differential.plan.Layout;
import java.util.ArrayList;
import java.util.List;

/**
 * The query whose result is a differential stream table's storage: the query's columns, then the
 * hidden ones of its layout. FULL refresh recomputes it; a group recompute runs it restricted to
 * the groups a change touched.
 */
public final class StateQuery {
  private final QueryModel model;
  private final Layout layout;
  private final List<String> columns;
  private final BranchSql branches;

  /**
   * @param columns the query's output columns, quoted, in order
   */
  public StateQuery(QueryModel model, List<String> columns) {
    this.model = model;
    this.layout = Layout.of(model);
    this.columns = List.copyOf(columns);
    this.branches = new BranchSql(model, NO_CHANGES);
  }

  public Layout layout() {
    return layout;
  }

  /** Over the whole of every source. {@code queryView} holds the user's query itself. */
  public String sql(String queryView) {
    if (layout == Layout.BAG) {
      return "SELECT q.*, " + rowId("q.*") + " AS " + Layout.ROW_ID + " FROM " + queryView + " q";
    }
    return grouped("");
  }

  /**
   * Only for the groups whose keys are in {@code keysTable}'s columns {@code pgt_k1..n}, with
   * {@code pgt__recompute} true: for keys without NULLs by {@code IN} (planned as a join that can
   * use the sources' indexes), else by {@code IS NOT DISTINCT FROM}.
   */
  public String restricted(String keysTable, boolean nullKeys) {
    Grouping grouping = model.grouping();
    if (model.branches().size() > 1) {
      throw new IllegalStateException("UNION keeps counts; it never recomputes groups");
    }
    List<String> keys = keyTexts();
    List<String> keyColumns = new ArrayList<>();
    for (int k = 0; k < keys.size(); k++) {
      keyColumns.add("f." + Layout.key(k));
    }
    String condition;
    if (!nullKeys) {
      List<String> notNull = keyColumns.stream().map(c -> c + " IS NOT NULL").toList();
      condition =
          "("
              + String.join(", ", keys.stream().map(k -> "(" + k + ")").toList())
              + ") IN (SELECT "
              + String.join(", ", keyColumns)
              + " FROM "
              + keysTable
              + " f WHERE f.pgt__recompute AND "
              + String.join(" AND ", notNull)
              + ")";
    } else {
      List<String> same = new ArrayList<>();
      for (int k = 0; k < keys.size(); k++) {
        same.add(keyColumns.get(k) + " IS NOT DISTINCT FROM (" + keys.get(k) + ")");
      }
      List<String> anyNull = keyColumns.stream().map(c -> c + " IS NULL").toList();
      condition =
          "EXISTS (SELECT 1 FROM "
              + keysTable
              + " f WHERE f.pgt__recompute AND ("
              + String.join(" OR ", anyNull)
              + ") AND "
              + String.join(" AND ", same)
              + ")";
    }
    if (grouping.kind() == Grouping.Kind.SINGLE_GROUP) {
      return grouped(""); // one group: recomputing it is computing it
    }
    return grouped(condition);
  }

  /** The grouping expressions, as PostgreSQL printed them. */
  List<String> keyTexts() {
    return model.grouping().keys().stream().map(model::slice).toList();
  }

  private String grouped(String condition) {
    Grouping grouping = model.grouping();
    List<String> keys = keyTexts();
    if (model.branches().size() > 1) {
      return union();
    }
    Branch branch = model.branches().get(0);
    List<String> list = new ArrayList<>();
    List<Span> items = branch.itemExpressions();
    for (int i = 0; i < items.size(); i++) {
      list.add(model.slice(items.get(i)) + " AS " + columns.get(i));
    }
    list.add(rowId(String.join(", ", keys)) + " AS " + Layout.ROW_ID);
    if (layout == Layout.GROUPS_ALGEBRAIC) {
      for (int k = 0; k < keys.size(); k++) {
        list.add(keys.get(k) + " AS " + Layout.key(k));
      }
      list.add("count(*) AS " + Layout.COUNT);
      List<Aggregate> aggregates = grouping.aggregates();
      for (int a = 0; a < aggregates.size(); a++) {
        Aggregate aggregate = aggregates.get(a);
        String argument = aggregate.argument().map(model::slice).orElse("");
        for (String[] state : Layout.aggregateState(aggregate, a, argument)) {
          list.add(state[1] + " AS " + state[0]);
        }
      }
    }
    String sql =
        branches.original(
            condition.isEmpty() ? branch : branch.withCondition(condition),
            String.join(", ", list));
    if (grouping.kind() == Grouping.Kind.DISTINCT) {
      // By position: the items come first, and a constant key (SELECT DISTINCT 92) written as
      // an expression would be read as a position.
      List<String> positions = new ArrayList<>();
      for (int i = 1; i <= keys.size(); i++) {
        positions.add(Integer.toString(i));
      }
      sql += " GROUP BY " + String.join(", ", positions);
    } else if (grouping.groupBy().isPresent()) {
      sql += " GROUP BY " + model.slice(grouping.groupBy().get());
    }
    if (grouping.having().isPresent()) {
      sql += " HAVING " + model.slice(grouping.having().get());
    }
    return sql;
  }

  /** UNION: one row per distinct row of the branches' UNION ALL. */
  private String union() {
    List<String> parts = new ArrayList<>();
    for (Branch branch : model.branches()) {
      parts.add(branches.original(branch, branches.items(branch)));
    }
    List<String> u = columns.stream().map(c -> "u." + c).toList();
    List<String> list = new ArrayList<>(u);
    list.add(rowId(String.join(", ", u)) + " AS " + Layout.ROW_ID);
    for (int k = 0; k < u.size(); k++) {
      list.add(u.get(k) + " AS " + Layout.key(k));
    }
    list.add("count(*) AS " + Layout.COUNT);
    return "SELECT "
        + String.join(", ", list)
        + " FROM ("
        + String.join(" UNION ALL ", parts)
        + ") u("
        + String.join(", ", columns)
        + ") GROUP BY "
        + String.join(", ", u);
  }

  /** The row id: the md5 of the text of a row, or of a group's key, as a uuid. */
  static String rowId(String values) {
    return "md5(ROW(" + values + ")::text)::uuid";
  }

  private static final ChangedSources NO_CHANGES =
      new ChangedSources() {
        @Override
        public boolean changed(io.pgtrickle.operator.naming.StableName source) {
          return false;
        }

        @Override
        public String delta(io.pgtrickle.operator.naming.StableName source) {
          throw new IllegalStateException("no changes in a state query");
        }

        @Override
        public String oldState(io.pgtrickle.operator.naming.StableName source) {
          throw new IllegalStateException("no changes in a state query");
        }

        @Override
        public java.util.Optional<String> oldBag(io.pgtrickle.operator.naming.StableName source) {
          throw new IllegalStateException("no changes in a state query");
        }
      };
}
