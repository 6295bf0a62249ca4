package io.pgtrickle.operator.differential.sql;

import io.pgtrickle.operator.differential.model.Aggregate;
import io.pgtrickle.operator.differential.model.Branch;
import io.pgtrickle.operator.differential.model.Grouping;
import io.pgtrickle.operator.differential.model.QueryModel;
import io.pgtrickle.operator.differential.model.Span;
import io.pgtrickle.operator.differential.model.TableOccurrence;
import io.pgtrickle.operator.differential.plan.Layout;
import io.pgtrickle.operator.differential.plan.TermState;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The change of the query's core in one differential refresh, given which sources changed ({@value
 * #CORE_DELTA}: one term per changed table occurrence, rows weighted +1/-1); {@link ApplySql}
 * applies it to the storage.
 */
public final class DeltaSql {
  static final String CORE_DELTA = "pg_temp.pgt_dq";

  private final QueryModel model;
  private final Layout layout;
  private final ChangedSources sources;
  private final BranchSql branches;

  public DeltaSql(QueryModel model, ChangedSources sources) {
    this.model = model;
    this.layout = Layout.of(model);
    this.sources = sources;
    this.branches = new BranchSql(model, sources);
  }

  /**
   * {@code CREATE TEMP TABLE pgt_dq AS} the core's change, or empty when no table the query reads
   * changed in the window. Per branch, the non-linear tables (right sides of LEFT JOINs, EXISTS
   * tables) come first in the telescoping order, then the linear ones; a term reads the tables
   * before its own as they are now and those after it as they were. Rows of weight 0 (a preserved
   * row whose padding did not change) are left out.
   *
   * @throws FullRefreshNeeded when the table of an outer join changed with another non-linear table
   *     of its branch (the other's state before the change would be needed as a true bag, which is
   *     not kept), or a table read by a subquery the engine does not model
   */
  public Optional<String> coreDelta() {
    for (var source : model.frozen()) {
      if (sources.changed(source)) {
        throw new FullRefreshNeeded("a table read by a subquery of an expression changed");
      }
    }
    List<String> terms = new ArrayList<>();
    for (Branch branch : model.branches()) {
      List<Branch.NonLinear> changedNonLinear =
          branch.nonLinear().stream().filter(n -> sources.changed(n.table().source())).toList();
      List<Branch.NonLinear> changedSublinks =
          changedNonLinear.stream().filter(Branch.NonLinear::isSublink).toList();
      if (changedNonLinear.size() > changedSublinks.size() && changedNonLinear.size() > 1) {
        throw new FullRefreshNeeded(
            "more than one table of an outer join or sublink changed in the same refresh, one of them"
                + " an outer join's");
      }
      List<TableOccurrence> tables = branch.allTables();
      Map<TableOccurrence, TermState> linearOld = new HashMap<>();
      for (TableOccurrence table : tables) {
        if (sources.changed(table.source())) {
          linearOld.put(table, TermState.OLD);
        }
      }
      if (!changedSublinks.isEmpty()) {
        terms.addAll(sublinkTerms(branch, changedSublinks, linearOld));
      } else if (!changedNonLinear.isEmpty()) {
        terms.addAll(nonLinearTerms(branch, changedNonLinear.get(0), linearOld));
      }
      for (int i = 0; i < tables.size(); i++) {
        if (!sources.changed(tables.get(i).source())) {
          continue;
        }
        Map<TableOccurrence, TermState> states = new HashMap<>();
        states.put(tables.get(i), TermState.DELTA);
        for (int j = i + 1; j < tables.size(); j++) {
          if (sources.changed(tables.get(j).source())) {
            states.put(tables.get(j), TermState.OLD);
          }
        }
        terms.add(
            branches.render(branch, coreList(branch, branches.weight(branch, states)), states));
      }
    }
    if (terms.isEmpty()) {
      return Optional.empty();
    }
    return Optional.of(
        "CREATE TEMP TABLE pgt_dq ON COMMIT DROP AS SELECT * FROM ("
            + String.join(" UNION ALL ", terms)
            + ") pgt_terms WHERE pgt__w <> 0");
  }

  /**
   * The change caused by one non-linear table {@code t} (the rest as {@code states}). For each row
   * of the rest, only the number of rows of {@code t} satisfying the condition matters (and, for a
   * LEFT JOIN, the matched rows themselves): now {@code n}, before {@code n - d} where {@code d} is
   * the change's weight among them. Only rows with a matching changed row can differ, so the terms
   * are restricted to those ({@code EXISTS} over the change).
   */
  private List<String> nonLinearTerms(
      Branch branch, Branch.NonLinear nonLinear, Map<TableOccurrence, TermState> states) {
    TableOccurrence table = nonLinear.table();
    String ref = table.refName();
    String delta = sources.delta(table.source());
    String linearWeight = branches.weight(branch, states);
    if (nonLinear.kind() == Branch.NonLinear.Kind.LEFT_JOIN) {
      String on = model.slice(nonLinear.condition().orElseThrow());
      String now = "(SELECT count(*) FROM " + model.slice(table.span()) + " WHERE " + on + ")";
      String change =
          "(SELECT coalesce(sum("
              + ref
              + ".pgt__w), 0) FROM "
              + delta
              + " "
              + ref
              + " WHERE "
              + on
              + ")";
      // Matched rows: the change itself, joined as the ON condition says.
      Map<TableOccurrence, TermState> matched = new HashMap<>(states);
      matched.put(table, TermState.DELTA);
      String matchedTerm =
          branches.render(branch, coreList(branch, branches.weight(branch, matched)), matched);
      // Padded rows: a preserved row is padded when nothing matches it; +1 if that became so,
      // -1 if it stopped being so.
      Map<TableOccurrence, TermState> padded = new HashMap<>(states);
      padded.put(table, TermState.NULLS);
      List<BranchSql.Edit> edits =
          List.of(new BranchSql.Edit(nonLinear.condition().orElseThrow(), "false"));
      String weight =
          "("
              + linearWeight
              + ") * ((CASE WHEN "
              + now
              + " = 0 THEN 1 ELSE 0 END) - (CASE WHEN "
              + now
              + " - "
              + change
              + " = 0 THEN 1 ELSE 0 END))";
      String candidates = "EXISTS (SELECT 1 FROM " + delta + " " + ref + " WHERE " + on + ")";
      Optional<String> where = branches.where(branch, padded, edits);
      String paddedTerm =
          "SELECT "
              + coreList(branch, weight)
              + branches.from(branch, padded, edits)
              + " WHERE "
              + where.map(w -> "(" + w + ") AND ").orElse("")
              + candidates;
      return List.of(matchedTerm, paddedTerm);
    }
    throw new IllegalArgumentException("not an outer join: " + nonLinear.kind());
  }

  /**
   * The change caused by the sublinks whose tables changed, all at once (the rest as {@code
   * states}): each row of the rest counts {@code [WHERE now] - [WHERE before]}, where before has
   * every changed sublink replaced by its value before the change. Only rows for which some
   * sublink's value may differ are read: one term per candidate condition, each excluding the rows
   * of the ones before it, so no row is counted twice and each can be driven from the change.
   */
  private List<String> sublinkTerms(
      Branch branch, List<Branch.NonLinear> changed, Map<TableOccurrence, TermState> states) {
    SublinkSql sublinks = new SublinkSql(model, branches);
    List<BranchSql.Edit> edits = new ArrayList<>();
    List<String> candidates = new ArrayList<>();
    for (Branch.NonLinear sublink : changed) {
      edits.add(new BranchSql.Edit(sublink.sublink().orElseThrow(), sublinks.before(sublink)));
      candidates.addAll(sublinks.candidates(sublink));
    }
    String whereNow = branches.where(branch, states, List.of()).orElseThrow();
    String whereBefore = branches.where(branch, states, edits).orElseThrow();
    String weight =
        "("
            + branches.weight(branch, states)
            + ") * ((CASE WHEN "
            + whereNow
            + " THEN 1 ELSE 0 END) - (CASE WHEN "
            + whereBefore
            + " THEN 1 ELSE 0 END))";
    String select = "SELECT " + coreList(branch, weight) + branches.from(branch, states, List.of());
    List<String> terms = new ArrayList<>();
    for (int c = 0; c < candidates.size(); c++) {
      StringBuilder where = new StringBuilder(candidates.get(c));
      for (int earlier = 0; earlier < c; earlier++) {
        where.append(" AND NOT ").append(candidates.get(earlier));
      }
      terms.add(select + " WHERE " + where);
    }
    return terms;
  }

  /** What each term selects: the query's items, or keys and aggregate arguments; and a weight. */
  private String coreList(Branch branch, String weight) {
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
