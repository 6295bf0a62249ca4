package io.pgtrickle.operator.differential.sql;

import io.pgtrickle.operator.differential.model.Branch;
import io.pgtrickle.operator.differential.model.QueryModel;
import io.pgtrickle.operator.differential.model.TableOccurrence;
import io.pgtrickle.operator.differential.plan.TermState;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The terms of a block that changes as a whole (a grouped subquery) standing as the right side of a
 * LEFT JOIN: the block's change joined as the ON condition says, and the preserved rows whose
 * padding it switched. The same rule as for a LEFT JOIN of one table ({@link OuterJoinSql}), with
 * the block's change, kept once in a CTE, in place of a table's.
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
   * The block's terms, the rest of the branch as {@code states} says (the block comes first in the
   * telescoping order, so the changed linear tables are read as they were). {@code change} names
   * the relation holding the block's change (its items and {@code pgt__w}).
   */
  List<String> terms(
      Branch branch,
      Branch.Nested block,
      String change,
      Map<TableOccurrence, TermState> states,
      List<BranchSql.Edit> edits) {
    String text = model.text();
    String on = model.slice(block.nullableOn().orElseThrow());
    String changeRelation = block.relationWith(text, "SELECT * FROM " + change);
    // How many of the block's rows match a preserved row: now, and now less the change's weight.
    String now =
        "(SELECT count(*) FROM "
            + block.relationWith(text, model.slice(block.select()))
            + " WHERE "
            + on
            + ")";
    String before =
        "("
            + now
            + " - (SELECT coalesce(sum("
            + block.alias()
            + "."
            + ChangedSources.WEIGHT
            + "), 0) FROM "
            + changeRelation
            + " WHERE "
            + on
            + "))";
    // Only preserved rows the change matches can have their padding switched.
    String candidates = "EXISTS (SELECT 1 FROM " + changeRelation + " WHERE " + on + ")";
    Map<Branch, String> asChange = Map.of(block.branch(), "SELECT * FROM " + change);
    Map<Branch, String> asEmpty =
        Map.of(
            block.branch(),
            "SELECT * FROM (" + model.slice(block.select()) + ") pgt_none WHERE false");
    List<String> terms = new ArrayList<>();
    for (Map<TableOccurrence, TermState> split : DeltaSql.splitOld(states)) {
      // Matched rows: the change joined; a preserved row it does not match has a NULL weight and
      // is left out with the rows of weight 0.
      terms.add(
          branches.render(
              branch,
              core.of(branch, branches.weight(branch, split, asChange)),
              split,
              edits,
              asChange));
      // Preserved rows padded: +1 where the last match went, -1 where a first one came.
      String weight = OuterJoinSql.paddingSwitch(branches.weight(branch, split), now, before);
      Optional<String> where = branches.where(branch, split, edits);
      terms.add(
          "SELECT "
              + core.of(branch, weight)
              + branches.from(branch, split, edits, asEmpty)
              + " WHERE "
              + where.map(w -> "(" + w + ") AND ").orElse("")
              + candidates);
    }
    return terms;
  }
}
