package io.pgtrickle.operator.differential.sql;

import io.pgtrickle.operator.differential.model.Aggregate;
import io.pgtrickle.operator.differential.model.Grouping;
import io.pgtrickle.operator.differential.model.QueryModel;
import io.pgtrickle.operator.differential.plan.Layout;
import java.util.ArrayList;
import java.util.List;

/**
 * Applies the query's change ({@code pg_temp.pgt_dq}, weighted rows of the core) to the storage as
 * its layout keeps it: a bag by row id and copy counts, groups by adding the change to their state
 * (or recomputing them from the sources). Only the rows the change touches are read or written,
 * found through the storage's {@code pgt_row_id} index.
 */
public final class ApplySql {
  private static final String CORE_DELTA = DeltaSql.CORE_DELTA;
  private static final String ROWS = "pg_temp.pgt_dn";
  private static final String NET = "pg_temp.pgt_net";
  private static final String GROUP_DELTA = "pg_temp.pgt_dg";

  /** The affected groups' new state; {@code pgt__recompute} marks those read from the sources. */
  public static final String NEW_GROUPS = "pg_temp.pgt_ng";

  private final QueryModel model;
  private final List<String> columns;
  private final String storage;

  /**
   * @param columns the query's columns, quoted
   * @param storage the storage table, qualified and quoted
   */
  public ApplySql(QueryModel model, List<String> columns, String storage) {
    this.model = model;
    this.columns = List.copyOf(columns);
    this.storage = storage;
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
    for (int a = 0; a < aggregates.size(); a++) {
      Aggregate.Kind kind = aggregates.get(a).kind();
      if (kind == Aggregate.Kind.MIN || kind == Aggregate.Kind.MAX) {
        statements.add(netExtremes(a, kind == Aggregate.Kind.MIN ? "min" : "max", keys));
      }
    }
    // Analyzed, so the joins with the storage probe its row-id index rather than hash it all.
    statements.add("ANALYZE " + GROUP_DELTA);
    statements.add(
        "CREATE TEMP TABLE pgt_ng ON COMMIT DROP AS SELECT "
            + String.join(", ", next)
            + " FROM "
            + GROUP_DELTA
            + " d LEFT JOIN "
            + storage
            + " s ON s.pgt_row_id = d.pgt_row_id");
    statements.add("ANALYZE " + NEW_GROUPS);
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
   * The values a min or max gained and lost, judged on each value's net weight in the group: one
   * delta term can add a row that another removes (a new row joined with a row the window also
   * removed), and such a pair must count for nothing, not as an inserted value.
   */
  private static String netExtremes(int index, String function, List<String> keys) {
    String arg = Layout.argument(index);
    String d = "pgt_d" + (index + 1);
    String keyList = keys.isEmpty() ? "" : String.join(", ", keys) + ", ";
    return "UPDATE "
        + GROUP_DELTA
        + " d SET "
        + d
        + "_ins = m.ins, "
        + d
        + "_del = m.del FROM (SELECT "
        + StateQuery.rowId(String.join(", ", keys))
        + " AS pgt_row_id, "
        + function
        + "(v) FILTER (WHERE n > 0) AS ins, "
        + function
        + "(v) FILTER (WHERE n < 0) AS del FROM (SELECT "
        + keyList
        + arg
        + " AS v, sum(pgt__w) AS n FROM "
        + CORE_DELTA
        + " GROUP BY "
        + keyList
        + arg
        + ") x"
        + (keys.isEmpty() ? "" : " GROUP BY " + String.join(", ", keys))
        + ") m WHERE m.pgt_row_id = d.pgt_row_id";
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
        "ANALYZE " + NEW_GROUPS,
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
