package io.pgtrickle.operator.differential.sql;

import io.pgtrickle.operator.differential.model.Branch;
import io.pgtrickle.operator.differential.model.QueryModel;
import io.pgtrickle.operator.differential.model.TableOccurrence;
import io.pgtrickle.operator.differential.plan.TermState;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The terms of an outer join's table that changed (the right side of a LEFT JOIN, either side of a
 * FULL JOIN): the matched rows of its change, and the other side's rows whose padding it switched.
 * {@link DeltaSql} orders them among the other terms.
 */
final class OuterJoinSql {
  private final QueryModel model;
  private final ChangedSources sources;
  private final BranchSql branches;
  private final CoreList core;
  private final NullableBlockSql nullableBlocks;

  OuterJoinSql(
      QueryModel model,
      ChangedSources sources,
      BranchSql branches,
      CoreList core,
      NullableBlockSql nullableBlocks) {
    this.model = model;
    this.sources = sources;
    this.branches = branches;
    this.core = core;
    this.nullableBlocks = nullableBlocks;
  }

  /**
   * Changed outer joins' tables in the order their terms telescope: all but the first are read
   * before the change, as a true bag, which needs a key ({@link ChangedSources#oldBag}), so a table
   * without one goes first.
   *
   * @throws FullRefreshNeeded when two of them have no key
   */
  List<Branch.NonLinear> inTermOrder(List<Branch.NonLinear> changed) {
    if (changed.size() < 2) {
      return changed;
    }
    List<Branch.NonLinear> keyless =
        changed.stream().filter(n -> sources.oldBag(n.table().source()).isEmpty()).toList();
    if (keyless.size() > 1) {
      throw new FullRefreshNeeded(
          "the tables of two outer joins changed in the same refresh, and neither has a primary"
              + " key (a table read before the change must tell its rows apart)");
    }
    List<Branch.NonLinear> ordered = new ArrayList<>(keyless);
    changed.stream().filter(n -> !keyless.contains(n)).forEach(ordered::add);
    return ordered;
  }

  /**
   * The change caused by the nullable side {@code t} of an outer join (the rest as {@code states}):
   * the change's rows matched as the ON condition says, and the other side's rows whose padding the
   * change switched (only rows with a matching changed row can differ: an {@code EXISTS} over the
   * change restricts the term to those). For a FULL JOIN also the change's own rows, padded where
   * the left side (one table or a join tree of inner joins), as it was, matches none: {@code m - e
   * = 0}, {@code m} its rows now matching, {@code e} the weight of its change's among them (the
   * terms of its telescoping sum, {@link NullableBlockSql#leftBefore}).
   */
  List<String> terms(
      Branch branch,
      Branch.NonLinear nonLinear,
      Map<TableOccurrence, TermState> states,
      List<BranchSql.Edit> sublinksBefore) {
    TableOccurrence table = nonLinear.table();
    boolean full = nonLinear.kind() == Branch.NonLinear.Kind.FULL_JOIN;
    List<BranchSql.Edit> keyword = new ArrayList<>(sublinksBefore);
    if (full) {
      keyword.add(new BranchSql.Edit(nonLinear.operand().orElseThrow(), "JOIN"));
    }
    // Matched rows: the change itself, joined as the ON condition says.
    Map<TableOccurrence, TermState> matched = new HashMap<>(states);
    matched.put(table, TermState.DELTA);
    List<String> terms = new ArrayList<>();
    for (Map<TableOccurrence, TermState> split : DeltaSql.splitOld(matched)) {
      terms.add(
          branches.render(
              branch, core.of(branch, branches.weight(branch, split)), split, keyword, Map.of()));
      // Preserved rows padded: +1 where the last match went, -1 where a first one came.
      terms.add(padded(branch, split, table, nonLinear, "LEFT JOIN", sublinksBefore));
    }
    if (!full) {
      return terms;
    }
    // FULL JOIN: the change's own rows padded where the left side (as it was) matches none.
    Branch.Nested left = nonLinear.left().orElseThrow();
    Map<TableOccurrence, TermState> own = new HashMap<>(states);
    left.branch().tables().forEach(t -> own.put(t, TermState.NULLS));
    own.put(table, TermState.DELTA);
    List<BranchSql.Edit> edits = new ArrayList<>(sublinksBefore);
    edits.add(new BranchSql.Edit(nonLinear.condition().orElseThrow(), "false"));
    edits.add(new BranchSql.Edit(nonLinear.operand().orElseThrow(), "RIGHT JOIN"));
    String before = nullableBlocks.leftBefore(left);
    for (Map<TableOccurrence, TermState> split : DeltaSql.splitOld(own)) {
      String weight =
          "("
              + branches.weight(branch, split)
              + ") * (CASE WHEN "
              + before
              + " = 0 THEN 1 ELSE 0 END)";
      Optional<String> where = branches.where(branch, split, edits);
      terms.add(
          "SELECT "
              + core.of(branch, weight)
              + branches.from(branch, split, edits)
              + where.map(w -> " WHERE " + w).orElse(""));
    }
    return terms;
  }

  /**
   * The rows of the other side of an outer join padded because {@code changing} (the nullable side)
   * changed: each row the change matches counts +1 if its matches among {@code changing}'s rows
   * went to none, -1 if its first came ({@code [n = 0] - [n - d = 0]}). {@code changing} is read as
   * empty and the join written {@code keyword ... ON false}, so every row of the other side is
   * padded; the rest as {@code states}.
   */
  String padded(
      Branch branch,
      Map<TableOccurrence, TermState> states,
      TableOccurrence changing,
      Branch.NonLinear join,
      String keyword,
      List<BranchSql.Edit> sublinksBefore) {
    String now = matches(changing, join, false);
    String before = matches(changing, join, true);
    Map<TableOccurrence, TermState> padded = new HashMap<>(states);
    padded.put(changing, TermState.NULLS);
    List<BranchSql.Edit> edits = new ArrayList<>(sublinksBefore);
    edits.add(new BranchSql.Edit(join.condition().orElseThrow(), "false"));
    if (join.kind() == Branch.NonLinear.Kind.FULL_JOIN) {
      edits.add(new BranchSql.Edit(join.operand().orElseThrow(), keyword));
    }
    String weight = paddingSwitch(branches.weight(branch, padded), now, before);
    String candidates =
        "EXISTS (SELECT 1 FROM "
            + sources.delta(changing.source())
            + " "
            + changing.refName()
            + " WHERE "
            + model.slice(join.condition().orElseThrow())
            + ")";
    Optional<String> where = branches.where(branch, padded, edits);
    return "SELECT "
        + core.of(branch, weight)
        + branches.from(branch, padded, edits)
        + " WHERE "
        + where.map(w -> "(" + w + ") AND ").orElse("")
        + candidates;
  }

  /**
   * The weight of a padded row: {@code rowWeight} where the matches ({@code now}, {@code before}:
   * counts) went to none, its negation where the first came, else 0 ({@code [n = 0] - [n - d =
   * 0]}).
   */
  static String paddingSwitch(String rowWeight, String now, String before) {
    return "("
        + rowWeight
        + ") * ((CASE WHEN "
        + now
        + " = 0 THEN 1 ELSE 0 END) - (CASE WHEN "
        + before
        + " = 0 THEN 1 ELSE 0 END))";
  }

  /**
   * How many rows of {@code table} match a row of the join's other side through its ON condition:
   * now, or before the change ({@code before}: now less the change's weight).
   */
  String matches(TableOccurrence table, Branch.NonLinear join, boolean before) {
    String on = model.slice(join.condition().orElseThrow());
    String now = "(SELECT count(*) FROM " + model.slice(table.span()) + " WHERE " + on + ")";
    if (!before || !sources.changed(table.source())) {
      return now;
    }
    return "("
        + now
        + " - (SELECT coalesce(sum("
        + table.refName()
        + "."
        + ChangedSources.WEIGHT
        + "), 0) FROM "
        + sources.delta(table.source())
        + " "
        + table.refName()
        + " WHERE "
        + on
        + "))";
  }
}
