package io.pgtrickle.operator.differential.sql;

import io.pgtrickle.operator.differential.model.Branch;
import io.pgtrickle.operator.differential.model.Conjuncts;
import io.pgtrickle.operator.differential.model.QueryModel;
import io.pgtrickle.operator.differential.model.Span;
import io.pgtrickle.operator.differential.model.TableOccurrence;
import io.pgtrickle.operator.differential.plan.TermState;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

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

  /** A piece of the text replaced. */
  record Edit(Span span, String text) {}

  /** {@code SELECT <selectList> FROM ... WHERE ...} with the occurrences as {@code states} say. */
  String render(Branch branch, String selectList, Map<TableOccurrence, TermState> states) {
    return render(branch, selectList, states, List.of());
  }

  String render(
      Branch branch, String selectList, Map<TableOccurrence, TermState> states, List<Edit> edits) {
    return render(branch, selectList, states, edits, Map.of());
  }

  /**
   * As above; {@code overrides} replaces the rendering of blocks nested in FROM (a block whose
   * sublinks a term varies), and edits inside nested blocks are made there.
   */
  String render(
      Branch branch,
      String selectList,
      Map<TableOccurrence, TermState> states,
      List<Edit> edits,
      Map<Branch, String> overrides) {
    Optional<String> where = where(branch, states, edits);
    return "SELECT "
        + selectList
        + from(branch, states, edits, overrides)
        + where.map(w -> " WHERE " + w).orElse("");
  }

  /**
   * The change of a linear block's rows (inner joins, filters): one query per occurrence whose
   * table changed, selecting {@code list} (may be empty) and the row's weight as {@code pgt__w},
   * reading that table's change, the changed tables before it as they are now and those after it as
   * they were; their UNION ALL is the change.
   */
  List<String> changeTerms(Branch block, String list) {
    String prefix = list.isEmpty() ? "" : list + ", ";
    List<String> terms = new ArrayList<>();
    for (Map<TableOccurrence, TermState> states : changeStates(block)) {
      String weight = weight(block, states) + " AS " + ChangedSources.WEIGHT;
      terms.add(render(block, prefix + weight, states));
    }
    return terms;
  }

  /**
   * The states of a linear block's tables in the terms whose sum is its change ({@link
   * #changeTerms}): per changed table its change, the changed tables before it as they are now and
   * those after it as they were (old states split, {@link DeltaSql#splitOld}).
   */
  List<Map<TableOccurrence, TermState>> changeStates(Branch block) {
    return changeStates(block.allTables());
  }

  /** The same for the linear {@code tables} of a branch (e.g. the first item of an outer chain). */
  List<Map<TableOccurrence, TermState>> changeStates(List<TableOccurrence> tables) {
    List<Map<TableOccurrence, TermState>> terms = new ArrayList<>();
    for (int i = 0; i < tables.size(); i++) {
      if (!sources.changed(tables.get(i).source())) {
        continue;
      }
      Map<TableOccurrence, TermState> states = new HashMap<>();
      states.put(tables.get(i), TermState.DELTA);
      for (TableOccurrence later : tables.subList(i + 1, tables.size())) {
        if (sources.changed(later.source())) {
          states.put(later, TermState.OLD);
        }
      }
      terms.addAll(DeltaSql.splitOld(states));
    }
    return terms;
  }

  /** The branch as written (every occurrence as it is now). */
  String original(Branch branch, String selectList) {
    return render(branch, selectList, Map.of());
  }

  /** This branch's original select list. */
  String items(Branch branch) {
    return model.slice(branch.items());
  }

  /** {@code FROM ...}: from the end of the select list to the end of the FROM clause. */
  String from(Branch branch, Map<TableOccurrence, TermState> states, List<Edit> edits) {
    return from(branch, states, edits, Map.of());
  }

  String from(
      Branch branch,
      Map<TableOccurrence, TermState> states,
      List<Edit> edits,
      Map<Branch, String> overrides) {
    return edited(
        new Span(branch.core().begin(), branch.fromEnd()), branch, states, edits, overrides);
  }

  /** The WHERE condition, edited, if there is one. */
  Optional<String> where(Branch branch, Map<TableOccurrence, TermState> states, List<Edit> edits) {
    Optional<String> written = branch.where().map(w -> edited(w, branch, states, edits, Map.of()));
    if (branch.condition().isEmpty()) {
      return written;
    }
    String added = branch.condition().get();
    return Optional.of(written.map(w -> "(" + w + ") AND (" + added + ")").orElse(added));
  }

  /** The text of {@code span}, a piece of {@code branch}'s WHERE, rendered as {@link #where}. */
  String slice(Branch branch, Span span, Map<TableOccurrence, TermState> states, List<Edit> edits) {
    return edited(span, branch, states, edits, Map.of());
  }

  /** The conjuncts of a WHERE condition ({@link Conjuncts}). */
  List<Span> conjuncts(Span where) {
    return Conjuncts.of(model.text(), where);
  }

  /**
   * The weight of a row of {@code branch} in a term: the product of the weights of the occurrences
   * it reads that are a change or an old state ({@code 1} when there are none).
   */
  String weight(Branch branch, Map<TableOccurrence, TermState> states) {
    return weight(branch, states, Map.of());
  }

  /** As above, where a block in {@code overrides} always carries a weight. */
  String weight(
      Branch branch, Map<TableOccurrence, TermState> states, Map<Branch, String> overrides) {
    List<String> factors = new ArrayList<>();
    for (TableOccurrence table : direct(branch)) {
      TermState state = states.getOrDefault(table, TermState.NEW);
      if (state == TermState.DELTA || state == TermState.OLD) {
        factors.add(table.refName() + "." + ChangedSources.WEIGHT);
      } else if (state == TermState.UNDONE) {
        factors.add("(- " + table.refName() + "." + ChangedSources.WEIGHT + ")");
      }
    }
    for (Branch.Nested nested : branch.nested()) {
      if (!nested.tree() && weighted(nested.branch(), states, overrides)) {
        factors.add(nested.alias() + "." + ChangedSources.WEIGHT);
      }
    }
    return factors.isEmpty() ? "1" : String.join(" * ", factors);
  }

  private boolean weighted(
      Branch branch, Map<TableOccurrence, TermState> states, Map<Branch, String> overrides) {
    return overrides.containsKey(branch)
        || branch.nested().stream().anyMatch(n -> weighted(n.branch(), states, overrides))
        || branch.allTables().stream()
            .anyMatch(t -> states.getOrDefault(t, TermState.NEW) != TermState.NEW);
  }

  /** The text of {@code span}, with the edits inside it and the occurrences' replacements. */
  private String edited(
      Span span,
      Branch branch,
      Map<TableOccurrence, TermState> states,
      List<Edit> extra,
      Map<Branch, String> overrides) {
    List<Edit> edits = new ArrayList<>();
    for (TableOccurrence table : direct(branch)) {
      replacement(table, states.getOrDefault(table, TermState.NEW))
          .ifPresent(text -> edits.add(new Edit(table.span(), text)));
    }
    List<Edit> outer = new ArrayList<>(extra);
    for (Branch.Nested nested : branch.nested()) {
      if (nested.tree()) {
        continue; // its tables are replaced where they stand, as the block's own
      }
      Branch inner = nested.branch();
      // Edits inside a nested block are made when it is rendered, never over its replacement.
      List<Edit> innerEdits =
          extra.stream().filter(e -> nested.select().contains(e.span())).toList();
      outer.removeAll(innerEdits);
      String rendered = overrides.get(inner);
      if (rendered == null && nested.changesWhole()) {
        // A block that changes as a whole and not in this term stays as written (a WITH
        // query's text where it is referenced: terms do not carry the WITH clause).
        if (nested.wrap()) {
          edits.add(
              new Edit(
                  nested.replaced(), nested.wrapped(model.text(), model.slice(nested.select()))));
        }
        continue;
      }
      if (rendered == null) {
        String list =
            items(inner) + ", " + weight(inner, states, overrides) + " AS " + ChangedSources.WEIGHT;
        rendered = render(inner, list, states, innerEdits, overrides);
      }
      edits.add(new Edit(nested.replaced(), nested.wrapped(model.text(), rendered)));
    }
    edits.addAll(outer);
    edits.removeIf(e -> !span.contains(e.span()));
    edits.sort(Comparator.comparingInt((Edit e) -> e.span().begin()).reversed());
    StringBuilder text = new StringBuilder(model.slice(span));
    for (Edit edit : edits) {
      text.replace(
          edit.span().begin() - span.begin(), edit.span().end() - span.begin(), edit.text());
    }
    return text.toString();
  }

  /**
   * The tables a term replaces in {@code branch}'s own text: its FROM's, its non-linear ones, and
   * those of the join trees in its FROM.
   */
  private static List<TableOccurrence> direct(Branch branch) {
    List<TableOccurrence> direct = new ArrayList<>(branch.tables());
    direct.addAll(branch.nonLinearTables());
    direct.addAll(branch.treeTables());
    return direct;
  }

  private Optional<String> replacement(TableOccurrence table, TermState state) {
    return switch (state) {
      case NEW -> Optional.empty();
      case DELTA, UNDONE -> Optional.of(sources.delta(table.source()) + " " + table.refName());
      case OLD -> Optional.of("(" + sources.oldState(table.source()) + ") " + table.refName());
      case OLD_BAG ->
          Optional.of("(" + sources.oldBag(table.source()).orElseThrow() + ") " + table.refName());
      case NULLS ->
          Optional.of(
              "(SELECT * FROM " + model.slice(table.span()) + " WHERE false) " + table.refName());
    };
  }
}
