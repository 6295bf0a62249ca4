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
 * The terms of a block that changes as a whole (a grouped subquery, a plain one, a join tree of
 * tables) standing as the nullable side of an outer join: the block's change joined as the ON
 * condition says, and the preserved rows whose padding it switched. The same rule as for a LEFT
 * JOIN of one table ({@link OuterJoinSql}), with the block's change in place of a table's: a
 * subquery's kept once in a CTE, a join tree's read as the terms of its telescoping sum, its tables
 * replaced where they stand (the query reads their columns by the tables' own names, so no relation
 * of another name can stand for the tree).
 */
final class NullableBlockSql {
  private final QueryModel model;
  private final BranchSql branches;
  private final CoreList core;

  NullableBlockSql(QueryModel model, BranchSql branches, CoreList core) {
    this.model = model;
    this.branches = branches;
    this.core = core;
  }

  /**
   * One way a term reads the block: the states of its tables and the renderings of blocks that
   * stand for it, as a branch is rendered; {@code relation}, a FROM item with the block's columns
   * under its names, and {@code weight}, a row's weight there.
   */
  private record Reading(
      Map<TableOccurrence, TermState> states,
      Map<Branch, String> overrides,
      String relation,
      String weight) {}

  /**
   * The terms of a subquery or WITH query, the rest of the branch as {@code states} says (the block
   * comes first in the telescoping order, so the changed linear tables are read as they were).
   * {@code change} names the relation holding the block's change (its items and {@code pgt__w}).
   */
  List<String> terms(
      Branch branch,
      Branch.Nested block,
      String change,
      Map<TableOccurrence, TermState> states,
      List<BranchSql.Edit> edits) {
    String text = model.text();
    String asChange = "SELECT * FROM " + change;
    Reading changed =
        new Reading(
            Map.of(),
            Map.of(block.branch(), asChange),
            block.relationWith(text, asChange),
            block.alias() + "." + ChangedSources.WEIGHT);
    Reading empty =
        new Reading(
            Map.of(),
            Map.of(
                block.branch(),
                "SELECT * FROM (" + model.slice(block.select()) + ") pgt_none WHERE false"),
            "",
            "");
    String written = block.relationWith(text, model.slice(block.select()));
    return terms(branch, block, written, List.of(changed), empty, states, edits);
  }

  /**
   * The terms of a join tree of tables ({@code (b JOIN c ON p)}): its change is the telescoping sum
   * over its tables ({@link BranchSql#changeStates}), each of whose terms is the tree with its
   * tables replaced; its empty reading, the tree with each table read as no rows.
   */
  List<String> treeTerms(
      Branch branch,
      Branch.Nested tree,
      Map<TableOccurrence, TermState> states,
      List<BranchSql.Edit> edits) {
    return terms(
        branch,
        tree,
        model.slice(tree.relation()),
        treeChanges(tree),
        treeEmpty(tree),
        states,
        edits);
  }

  /** The readings of a join tree's change: the terms of its telescoping sum. */
  private List<Reading> treeChanges(Branch.Nested tree) {
    Branch block = tree.branch();
    List<Reading> changes = new ArrayList<>();
    for (Map<TableOccurrence, TermState> term : branches.changeStates(block)) {
      changes.add(
          new Reading(
              term, Map.of(), branches.from(block, term, List.of()), branches.weight(block, term)));
    }
    return changes;
  }

  /** A join tree read as no rows: each of its tables empty. */
  private static Reading treeEmpty(Branch.Nested tree) {
    Map<TableOccurrence, TermState> nulls = new HashMap<>();
    tree.branch().tables().forEach(t -> nulls.put(t, TermState.NULLS));
    return new Reading(nulls, Map.of(), "", "");
  }

  /**
   * How many of a block's rows match a row of the other side through the ON condition: {@code now}
   * (counted over {@code written}) and {@code before} (now less the change's weight among them);
   * {@code candidates}, whether the change matches the row at all (only then can its padding
   * switch).
   */
  private record Matches(String now, String before, String candidates) {}

  private Matches matches(Branch.Nested block, String written, List<Reading> changes) {
    String on = model.slice(block.nullableOn().orElseThrow());
    String now = "(SELECT count(*) FROM " + written + " WHERE " + on + ")";
    if (changes.isEmpty()) {
      return new Matches(now, now, "false");
    }
    List<String> weights = new ArrayList<>();
    List<String> matched = new ArrayList<>();
    for (Reading change : changes) {
      weights.add(
          "(SELECT coalesce(sum("
              + change.weight()
              + "), 0) FROM "
              + change.relation()
              + " WHERE "
              + on
              + ")");
      matched.add("EXISTS (SELECT 1 FROM " + change.relation() + " WHERE " + on + ")");
    }
    String before = "(" + now + " - (" + String.join(" + ", weights) + "))";
    return new Matches(now, before, "(" + String.join(" OR ", matched) + ")");
  }

  /**
   * How many rows of a FULL JOIN's left side, as it was before the change, match a row of its right
   * table: the join tree's rows now less its change's ({@link Branch.NonLinear#left}).
   */
  String leftBefore(Branch.Nested left) {
    return matches(left, model.slice(left.relation()), treeChanges(left)).before();
  }

  /**
   * The right table's rows of a FULL JOIN whose padding the change of its left side (a join tree,
   * {@code left}) switched, the rest as {@code states}: each such row, padded, with weight {@code
   * [n = 0] - [n - d = 0]}, {@code n} the left side's rows now matching it, {@code d} the weight of
   * its change's among them. {@code edits} read the left side as empty and the join as {@code RIGHT
   * JOIN ... ON false}.
   */
  List<String> leftPaddedTerms(
      Branch branch,
      Branch.Nested left,
      Map<TableOccurrence, TermState> states,
      List<BranchSql.Edit> edits) {
    List<Reading> changes = treeChanges(left);
    Matches matches = matches(left, model.slice(left.relation()), changes);
    List<String> terms = new ArrayList<>();
    for (Map<TableOccurrence, TermState> split : DeltaSql.splitOld(states)) {
      terms.add(padded(branch, split, treeEmpty(left), matches, edits));
    }
    return terms;
  }

  /**
   * The terms: per reading of the change, its rows matched (a preserved row it does not match has a
   * NULL weight and is left out with the rows of weight 0); and the preserved rows whose padding it
   * switched, +1 where the last match went, -1 where a first one came ({@code [n = 0] - [n - d =
   * 0]}, {@code n} the block's rows now matching, counted over {@code written}, {@code d} the
   * change's weight among them).
   */
  private List<String> terms(
      Branch branch,
      Branch.Nested block,
      String written,
      List<Reading> changes,
      Reading empty,
      Map<TableOccurrence, TermState> states,
      List<BranchSql.Edit> edits) {
    Matches matches = matches(block, written, changes);
    List<String> terms = new ArrayList<>();
    for (Map<TableOccurrence, TermState> split : DeltaSql.splitOld(states)) {
      for (Reading change : changes) {
        Map<TableOccurrence, TermState> read = new HashMap<>(split);
        read.putAll(change.states());
        terms.add(
            branches.render(
                branch,
                core.of(branch, branches.weight(branch, read, change.overrides())),
                read,
                edits,
                change.overrides()));
      }
      terms.add(padded(branch, split, empty, matches, edits));
    }
    return terms;
  }

  /**
   * The preserved rows the change matches, padded (the block read as {@code empty}), each weighted
   * {@code [n = 0] - [n - d = 0]}.
   */
  private String padded(
      Branch branch,
      Map<TableOccurrence, TermState> split,
      Reading empty,
      Matches matches,
      List<BranchSql.Edit> edits) {
    Map<TableOccurrence, TermState> padded = new HashMap<>(split);
    padded.putAll(empty.states());
    String weight =
        OuterJoinSql.paddingSwitch(branches.weight(branch, split), matches.now(), matches.before());
    Optional<String> where = branches.where(branch, padded, edits);
    return "SELECT "
        + core.of(branch, weight)
        + branches.from(branch, padded, edits, empty.overrides())
        + " WHERE "
        + where.map(w -> "(" + w + ") AND ").orElse("")
        + matches.candidates();
  }
}
