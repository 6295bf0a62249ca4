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
 * The statements of one differential refresh, in order, given which sources changed. First the
 * change of the query's core ({@value #CORE_DELTA}: one term per changed table occurrence, rows
 * weighted +1/-1), then its application to the storage as its layout keeps it. All work is on the
 * changed rows and the rows they touch, found through the storage's {@code pgt_row_id} index.
 */
public final class DeltaSql {
  static final String CORE_DELTA = "pg_temp.pgt_dq";
  private static final String ROWS = "pg_temp.pgt_dn";
  private static final String NET = "pg_temp.pgt_net";
  private static final String GROUP_DELTA = "pg_temp.pgt_dg";

  /** The affected groups' new state; {@code pgt__recompute} marks those read from the sources. */
  public static final String NEW_GROUPS = "pg_temp.pgt_ng";

  private final QueryModel model;
  private final Layout layout;
  private final List<String> columns;
  private final ChangedSources sources;
  private final BranchSql branches;
  private final String storage;

  /**
   * @param columns the query's columns, quoted
   * @param storage the storage table, qualified and quoted
   */
  public DeltaSql(QueryModel model, List<String> columns, ChangedSources sources, String storage) {
    this.model = model;
    this.layout = Layout.of(model);
    this.columns = List.copyOf(columns);
    this.sources = sources;
    this.branches = new BranchSql(model, sources);
    this.storage = storage;
  }

  /**
   * {@code CREATE TEMP TABLE pgt_dq AS} the core's change, or empty when no table the query reads
   * changed in the window. Per branch, the non-linear tables (right sides of LEFT JOINs, EXISTS
   * tables) come first in the telescoping order, then the linear ones; a term reads the tables
   * before its own as they are now and those after it as they were. Rows of weight 0 (a preserved
   * row whose padding did not change) are left out.
   *
   * @throws FullRefreshNeeded when two non-linear tables of one branch changed (the second's state
   *     before the change would be needed as a true bag, which is not kept), or a table read by a
   *     subquery of an expression
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
      if (changedNonLinear.size() > 1) {
        throw new FullRefreshNeeded(
            "more than one table of an outer join or EXISTS changed in the same refresh");
      }
      List<TableOccurrence> tables = branch.allTables();
      for (Branch.NonLinear nonLinear : changedNonLinear) {
        Map<TableOccurrence, TermState> states = new HashMap<>();
        for (TableOccurrence table : tables) {
          if (sources.changed(table.source())) {
            states.put(table, TermState.OLD);
          }
        }
        terms.addAll(nonLinearTerms(branch, nonLinear, states));
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
    Branch subquery = nonLinear.subquery().orElseThrow();
    Map<TableOccurrence, TermState> changed = Map.of(table, TermState.DELTA);
    String now = "(" + branches.render(subquery, "count(*)", Map.of()) + ")";
    String change =
        "(" + branches.render(subquery, "coalesce(sum(" + ref + ".pgt__w), 0)", changed) + ")";
    String candidates = "EXISTS (" + branches.render(subquery, "1", changed) + ")";
    String whereNow = branches.where(branch, states, List.of()).orElseThrow();
    String whereBefore =
        branches
            .where(
                branch,
                states,
                List.of(
                    new BranchSql.Edit(
                        nonLinear.sublink().orElseThrow(), "((" + now + " - " + change + ") > 0)")))
            .orElseThrow();
    String weight =
        "("
            + linearWeight
            + ") * ((CASE WHEN "
            + whereNow
            + " THEN 1 ELSE 0 END) - (CASE WHEN "
            + whereBefore
            + " THEN 1 ELSE 0 END))";
    return List.of(
        "SELECT "
            + coreList(branch, weight)
            + branches.from(branch, states, List.of())
            + " WHERE "
            + candidates);
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

  /**
   * A bag: per distinct row, the net number of copies added or removed; surplus copies are deleted
   * by ctid (found through the row id), missing ones inserted.
   */
  public List<String> applyBag() {
    List<String> d = columns.stream().map(c -> "d." + c).toList();
    List<String> r = columns.stream().map(c -> "r." + c).toList();
    String list = String.join(", ", columns);
    return List.of(
        "CREATE TEMP TABLE pgt_dn ON COMMIT DROP AS SELECT "
            + StateQuery.rowId(String.join(", ", d))
            + " AS pgt_row_id, d.* FROM "
            + CORE_DELTA
            + " d",
        "CREATE TEMP TABLE pgt_net ON COMMIT DROP AS SELECT pgt_row_id, sum(pgt__w) AS n FROM "
            + ROWS
            + " GROUP BY pgt_row_id HAVING sum(pgt__w) <> 0",
        "DELETE FROM "
            + storage
            + " WHERE ctid = ANY (ARRAY(SELECT x.ctid FROM "
            + NET
            + " n CROSS JOIN LATERAL (SELECT s.ctid FROM "
            + storage
            + " s WHERE s.pgt_row_id = n.pgt_row_id LIMIT -n.n) x WHERE n.n < 0))",
        "INSERT INTO "
            + storage
            + " ("
            + list
            + ", pgt_row_id) SELECT "
            + String.join(", ", r)
            + ", r.pgt_row_id FROM (SELECT DISTINCT ON (pgt_row_id) * FROM "
            + ROWS
            + " WHERE pgt__w > 0 ORDER BY pgt_row_id) r JOIN "
            + NET
            + " n ON n.pgt_row_id = r.pgt_row_id CROSS JOIN LATERAL generate_series(1, n.n)"
            + " WHERE n.n > 0");
  }

  /**
   * Groups kept by their state: the change per group ({@code pgt_dg}), the new state of every
   * touched group ({@code pgt_ng}: old state plus change; a group whose min or max lost its value
   * is marked to be recomputed), then the touched groups' rows replaced. Groups left with no rows
   * go, except the one group of an aggregate without GROUP BY.
   */
  public List<String> applyAlgebraicGroups() {
    Grouping grouping = model.grouping();
    int keyCount = keyCount();
    List<String> keys = new ArrayList<>();
    for (int k = 0; k < keyCount; k++) {
      keys.add(Layout.key(k));
    }
    List<String> delta = new ArrayList<>();
    delta.add(StateQuery.rowId(String.join(", ", keys)) + " AS pgt_row_id");
    delta.addAll(keys);
    delta.add("sum(pgt__w) AS pgt_d_count");
    List<String> next = new ArrayList<>();
    next.add("d.pgt_row_id");
    keys.forEach(k -> next.add("d." + k));
    next.add("coalesce(s.pgt_count, 0) + d.pgt_d_count AS pgt_count");
    List<String> recompute = new ArrayList<>();
    List<String> stateColumns = new ArrayList<>();
    List<Aggregate> aggregates = grouping.aggregates();
    for (int a = 0; a < aggregates.size(); a++) {
      aggregateDelta(aggregates.get(a), a, delta, next, recompute, stateColumns);
    }
    next.add(
        (recompute.isEmpty() ? "false" : String.join(" OR ", recompute)) + " AS pgt__recompute");
    List<String> statements = new ArrayList<>();
    statements.add(
        "CREATE TEMP TABLE pgt_dg ON COMMIT DROP AS SELECT "
            + String.join(", ", delta)
            + " FROM "
            + CORE_DELTA
            // Without keys an aggregate returns a row also over no input: not a change.
            + (keys.isEmpty() ? " HAVING count(*) > 0" : " GROUP BY " + String.join(", ", keys)));
    statements.add(
        "CREATE TEMP TABLE pgt_ng ON COMMIT DROP AS SELECT "
            + String.join(", ", next)
            + " FROM "
            + GROUP_DELTA
            + " d LEFT JOIN "
            + storage
            + " s ON s.pgt_row_id = d.pgt_row_id");
    statements.add(deleteTouchedGroups());
    List<String> target = new ArrayList<>(columns);
    target.add(Layout.ROW_ID);
    target.addAll(keys);
    target.add(Layout.COUNT);
    target.addAll(stateColumns);
    List<String> values = new ArrayList<>(visibleFromState());
    values.add("n." + Layout.ROW_ID);
    keys.forEach(k -> values.add("n." + k));
    values.add("n." + Layout.COUNT);
    stateColumns.forEach(c -> values.add("n." + c));
    boolean alwaysOneRow = grouping.kind() == Grouping.Kind.SINGLE_GROUP;
    statements.add(
        "INSERT INTO "
            + storage
            + " ("
            + String.join(", ", target)
            + ") SELECT "
            + String.join(", ", values)
            + " FROM "
            + NEW_GROUPS
            + " n WHERE NOT n.pgt__recompute"
            + (alwaysOneRow ? "" : " AND n.pgt_count > 0"));
    return statements;
  }

  /**
   * Groups recomputed whenever a change touches them (HAVING, count(DISTINCT x), ...): the touched
   * keys, their rows deleted; the caller then inserts {@link StateQuery#restricted} for them.
   */
  public List<String> touchedGroups() {
    List<String> keys = new ArrayList<>();
    for (int k = 0; k < keyCount(); k++) {
      keys.add(Layout.key(k));
    }
    String distinct = keys.isEmpty() ? "" : "DISTINCT ";
    return List.of(
        "CREATE TEMP TABLE pgt_ng ON COMMIT DROP AS SELECT "
            + distinct
            + StateQuery.rowId(String.join(", ", keys))
            + " AS pgt_row_id"
            + (keys.isEmpty() ? "" : ", " + String.join(", ", keys))
            + ", true AS pgt__recompute FROM "
            + CORE_DELTA
            + (keys.isEmpty() ? " LIMIT 1" : ""),
        deleteTouchedGroups());
  }

  /** Inserts the recomputed groups marked in {@value #NEW_GROUPS}. */
  public String insertRecomputed(StateQuery state, boolean nullKeys) {
    return "INSERT INTO " + storage + " " + state.restricted(NEW_GROUPS, nullKeys);
  }

  /** Whether a recomputed group has a NULL key (those need the slower IS NOT DISTINCT FROM). */
  public String recomputedWithNullKey() {
    List<String> anyNull = new ArrayList<>();
    for (int k = 0; k < keyCount(); k++) {
      anyNull.add(Layout.key(k) + " IS NULL");
    }
    return "SELECT EXISTS (SELECT 1 FROM "
        + NEW_GROUPS
        + " WHERE pgt__recompute"
        + (anyNull.isEmpty() ? "" : " AND (" + String.join(" OR ", anyNull) + ")")
        + "), EXISTS (SELECT 1 FROM "
        + NEW_GROUPS
        + " WHERE pgt__recompute)";
  }

  private String deleteTouchedGroups() {
    return "DELETE FROM "
        + storage
        + " s USING "
        + NEW_GROUPS
        + " n WHERE s.pgt_row_id = n.pgt_row_id";
  }

  private int keyCount() {
    Grouping grouping = model.grouping();
    return grouping.kind() == Grouping.Kind.DISTINCT
        ? model.branches().get(0).itemExpressions().size()
        : grouping.keys().size();
  }

  /**
   * Per aggregate: its change per group (into {@code delta}), its new state (into {@code next}: old
   * state {@code s} plus change {@code d}), when the group must be recomputed instead, and its
   * state columns.
   */
  private static void aggregateDelta(
      Aggregate aggregate,
      int index,
      List<String> delta,
      List<String> next,
      List<String> recompute,
      List<String> stateColumns) {
    String arg = Layout.argument(index);
    String d = "pgt_d" + (index + 1);
    String nn = "(coalesce(s." + arg + "_nn, 0) + d." + d + "_nn)";
    switch (aggregate.kind()) {
      case COUNT_STAR, OTHER -> {
        return;
      }
      default -> {}
    }
    if (aggregate.kind() != Aggregate.Kind.BOOL_AND && aggregate.kind() != Aggregate.Kind.BOOL_OR) {
      delta.add("coalesce(sum(pgt__w) FILTER (WHERE " + arg + " IS NOT NULL), 0) AS " + d + "_nn");
      next.add(nn + " AS " + arg + "_nn");
      stateColumns.add(arg + "_nn");
    }
    switch (aggregate.kind()) {
      case SUM, AVG -> {
        delta.add("sum(" + arg + ") FILTER (WHERE pgt__w > 0) AS " + d + "_ins");
        delta.add("sum(" + arg + ") FILTER (WHERE pgt__w < 0) AS " + d + "_del");
        next.add(
            "CASE WHEN "
                + nn
                + " = 0 THEN NULL ELSE coalesce(s."
                + arg
                + "_sum, 0) + coalesce(d."
                + d
                + "_ins, 0) - coalesce(d."
                + d
                + "_del, 0) END AS "
                + arg
                + "_sum");
        stateColumns.add(arg + "_sum");
      }
      case MIN, MAX -> {
        boolean min = aggregate.kind() == Aggregate.Kind.MIN;
        String f = min ? "min" : "max";
        delta.add(f + "(" + arg + ") FILTER (WHERE pgt__w > 0) AS " + d + "_ins");
        delta.add(f + "(" + arg + ") FILTER (WHERE pgt__w < 0) AS " + d + "_del");
        next.add(
            "CASE WHEN "
                + nn
                + " = 0 THEN NULL ELSE "
                + (min ? "least" : "greatest")
                + "(s."
                + arg
                + "_ext, d."
                + d
                + "_ins) END AS "
                + arg
                + "_ext");
        // The group's extreme value went (or a copy of it did): only the sources know the next.
        recompute.add(
            "coalesce(d." + d + "_del " + (min ? "<=" : ">=") + " s." + arg + "_ext, false)");
        stateColumns.add(arg + "_ext");
      }
      case BOOL_AND, BOOL_OR -> {
        delta.add("coalesce(sum(pgt__w) FILTER (WHERE " + arg + "), 0) AS " + d + "_t");
        delta.add("coalesce(sum(pgt__w) FILTER (WHERE NOT " + arg + "), 0) AS " + d + "_f");
        next.add("coalesce(s." + arg + "_t, 0) + d." + d + "_t AS " + arg + "_t");
        next.add("coalesce(s." + arg + "_f, 0) + d." + d + "_f AS " + arg + "_f");
        stateColumns.add(arg + "_t");
        stateColumns.add(arg + "_f");
      }
      default -> {}
    }
  }

  /**
   * The query's columns computed from a touched group's new state ({@code n}): each item's text
   * with its keys and aggregate calls replaced by state, everything else PostgreSQL's own text.
   */
  private List<String> visibleFromState() {
    Grouping grouping = model.grouping();
    List<String> values = new ArrayList<>();
    if (grouping.kind() == Grouping.Kind.DISTINCT) {
      for (int k = 0; k < columns.size(); k++) {
        values.add("n." + Layout.key(k));
      }
      return values;
    }
    for (Grouping.ItemParts item : grouping.items()) {
      StringBuilder text = new StringBuilder(model.slice(item.expression()));
      List<Grouping.Part> parts = new ArrayList<>(item.parts());
      java.util.Collections.reverse(parts);
      for (Grouping.Part part : parts) {
        String replacement =
            part.key() >= 0
                ? "n." + Layout.key(part.key())
                : Layout.aggregateValue(
                    grouping.aggregates().get(part.aggregate()), part.aggregate(), "n");
        text.replace(
            part.span().begin() - item.expression().begin(),
            part.span().end() - item.expression().begin(),
            "(" + replacement + ")");
      }
      values.add(text.toString());
    }
    return values;
  }
}
