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

  /** A bag in Citus storage: its copies numbered, {@code (pgt_row_id, pgt_copy)} its key. */
  public static final String COPY = "pgt_copy";

  private final QueryModel model;
  private final List<String> columns;
  private final String storage;
  private final boolean copies;
  private final boolean citus;

  /**
   * @param columns the query's columns, quoted
   * @param storage the storage table, qualified and quoted
   * @param citus Citus storage (reference or distributed): rows are addressed by key, not by ctid,
   *     a bag's copies numbered 1..n per row ({@value #COPY}), and the storage is read only for the
   *     keys a change touches, named as a list, which Citus routes to their shards (a join with the
   *     change would pull every shard to the coordinator)
   */
  public ApplySql(QueryModel model, List<String> columns, String storage, boolean citus) {
    this.model = model;
    this.columns = List.copyOf(columns);
    this.storage = storage;
    this.citus = citus;
    this.copies = citus && Layout.of(model) == Layout.BAG;
  }

  public ApplySql(QueryModel model, List<String> columns, String storage) {
    this(model, columns, storage, false);
  }

  /**
   * A bag: per distinct row, the net number of copies added or removed; surplus copies are deleted
   * by ctid (found through the row id), missing ones inserted. With numbered copies (Citus storage)
   * the net change n of a row comes with its copies now, c (the highest number: copies are 1..c);
   * copies c+n+1..c are deleted (n < 0) or c+1..c+n inserted (n > 0), by key. The storage is
   * distributed on the row id, so a row's copies share a shard.
   */
  public List<String> applyBag() {
    return List.of(
        "CREATE TEMP TABLE pgt_dn ON COMMIT DROP AS " + bagRows(CORE_DELTA),
        "CREATE TEMP TABLE pgt_net ON COMMIT DROP AS "
            + (copies ? numberedNet(ROWS) : bagNet(ROWS)),
        copies ? deleteHighestCopies(NET) : bagDelete(NET),
        bagInsert(ROWS, NET));
  }

  /** {@link #bagNet} with each row's copies now, {@code c}. */
  private String numberedNet(String rows) {
    return "SELECT n.pgt_row_id, n.n, coalesce(max(s."
        + COPY
        + "), 0) AS c FROM ("
        + bagNet(rows)
        + ") n LEFT JOIN "
        + storedRows(rows)
        + " s ON s.pgt_row_id = n.pgt_row_id GROUP BY n.pgt_row_id, n.n";
  }

  /** A subquery, not the temp table: Citus plans it as an intermediate result. */
  private String deleteHighestCopies(String net) {
    return "DELETE FROM "
        + storage
        + " s USING (SELECT pgt_row_id, c + n AS keep FROM "
        + net
        + " WHERE n < 0) d WHERE s.pgt_row_id = d.pgt_row_id AND s."
        + COPY
        + " > d.keep";
  }

  /**
   * The storage, or in Citus storage only its rows whose row id is in {@code ids} (a relation with
   * a {@code pgt_row_id} column): as a list, which Citus routes to the shards that hold them.
   */
  private String storedRows(String ids) {
    return citus
        ? "(SELECT * FROM "
            + storage
            + " WHERE pgt_row_id = ANY (ARRAY(SELECT pgt_row_id FROM "
            + ids
            + ")))"
        : storage;
  }

  /** The change's rows with their row ids. */
  private String bagRows(String coreDelta) {
    List<String> d = columns.stream().map(c -> "d." + c).toList();
    return "SELECT "
        + StateQuery.rowId(String.join(", ", d))
        + " AS pgt_row_id, d.* FROM "
        + coreDelta
        + " d";
  }

  /** Per distinct row, the net number of copies added (n > 0) or removed (n < 0). */
  private static String bagNet(String rows) {
    return "SELECT pgt_row_id, sum(pgt__w) AS n FROM "
        + rows
        + " GROUP BY pgt_row_id HAVING sum(pgt__w) <> 0";
  }

  private String bagDelete(String net) {
    return "DELETE FROM "
        + storage
        + " WHERE ctid = ANY (ARRAY(SELECT x.ctid FROM "
        + net
        + " n CROSS JOIN LATERAL (SELECT s.ctid FROM "
        + storage
        + " s WHERE s.pgt_row_id = n.pgt_row_id LIMIT -n.n) x WHERE n.n < 0))";
  }

  /**
   * The missing copies of each row the change adds: n of them, or with numbered copies the numbers
   * c+1..c+n after the c already stored.
   */
  private String bagInsert(String rows, String net) {
    List<String> r = columns.stream().map(c -> "r." + c).toList();
    return "INSERT INTO "
        + storage
        + " ("
        + String.join(", ", columns)
        + ", pgt_row_id"
        + (copies ? ", " + COPY : "")
        + ") SELECT "
        + String.join(", ", r)
        + ", r.pgt_row_id"
        + (copies ? ", g" : "")
        + " FROM (SELECT DISTINCT ON (pgt_row_id) * FROM "
        + rows
        + " WHERE pgt__w > 0 ORDER BY pgt_row_id) r JOIN "
        + net
        + " n ON n.pgt_row_id = r.pgt_row_id CROSS JOIN LATERAL generate_series("
        + (copies ? "n.c + 1, n.c + n.n" : "1, n.n")
        + ") g WHERE n.n > 0";
  }

  /**
   * Whether {@link #applyInOne} can apply the change: for a bag, and for groups kept by their state
   * unless one of their aggregates is a min or max (a group whose extreme value went is recomputed
   * from the sources, which reads the touched groups from {@value #NEW_GROUPS}).
   */
  public boolean appliesInOne() {
    return switch (Layout.of(model)) {
      case BAG -> !copies;
      case GROUPS_ALGEBRAIC ->
          model.grouping().aggregates().stream()
              .noneMatch(a -> a.kind() == Aggregate.Kind.MIN || a.kind() == Aggregate.Kind.MAX);
      case GROUPS_RECOMPUTED -> false;
    };
  }

  /**
   * The change ({@code coreQuery}, as {@link DeltaSql#coreQuery}) applied in one statement, whose
   * CTEs stand for the temp tables of {@link #applyBag} and {@link #applyAlgebraicGroups}: for a
   * small change, creating, analyzing and dropping those costs more than the work itself
   * (docs/benchmarks.md, problem 8). Groups are written with {@code INSERT ... ON CONFLICT} (the
   * row id is unique for them) rather than deleted and inserted: the two would run in one
   * statement, whose inserts would meet the rows it deletes. Its one row: the storage rows written.
   */
  public String applyInOne(String coreQuery) {
    StringBuilder sql = new StringBuilder("WITH pgt_dq AS (").append(coreQuery).append("), ");
    if (Layout.of(model) == Layout.BAG) {
      sql.append("pgt_dn AS (")
          .append(bagRows("pgt_dq"))
          .append("), pgt_net AS (")
          .append(bagNet("pgt_dn"))
          .append("), pgt_gone AS (")
          .append(bagDelete("pgt_net"))
          .append(" RETURNING 1), pgt_put AS (")
          .append(bagInsert("pgt_dn", "pgt_net"))
          .append(" RETURNING 1)");
    } else {
      GroupState state = groupState();
      boolean alwaysOneRow = model.grouping().kind() == Grouping.Kind.SINGLE_GROUP;
      List<String> updates = new ArrayList<>();
      for (String column : state.target()) {
        if (!column.equals(Layout.ROW_ID)) {
          updates.add(column + " = EXCLUDED." + column);
        }
      }
      sql.append("pgt_dg AS (")
          .append(state.groupDelta("pgt_dq"))
          .append("), pgt_ng AS (")
          .append(state.newGroups("pgt_dg", storedRows("pgt_dg")))
          .append("), pgt_gone AS (")
          .append(
              alwaysOneRow
                  ? "SELECT 1 WHERE false"
                  : "DELETE FROM "
                      + storage
                      + " s USING pgt_ng n WHERE s.pgt_row_id = n.pgt_row_id"
                      + " AND NOT n.pgt_count > 0 RETURNING 1")
          .append("), pgt_put AS (")
          .append(state.insert("pgt_ng", alwaysOneRow))
          .append(" ON CONFLICT (")
          .append(Layout.ROW_ID)
          .append(") DO UPDATE SET ")
          .append(String.join(", ", updates))
          .append(" RETURNING 1)");
      // Counted as the other path writes them: every touched group's row out, a kept one in.
      return sql.append(
              " SELECT (SELECT count(*) FROM pgt_ng WHERE pgt__existed)"
                  + " + (SELECT count(*) FROM pgt_put)")
          .toString();
    }
    return sql.append(" SELECT (SELECT count(*) FROM pgt_gone) + (SELECT count(*) FROM pgt_put)")
        .toString();
  }

  /**
   * Groups kept by their state: the change per group ({@code pgt_dg}), the new state of every
   * touched group ({@code pgt_ng}: old state plus change; a group whose min or max lost its value
   * is marked to be recomputed), then the touched groups' rows replaced. Groups left with no rows
   * go, except the one group of an aggregate without GROUP BY.
   */
  public List<String> applyAlgebraicGroups() {
    GroupState state = groupState();
    List<String> statements = new ArrayList<>();
    statements.add("CREATE TEMP TABLE pgt_dg ON COMMIT DROP AS " + state.groupDelta(CORE_DELTA));
    List<Aggregate> aggregates = model.grouping().aggregates();
    for (int a = 0; a < aggregates.size(); a++) {
      Aggregate.Kind kind = aggregates.get(a).kind();
      if (kind == Aggregate.Kind.MIN || kind == Aggregate.Kind.MAX) {
        statements.add(netExtremes(a, kind == Aggregate.Kind.MIN ? "min" : "max", state.keys()));
      }
    }
    // Analyzed, so the joins with the storage probe its row-id index rather than hash it all.
    statements.add("ANALYZE " + GROUP_DELTA);
    statements.add(
        "CREATE TEMP TABLE pgt_ng ON COMMIT DROP AS "
            + state.newGroups(GROUP_DELTA, storedRows(GROUP_DELTA)));
    statements.add("ANALYZE " + NEW_GROUPS);
    statements.add(deleteTouchedGroups());
    statements.add(
        state.insert(NEW_GROUPS, model.grouping().kind() == Grouping.Kind.SINGLE_GROUP)
            + " AND NOT n.pgt__recompute");
    return statements;
  }

  /**
   * The pieces of applying a change to groups kept by their state: the change per group, the
   * touched groups' new state (old state plus change), and the storage columns written.
   */
  private record GroupState(
      List<String> keys,
      List<String> delta,
      List<String> next,
      List<String> target,
      List<String> values,
      String storage) {
    /** Per group: its row id, keys, the change of its row count and of each aggregate's state. */
    String groupDelta(String coreDelta) {
      return "SELECT "
          + String.join(", ", delta)
          + " FROM "
          + coreDelta
          // Without keys an aggregate returns a row also over no input: not a change.
          + (keys.isEmpty() ? " HAVING count(*) > 0" : " GROUP BY " + String.join(", ", keys));
    }

    /** Per touched group, its new state; {@code pgt__recompute} marks those to read again. */
    String newGroups(String groupDelta, String stored) {
      return "SELECT "
          + String.join(", ", next)
          + " FROM "
          + groupDelta
          + " d LEFT JOIN "
          + stored
          + " s ON s.pgt_row_id = d.pgt_row_id";
    }

    /** The touched groups that still have rows (or the one group of no GROUP BY) written. */
    String insert(String newGroups, boolean alwaysOneRow) {
      return "INSERT INTO "
          + storage
          + " ("
          + String.join(", ", target)
          + ") SELECT "
          + String.join(", ", values)
          + " FROM "
          + newGroups
          + " n WHERE "
          + (alwaysOneRow ? "true" : "n.pgt_count > 0");
    }
  }

  private GroupState groupState() {
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
    next.add("s.pgt_row_id IS NOT NULL AS pgt__existed");
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
    return new GroupState(keys, delta, next, target, values, storage);
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

  /**
   * Through a subquery, not the temp table itself: Citus refuses a local table joined to its tables
   * in a modification, but plans a subquery over it as an intermediate result.
   */
  private String deleteTouchedGroups() {
    return "DELETE FROM "
        + storage
        + " s USING (SELECT pgt_row_id FROM "
        + NEW_GROUPS
        + ") n WHERE s.pgt_row_id = n.pgt_row_id";
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
