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
      List<Branch.NonLinear> changedJoins =
          branch.nonLinear().stream()
              .filter(n -> !n.isSublink() && sources.changed(n.table().source()))
              .toList();
      List<Site> sites = new ArrayList<>();
      for (Branch block : branch.blocks()) {
        List<Branch.NonLinear> changed =
            block.nonLinear().stream()
                .filter(n -> n.isSublink() && sources.changed(n.table().source()))
                .toList();
        if (!changed.isEmpty()) {
          sites.add(new Site(block, changed));
        }
      }
      if (changedJoins.size() > 1 || (changedJoins.size() == 1 && !sites.isEmpty())) {
        throw new FullRefreshNeeded(
            "more than one table of an outer join or sublink changed in the same refresh, one of"
                + " them an outer join's");
      }
      List<TableOccurrence> tables = branch.allTables();
      Map<TableOccurrence, TermState> linearOld = new HashMap<>();
      for (TableOccurrence table : tables) {
        if (sources.changed(table.source())) {
          linearOld.put(table, TermState.OLD);
        }
      }
      // Sublinks whose own text would read too much are rewritten in every term (as they are now).
      SublinkSql sublinkSql = new SublinkSql(model, branches);
      Map<Span, String> nowTexts = new java.util.LinkedHashMap<>();
      for (Branch block : branch.blocks()) {
        for (Branch.NonLinear sublink : block.nonLinear()) {
          if (sublink.isSublink()) {
            sublinkSql.now(sublink).ifPresent(t -> nowTexts.put(sublink.sublink().get(), t));
          }
        }
      }
      List<BranchSql.Edit> asNow = edits(nowTexts);
      if (!sites.isEmpty()) {
        terms.addAll(sublinkTerms(branch, sites, linearOld, nowTexts));
      } else if (!changedJoins.isEmpty()) {
        terms.addAll(nonLinearTerms(branch, changedJoins.get(0), linearOld));
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
            branches.render(
                branch,
                coreList(branch, branches.weight(branch, states)),
                states,
                asNow,
                Map.of()));
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

  /** A block of a branch (the branch itself or one nested in FROM) whose sublinks changed. */
  private record Site(Branch block, List<Branch.NonLinear> changed) {}

  /**
   * The change caused by the sublinks whose tables changed (the rest as {@code states}). Blocks
   * telescope like tables: the term of site {@code i} sees the sites before it as they are now and
   * those after it as they were (their sublinks replaced by their values before the change). In its
   * own block each row counts {@code [WHERE now] - [WHERE before]}, every changed sublink of the
   * block switching at once. Only rows for which some sublink's value may differ are read: one term
   * per candidate condition, each excluding the rows of the ones before it, so no row counts twice
   * and each term can be driven from the change.
   */
  private List<String> sublinkTerms(
      Branch branch,
      List<Site> sites,
      Map<TableOccurrence, TermState> states,
      Map<Span, String> nowTexts) {
    SublinkSql sublinks = new SublinkSql(model, branches);
    List<Map<Span, String>> befores = new ArrayList<>();
    for (Site site : sites) {
      Map<Span, String> before = new HashMap<>();
      for (Branch.NonLinear sublink : site.changed()) {
        before.put(sublink.sublink().orElseThrow(), sublinks.before(sublink));
      }
      befores.add(before);
    }
    List<BranchSql.Edit> asNow = edits(nowTexts);
    List<String> terms = new ArrayList<>();
    for (int i = 0; i < sites.size(); i++) {
      Branch block = sites.get(i).block();
      Map<Span, String> laterTexts = new HashMap<>(nowTexts);
      befores.subList(i + 1, befores.size()).forEach(laterTexts::putAll);
      List<BranchSql.Edit> later = edits(laterTexts);
      Map<Span, String> beforeTexts = new HashMap<>(nowTexts);
      beforeTexts.putAll(befores.get(i));
      String whereNow = branches.where(block, states, asNow).orElseThrow();
      String whereBefore = branches.where(block, states, edits(beforeTexts)).orElseThrow();
      String weight =
          "("
              + branches.weight(block, states)
              + ") * ((CASE WHEN "
              + whereNow
              + " THEN 1 ELSE 0 END) - (CASE WHEN "
              + whereBefore
              + " THEN 1 ELSE 0 END))";
      List<String> candidates = new ArrayList<>();
      sites.get(i).changed().forEach(s -> candidates.addAll(sublinks.candidates(s)));
      // The conditions of the block no changed sublink is part of hold before and after alike:
      // only rows satisfying them can differ, and they carry the joins' conditions.
      List<String> fixed = new ArrayList<>();
      for (Span conjunct : branches.conjuncts(block.where().orElseThrow())) {
        boolean varies =
            sites.get(i).changed().stream()
                .anyMatch(s -> overlaps(s.sublink().orElseThrow(), conjunct));
        if (!varies) {
          fixed.add("(" + branches.slice(block, conjunct, states, asNow) + ")");
        }
      }
      block.condition().ifPresent(c -> fixed.add("(" + c + ")"));
      for (int c = 0; c < candidates.size(); c++) {
        StringBuilder where = new StringBuilder(candidates.get(c));
        for (int earlier = 0; earlier < c; earlier++) {
          where.append(" AND NOT ").append(candidates.get(earlier));
        }
        fixed.forEach(f -> where.append(" AND ").append(f));
        if (i == 0 && block.equals(branch)) { // the branch itself comes first in blocks()
          terms.add(
              "SELECT "
                  + coreList(branch, weight)
                  + branches.from(branch, states, later, Map.of())
                  + " WHERE "
                  + where);
          continue;
        }
        String rendered =
            "SELECT "
                + branches.items(block)
                + ", "
                + weight
                + " AS "
                + ChangedSources.WEIGHT
                + branches.from(block, states, later, Map.of())
                + " WHERE "
                + where;
        Map<Branch, String> overrides = Map.of(block, rendered);
        terms.add(
            branches.render(
                branch,
                coreList(branch, branches.weight(branch, states, overrides)),
                states,
                later,
                overrides));
      }
    }
    return terms;
  }

  private static List<BranchSql.Edit> edits(Map<Span, String> texts) {
    List<BranchSql.Edit> edits = new ArrayList<>();
    texts.forEach((span, text) -> edits.add(new BranchSql.Edit(span, text)));
    return edits;
  }

  private static boolean overlaps(Span a, Span b) {
    return a.begin() < b.end() && b.begin() < a.end();
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
