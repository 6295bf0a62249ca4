package io.pgtrickle.operator.differential.sql;

import io.pgtrickle.operator.differential.model.Aggregate;
import io.pgtrickle.operator.differential.model.Branch;
import io.pgtrickle.operator.differential.model.Grouping;
import io.pgtrickle.operator.differential.model.QueryModel;
import io.pgtrickle.operator.differential.model.Span;
import io.pgtrickle.operator.differential.plan.Layout;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** The select list every delta term shares: what the layout keeps of a row, and its weight. */
final class CoreList {
  private final QueryModel model;
  private final Layout layout;
  private final BranchSql branches;

  CoreList(QueryModel model, BranchSql branches) {
    this.model = model;
    this.layout = Layout.of(model);
    this.branches = branches;
  }

  /** What each term selects: the query's items, or keys and aggregate arguments; and a weight. */
  String of(Branch branch, String weight) {
    List<String> list = new ArrayList<>();
    Grouping grouping = model.grouping();
    switch (grouping.kind()) {
      case NONE -> list.add(branches.items(branch));
      case DISTINCT -> {
        List<Span> items = branch.itemExpressions();
        for (int k = 0; k < items.size(); k++) {
          list.add(model.slice(items.get(k)) + " AS " + Layout.key(k));
        }
      }
      case GROUP_BY, SINGLE_GROUP -> {
        List<Span> keys = grouping.keys();
        for (int k = 0; k < keys.size(); k++) {
          list.add(model.slice(keys.get(k)) + " AS " + Layout.key(k));
        }
        if (layout == Layout.GROUPS_ALGEBRAIC) {
          List<Aggregate> aggregates = grouping.aggregates();
          for (int a = 0; a < aggregates.size(); a++) {
            Optional<Span> argument = aggregates.get(a).argument();
            if (argument.isPresent()) {
              list.add(model.slice(argument.get()) + " AS " + Layout.argument(a));
            }
          }
        }
      }
    }
    list.add(weight + " AS " + ChangedSources.WEIGHT);
    return String.join(", ", list);
  }
}
