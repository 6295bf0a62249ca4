package io.pgtrickle.operator.differential.sql;

import io.pgtrickle.operator.differential.model.Branch;
import io.pgtrickle.operator.differential.model.QueryModel;
import io.pgtrickle.operator.differential.model.Span;
import io.pgtrickle.operator.differential.model.TableOccurrence;
import io.pgtrickle.operator.differential.plan.TermState;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The change of a block in the query's FROM that changes as a whole ({@link
 * Branch.Nested#changesWhole}). A grouped block ({@code (SELECT ... GROUP BY k ...) alias}) is not
 * linear in its tables: its change is the groups the change touched, recomputed as they are now and
 * as they were. A plain block on the nullable side of a LEFT JOIN is linear in its own tables: its
 * change is their telescoping sum. {@link DeltaSql} puts it in the block's place in its terms.
 */
final class WholeBlockSql {
  private final QueryModel model;
  private final ChangedSources sources;
  private final BranchSql branches;

  WholeBlockSql(QueryModel model, ChangedSources sources, BranchSql branches) {
    this.model = model;
    this.sources = sources;
    this.branches = branches;
  }

  /** The blocks in {@code branch}'s FROM that change as a whole and whose tables changed. */
  List<Branch.Nested> changed(Branch branch) {
    return branch.wholeBlocks().stream().filter(g -> !changedTables(g.branch()).isEmpty()).toList();
  }

  /** The occurrences of a grouped block whose tables changed, linear or not. */
  private List<TableOccurrence> changedTables(Branch block) {
    List<TableOccurrence> all = new ArrayList<>(block.allTables());
    all.addAll(block.nonLinearTables());
    return all.stream().filter(t -> sources.changed(t.source())).toList();
  }

  /** The block's change as a query of its items and {@code pgt__w}. */
  String delta(Branch.Nested block) {
    return block.grouped().isPresent()
        ? groupedDelta(block)
        : String.join(
            " UNION ALL ", branches.changeTerms(block.branch(), branches.items(block.branch())));
  }

  /**
   * A grouped block's change as a SELECT of its items and {@code pgt__w}: the keys a change touched
   * ({@code pgt_touched}: the block's rows with one changed table read as its change, the others as
   * they were or are), and those groups as they are now and as they were.
   */
  private String groupedDelta(Branch.Nested grouped) {
    Branch block = grouped.branch();
    List<Span> keys = grouped.grouped().orElseThrow().keys();
    String tail = model.slice(grouped.grouped().orElseThrow().tail());
    List<TableOccurrence> changed = changedTables(block);
    List<String> keyList = new ArrayList<>();
    List<String> touchedColumns = new ArrayList<>();
    for (int k = 0; k < keys.size(); k++) {
      keyList.add(model.slice(keys.get(k)) + " AS pgt_t" + (k + 1));
      touchedColumns.add("pgt_t" + (k + 1));
    }
    List<String> touched = new ArrayList<>();
    Map<TableOccurrence, TermState> old = new HashMap<>();
    for (TableOccurrence table : changed) {
      old.put(table, TermState.OLD);
    }
    for (TableOccurrence table : changed) {
      Map<TableOccurrence, TermState> states = new HashMap<>(old);
      states.put(table, TermState.DELTA);
      // A change on the nullable side of an outer join touches only the rows it matches.
      Branch matched =
          block.withCondition(table.refName() + "." + ChangedSources.WEIGHT + " IS NOT NULL");
      touched.add(branches.render(matched, String.join(", ", keyList), states));
    }
    Map<TableOccurrence, TermState> before = new HashMap<>();
    for (TableOccurrence table : changed) {
      if (sources.oldBag(table.source()).isEmpty()) {
        throw new FullRefreshNeeded(
            "a table of a grouped subquery in FROM changed, and it has no primary key (its groups"
                + " are recomputed as they were, which must tell its rows apart)");
      }
      before.put(table, TermState.OLD_BAG);
    }
    List<String> keyTexts = keys.stream().map(k -> "(" + model.slice(k) + ")").toList();
    String allKeys = String.join(", ", keyTexts);
    List<String> notNull = touchedColumns.stream().map(c -> c + " IS NOT NULL").toList();
    List<String> anyNull = touchedColumns.stream().map(c -> "t." + c + " IS NULL").toList();
    List<String> same = new ArrayList<>();
    for (int k = 0; k < keys.size(); k++) {
      same.add("t." + touchedColumns.get(k) + " IS NOT DISTINCT FROM " + keyTexts.get(k));
    }
    // Keys without NULLs by IN, which PostgreSQL plans as a join that can use indexes; keys with a
    // NULL by IS NOT DISTINCT FROM, only when the change touched such a group.
    String byIn =
        "("
            + allKeys
            + ") IN (SELECT "
            + String.join(", ", touchedColumns)
            + " FROM pgt_touched"
            + " WHERE "
            + String.join(" AND ", notNull)
            + ")";
    String withNull =
        "EXISTS (SELECT 1 FROM pgt_touched t WHERE "
            + String.join(" OR ", anyNull)
            + ") AND"
            + " EXISTS (SELECT 1 FROM pgt_touched t WHERE ("
            + String.join(" OR ", anyNull)
            + ") AND "
            + String.join(" AND ", same)
            + ")";
    String items = branches.items(block);
    List<String> arms = new ArrayList<>();
    for (String restriction : List.of(byIn, withNull)) {
      Branch restricted = block.withCondition(restriction);
      arms.add(
          branches.render(restricted, items + ", 1 AS " + ChangedSources.WEIGHT, Map.of()) + tail);
      arms.add(
          branches.render(restricted, items + ", -1 AS " + ChangedSources.WEIGHT, before) + tail);
    }
    return "WITH pgt_touched AS MATERIALIZED (SELECT DISTINCT * FROM ("
        + String.join(" UNION ALL ", touched)
        + ") pgt_k) "
        + String.join(" UNION ALL ", arms);
  }
}
