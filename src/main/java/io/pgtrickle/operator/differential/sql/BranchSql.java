package io.pgtrickle.operator.differential.sql;

import io.pgtrickle.operator.differential.model.Branch;
import io.pgtrickle.operator.differential.model.QueryModel;
import io.pgtrickle.operator.differential.model.Span;
import io.pgtrickle.operator.differential.model.TableOccurrence;
import io.pgtrickle.operator.differential.plan.TermState;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

/**
 * Renders a branch as SQL: PostgreSQL's own text from the end of the select list to the end of
 * WHERE, with each table occurrence replaced by what it stands for in a delta term, and a select
 * list of the caller's. Blocks nested in FROM also carry their weight out, as {@code pgt__w}.
 */
final class BranchSql {
  private final QueryModel model;
  private final ChangedSources sources;

  BranchSql(QueryModel model, ChangedSources sources) {
    this.model = model;
    this.sources = sources;
  }

  /** {@code SELECT <selectList> FROM ... WHERE ...} with the occurrences as {@code states} say. */
  String render(Branch branch, String selectList, Map<TableOccurrence, TermState> states) {
    return "SELECT " + selectList + core(branch, states);
  }

  /** The branch as written (every occurrence as it is now). */
  String original(Branch branch, String selectList) {
    return render(branch, selectList, Map.of());
  }

  /** This branch's original select list. */
  String items(Branch branch) {
    return model.slice(branch.items());
  }

  /**
   * The weight of a row of {@code branch} in a term: the product of the weights of the occurrences
   * it reads that are not as they are now ({@code 1} when there are none).
   */
  String weight(Branch branch, Map<TableOccurrence, TermState> states) {
    List<String> factors = new ArrayList<>();
    for (TableOccurrence table : branch.tables()) {
      if (states.getOrDefault(table, TermState.NEW) != TermState.NEW) {
        factors.add(table.refName() + "." + ChangedSources.WEIGHT);
      }
    }
    for (Branch.Nested nested : branch.nested()) {
      if (weighted(nested.branch(), states)) {
        factors.add(nested.alias() + "." + ChangedSources.WEIGHT);
      }
    }
    return factors.isEmpty() ? "1" : String.join(" * ", factors);
  }

  private boolean weighted(Branch branch, Map<TableOccurrence, TermState> states) {
    return branch.allTables().stream()
        .anyMatch(t -> states.getOrDefault(t, TermState.NEW) != TermState.NEW);
  }

  private String core(Branch branch, Map<TableOccurrence, TermState> states) {
    Span core = branch.core();
    List<Edit> edits = new ArrayList<>();
    for (TableOccurrence table : branch.tables()) {
      TermState state = states.getOrDefault(table, TermState.NEW);
      if (state == TermState.DELTA) {
        edits.add(new Edit(table.span(), sources.delta(table.source()) + " " + table.refName()));
      } else if (state == TermState.OLD) {
        edits.add(
            new Edit(
                table.span(), "(" + sources.oldState(table.source()) + ") " + table.refName()));
      }
    }
    for (Branch.Nested nested : branch.nested()) {
      Branch inner = nested.branch();
      String list = items(inner) + ", " + weight(inner, states) + " AS " + ChangedSources.WEIGHT;
      edits.add(new Edit(nested.select(), render(inner, list, states)));
    }
    edits.sort(Comparator.comparingInt((Edit e) -> e.span().begin()).reversed());
    StringBuilder text = new StringBuilder(model.slice(core));
    for (Edit edit : edits) {
      text.replace(
          edit.span().begin() - core.begin(), edit.span().end() - core.begin(), edit.text());
    }
    return text.toString();
  }

  private record Edit(Span span, String text) {}
}
