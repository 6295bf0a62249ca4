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
 * The change of a chain of outer joins at the start of a branch's FROM ({@link Branch#outerChain}:
 * {@code ((a FULL JOIN b ON p) FULL JOIN c ON q)}, {@code ((a LEFT JOIN b ON p) FULL JOIN c ON q)},
 * longer ones), built one join at a time. A prefix {@code P} of the chain joined to one more table
 * {@code t} changes by: {@code t}'s terms, reading {@code P} as it was ({@code P} now, and its
 * change taken back, weighted), and {@code P}'s change's terms, reading {@code t} as it is now.
 * Every use of {@code P} as it was is linear (its rows matched or padded, a row's padding depending
 * on its values and on {@code t} only) or a count of its rows ({@code m - e}, {@code P}'s matches
 * as they were: its rows now less the weights of its change's): a weighted sum, so no true bag of
 * {@code P} before the change is needed.
 */
final class OuterChainSql {
  private final QueryModel model;
  private final ChangedSources sources;
  private final BranchSql branches;
  private final OuterJoinSql outerJoins;

  OuterChainSql(
      QueryModel model, ChangedSources sources, BranchSql branches, OuterJoinSql outerJoins) {
    this.model = model;
    this.sources = sources;
    this.branches = branches;
    this.outerJoins = outerJoins;
  }

  /**
   * One way a term reads a prefix of the chain: its tables' states, edits of its text (join
   * keywords, ON conditions read as {@code false}), a row's weight, and conditions its rows must
   * meet (added to the branch's WHERE: the prefix is never on the nullable side where a term reads
   * it, so they filter its rows only). A change is a list of readings whose rows, weighted, sum to
   * it.
   */
  record Reading(
      Map<TableOccurrence, TermState> states,
      List<BranchSql.Edit> edits,
      String weight,
      List<String> filters) {
    Reading {
      states = Map.copyOf(states);
      edits = List.copyOf(edits);
      filters = List.copyOf(filters);
    }

    static final Reading NOW = new Reading(Map.of(), List.of(), "1", List.of());

    Reading negated() {
      return new Reading(states, edits, "(- (" + weight + "))", filters);
    }

    /** This reading with {@code table} as {@code state}, more edits and filters, a new weight. */
    Reading with(
        TableOccurrence table,
        TermState state,
        List<BranchSql.Edit> moreEdits,
        String newWeight,
        List<String> moreFilters) {
      Map<TableOccurrence, TermState> s = new HashMap<>(states);
      s.put(table, state);
      return new Reading(s, edits, weight, filters).plus(moreEdits, newWeight, moreFilters);
    }

    /** This reading with more edits and filters, and a new weight. */
    Reading plus(List<BranchSql.Edit> moreEdits, String newWeight, List<String> moreFilters) {
      List<BranchSql.Edit> e = new ArrayList<>(edits);
      e.addAll(moreEdits);
      List<String> f = new ArrayList<>(filters);
      f.addAll(moreFilters);
      return new Reading(states, e, newWeight, f);
    }
  }

  /** The change of {@code branch}'s chain, as readings of the branch's text. */
  List<Reading> change(Branch branch) {
    List<Branch.NonLinear> chain = branch.outerChain();
    List<Reading> change = startChange(branch, branch.outerChainStart());
    List<TableOccurrence> prefix = new ArrayList<>(branch.outerChainStart());
    for (Branch.NonLinear step : chain) {
      change = stepChange(branch, step, prefix, change);
      prefix.add(step.table());
    }
    return change;
  }

  /** The tables of {@code branch}'s chain. */
  static List<TableOccurrence> tables(Branch branch) {
    List<TableOccurrence> all = new ArrayList<>(branch.outerChainStart());
    branch.outerChain().forEach(n -> all.add(n.table()));
    return all;
  }

  /**
   * The change of the chain's first item (one table, or a join tree of inner joins): linear, the
   * telescoping sum over its changed tables.
   */
  private List<Reading> startChange(Branch branch, List<TableOccurrence> tables) {
    List<Reading> change = new ArrayList<>();
    for (Map<TableOccurrence, TermState> split : branches.changeStates(tables)) {
      change.add(new Reading(split, List.of(), branches.weight(branch, split), List.of()));
    }
    return change;
  }

  /**
   * The change of {@code P OUTER JOIN t ON c}, {@code P} the chain's prefix (its tables {@code
   * prefix}, its change {@code before}): t's terms (P as it was) — the change's rows matched, P's
   * rows whose padding it switched ({@code [n = 0] - [n - d = 0]}), for a FULL JOIN the change's
   * own rows padded where P as it was has no match ({@code w · [m - e = 0]}); and P's change's
   * terms (t as it is now) — its rows joined {@code LEFT JOIN t} (matched, or padded where t has no
   * match), for a FULL JOIN t's rows whose padding it switched ({@code [m = 0] - [m - e = 0]}).
   */
  private List<Reading> stepChange(
      Branch branch, Branch.NonLinear step, List<TableOccurrence> prefix, List<Reading> before) {
    TableOccurrence table = step.table();
    boolean full = step.kind() == Branch.NonLinear.Kind.FULL_JOIN;
    Span condition = step.condition().orElseThrow();
    String on = model.slice(condition);
    BranchSql.Edit onFalse = new BranchSql.Edit(condition, "false");
    List<Reading> change = new ArrayList<>();
    if (sources.changed(table.source())) {
      List<Reading> old = new ArrayList<>();
      old.add(Reading.NOW);
      before.forEach(r -> old.add(r.negated()));
      String now = outerJoins.matches(table, step, false);
      String was = outerJoins.matches(table, step, true);
      String candidates =
          "EXISTS (SELECT 1 FROM "
              + sources.delta(table.source())
              + " "
              + table.refName()
              + " WHERE "
              + on
              + ")";
      String changeWeight = table.refName() + "." + ChangedSources.WEIGHT;
      for (Reading r : old) {
        // The change's rows matched (a LEFT JOIN's unmatched preserved rows, of NULL weight, out).
        change.add(
            full
                ? r.with(
                    table,
                    TermState.DELTA,
                    List.of(keyword(step, "JOIN")),
                    "(" + r.weight() + ") * " + changeWeight,
                    List.of())
                : r.with(
                    table,
                    TermState.DELTA,
                    List.of(),
                    "(" + r.weight() + ") * " + changeWeight,
                    List.of(changeWeight + " IS NOT NULL")));
        // P's rows (as they were) padded: +1 where the last match went, -1 where a first came.
        List<BranchSql.Edit> padding = new ArrayList<>(List.of(onFalse));
        if (full) {
          padding.add(keyword(step, "LEFT JOIN"));
        }
        change.add(
            r.with(
                table,
                TermState.NULLS,
                padding,
                OuterJoinSql.paddingSwitch(r.weight(), now, was),
                List.of(candidates)));
      }
      if (full) {
        // The change's own rows padded where P, as it was, matches none.
        Counts counts = counts(branch, step, before);
        change.add(
            empty(prefix)
                .with(
                    table,
                    TermState.DELTA,
                    List.of(keyword(step, "RIGHT JOIN"), onFalse),
                    changeWeight + " * (CASE WHEN " + counts.before() + " = 0 THEN 1 ELSE 0 END)",
                    List.of()));
      }
    }
    if (!before.isEmpty()) {
      for (Reading r : before) {
        // P's change joined with t as it is now: matched, or padded where t has no match.
        change.add(full ? r.plus(List.of(keyword(step, "LEFT JOIN")), r.weight(), List.of()) : r);
      }
      if (full) {
        // t's rows whose padding P's change switched (only those some row of it matches).
        Counts counts = counts(branch, step, before);
        change.add(
            empty(prefix)
                .plus(
                    List.of(keyword(step, "RIGHT JOIN"), onFalse),
                    OuterJoinSql.paddingSwitch("1", counts.now(), counts.before()),
                    List.of(counts.candidates())));
      }
    }
    return change;
  }

  /** The prefix read as no rows: each of its tables empty. */
  private static Reading empty(List<TableOccurrence> prefix) {
    Map<TableOccurrence, TermState> nulls = new HashMap<>();
    prefix.forEach(t -> nulls.put(t, TermState.NULLS));
    return new Reading(nulls, List.of(), "1", List.of());
  }

  private static BranchSql.Edit keyword(Branch.NonLinear step, String text) {
    return new BranchSql.Edit(step.operand().orElseThrow(), text);
  }

  /**
   * How many rows of a FULL JOIN's left side (the prefix) match a row of its right table: {@code
   * now} (counted over the prefix's text) and {@code before} (now less the weights of the prefix's
   * change's rows among them); {@code candidates}, whether a row of the change matches the row.
   */
  private record Counts(String now, String before, String candidates) {}

  private Counts counts(Branch branch, Branch.NonLinear step, List<Reading> prefixChange) {
    Span prefix = step.left().orElseThrow().relation();
    String on = model.slice(step.condition().orElseThrow());
    String now = "(SELECT count(*) FROM " + model.slice(prefix) + " WHERE " + on + ")";
    if (prefixChange.isEmpty()) {
      return new Counts(now, now, "false");
    }
    List<String> weights = new ArrayList<>();
    List<String> matched = new ArrayList<>();
    for (Reading r : prefixChange) {
      String where =
          " WHERE " + on + r.filters().stream().map(f -> " AND " + f).reduce("", String::concat);
      String relation = branches.slice(branch, prefix, r.states(), r.edits());
      weights.add("(SELECT coalesce(sum(" + r.weight() + "), 0) FROM " + relation + where + ")");
      matched.add("EXISTS (SELECT 1 FROM " + relation + where + ")");
    }
    return new Counts(
        now,
        "(" + now + " - (" + String.join(" + ", weights) + "))",
        "(" + String.join(" OR ", matched) + ")");
  }
}
