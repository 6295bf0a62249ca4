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
import java.util.Optional;

/**
 * The change of the query's core in one differential refresh, given which sources changed ({@value
 * #CORE_DELTA}: one term per changed table occurrence, rows weighted +1/-1); {@link ApplySql}
 * applies it to the storage.
 */
public final class DeltaSql {
  static final String CORE_DELTA = "pg_temp.pgt_dq";

  private final QueryModel model;
  private final ChangedSources sources;
  private final BranchSql branches;
  private final CoreList core;
  private final OuterJoinSql outerJoins;
  private final OuterChainSql chains;
  private final SublinkSql sublinkSql;
  private final NullableBlockSql nullableBlocks;

  /** Changes of blocks kept once for the terms that read them several times: name, query. */
  private final Map<String, String> blockChanges = new java.util.LinkedHashMap<>();

  public DeltaSql(QueryModel model, ChangedSources sources) {
    this.model = model;
    this.sources = sources;
    this.branches = new BranchSql(model, sources);
    this.core = new CoreList(model, branches);
    this.nullableBlocks = new NullableBlockSql(model, branches, core);
    this.outerJoins = new OuterJoinSql(model, sources, branches, core, nullableBlocks);
    this.chains = new OuterChainSql(model, sources, branches, outerJoins);
    this.sublinkSql = new SublinkSql(model, branches);
  }

  /**
   * The core's change as a query (rows of the core's list and {@code pgt__w}), or empty when no
   * table the query reads changed in the window. Per branch, the non-linear tables (right sides of
   * LEFT JOINs, EXISTS tables) come first in the telescoping order, then the linear ones; a term
   * reads the tables before its own as they are now and those after it as they were. Rows of weight
   * 0 (a preserved row whose padding did not change) are left out.
   *
   * @throws FullRefreshNeeded when the table of an outer join changed with another non-linear table
   *     of its branch (the other's state before the change would be needed as a true bag, which is
   *     not kept), or a table read by a subquery the engine does not model
   */
  public Optional<String> coreQuery() {
    for (var source : model.frozen()) {
      if (sources.changed(source)) {
        throw new FullRefreshNeeded("a table read by a subquery of an expression changed");
      }
    }
    blockChanges.clear();
    List<String> terms = new ArrayList<>();
    for (Branch branch : model.branches()) {
      // A chain of outer joins ending in a FULL JOIN changes as one (OuterChainSql), after the
      // other non-linear tables in the telescoping order and before the linear ones.
      List<Branch.NonLinear> chain = branch.outerChain();
      List<TableOccurrence> chainTables = OuterChainSql.tables(branch);
      List<TableOccurrence> chainChanged =
          chainTables.stream().filter(t -> sources.changed(t.source())).toList();
      List<Branch.NonLinear> changedJoins =
          branch.nonLinear().stream()
              .filter(
                  n -> !n.isSublink() && !chain.contains(n) && sources.changed(n.table().source()))
              .toList();
      List<Site> sites = new ArrayList<>();
      for (Branch block : branch.blocks()) {
        List<Branch.NonLinear> changed =
            block.nonLinear().stream()
                .filter(
                    n ->
                        n.isSublink()
                            && n.tables().stream().anyMatch(t -> sources.changed(t.source())))
                .toList();
        if (!changed.isEmpty()) {
          Map<Span, String> before = new HashMap<>();
          for (Branch.NonLinear sublink : changed) {
            before.put(sublink.sublink().orElseThrow(), sublinkSql.before(sublink));
          }
          sites.add(new Site(block, changed, before));
        }
      }
      changedJoins = outerJoins.inTermOrder(changedJoins);
      Optional<Branch.NonLinear> full =
          branch.nonLinear().stream()
              .filter(n -> n.kind() == Branch.NonLinear.Kind.FULL_JOIN && !chain.contains(n))
              .findFirst();
      // The FULL JOIN's left side: one table, or a join tree of inner joins (the branch's first
      // tables).
      Optional<Branch.Nested> fullLeft = full.flatMap(Branch.NonLinear::left);
      List<TableOccurrence> leftTables =
          fullLeft.map(l -> l.branch().tables()).orElse(List.of()).stream()
              .filter(t -> sources.changed(t.source()))
              .toList();
      // The FULL JOIN's changed left tables are read as they were by the terms of the other outer
      // joins, sublinks and blocks that change as a whole, in a non-linear place: as true bags,
      // which need their keys (a weighted old state would pad wrongly: a row the window added
      // cancels by weight but still counts as a match).
      boolean leftAsBag =
          !leftTables.isEmpty()
              && (!sites.isEmpty()
                  || changedJoins.stream().anyMatch(n -> !n.equals(full.get()))
                  || !new WholeBlockSql(model, sources, branches).changed(branch).isEmpty());
      if (leftAsBag && leftTables.stream().anyMatch(t -> sources.oldBag(t.source()).isEmpty())) {
        throw new FullRefreshNeeded(
            "the left table of a FULL JOIN changed with a table of another outer join, sublink or"
                + " subquery, and has no primary key");
      }
      // The chain's changed tables are read as they were by the terms of the other outer joins
      // and sublinks, in a non-linear place: as true bags, which need their keys.
      boolean chainAsBag = !chainChanged.isEmpty() && (!sites.isEmpty() || !changedJoins.isEmpty());
      if (chainAsBag && chainChanged.stream().anyMatch(t -> sources.oldBag(t.source()).isEmpty())) {
        throw new FullRefreshNeeded(
            "a table of a chain of outer joins ending in a FULL JOIN changed with a table of another"
                + " outer join or sublink, and has no primary key (a table read before the change"
                + " must tell its rows apart)");
      }
      if (!chainChanged.isEmpty()
          && !new WholeBlockSql(model, sources, branches).changed(branch).isEmpty()) {
        throw new FullRefreshNeeded(
            "the tables of a chain of outer joins ending in a FULL JOIN changed with those of a"
                + " grouped subquery, or of a LEFT JOIN's subquery or join tree");
      }
      List<TableOccurrence> tables = branch.allTables();
      Map<TableOccurrence, TermState> linearOld = new HashMap<>();
      for (TableOccurrence table : tables) {
        if (sources.changed(table.source())) {
          linearOld.put(table, TermState.OLD);
        }
      }
      Map<TableOccurrence, TermState> nonLinearOld = new HashMap<>(linearOld);
      if (leftAsBag) {
        leftTables.forEach(t -> nonLinearOld.put(t, TermState.OLD_BAG));
      }
      if (chainAsBag) {
        chainChanged.forEach(t -> nonLinearOld.put(t, TermState.OLD_BAG));
      }
      // Sublinks whose own text would read too much are rewritten in every term (as they are now).
      Map<Span, String> nowTexts = new java.util.LinkedHashMap<>();
      for (Branch block : branch.blocks()) {
        for (Branch.NonLinear sublink : block.nonLinear()) {
          if (sublink.isSublink()) {
            sublinkSql.now(sublink).ifPresent(t -> nowTexts.put(sublink.sublink().get(), t));
          }
        }
      }
      List<BranchSql.Edit> asNow = edits(nowTexts);
      // Outer joins' tables telescope too, before the sublinks: each term reads the outer joins'
      // tables after it as they were, as a true bag, and the changed sublinks as they were.
      List<BranchSql.Edit> sublinksBefore = new ArrayList<>();
      sites.forEach(site -> sublinksBefore.addAll(edits(site.before())));
      for (int j = 0; j < changedJoins.size(); j++) {
        Map<TableOccurrence, TermState> states = new HashMap<>(nonLinearOld);
        for (Branch.NonLinear later : changedJoins.subList(j + 1, changedJoins.size())) {
          states.put(later.table(), TermState.OLD_BAG);
        }
        terms.addAll(outerJoins.terms(branch, changedJoins.get(j), states, sublinksBefore));
      }
      if (!sites.isEmpty()) {
        for (Map<TableOccurrence, TermState> split : splitOld(nonLinearOld)) {
          terms.addAll(sublinkTerms(branch, sites, split, nowTexts, asNow));
        }
      }
      terms.addAll(wholeBlockTerms(branch, nonLinearOld, nowTexts, changedJoins, sites));
      if (!leftTables.isEmpty()) {
        // The FULL JOIN's right table's rows whose padding the left side's change switched (the
        // left side read as empty, the join as RIGHT JOIN ... ON false); the branch's other
        // changed tables come after the left side's, so they are read as they were.
        Map<TableOccurrence, TermState> rest = new HashMap<>(linearOld);
        fullLeft.get().branch().tables().forEach(rest::remove);
        List<BranchSql.Edit> padding = new ArrayList<>(asNow);
        padding.add(new BranchSql.Edit(full.get().operand().orElseThrow(), "RIGHT JOIN"));
        padding.add(new BranchSql.Edit(full.get().condition().orElseThrow(), "false"));
        terms.addAll(nullableBlocks.leftPaddedTerms(branch, fullLeft.get(), rest, padding));
      }
      if (!chainChanged.isEmpty()) {
        Map<TableOccurrence, TermState> rest = new HashMap<>(linearOld);
        chainTables.forEach(rest::remove);
        terms.addAll(chainTerms(branch, rest, asNow));
      }
      for (int i = 0; i < tables.size(); i++) {
        if (!sources.changed(tables.get(i).source()) || chainTables.contains(tables.get(i))) {
          continue;
        }
        Map<TableOccurrence, TermState> states = new HashMap<>();
        states.put(tables.get(i), TermState.DELTA);
        for (int j = i + 1; j < tables.size(); j++) {
          if (sources.changed(tables.get(j).source())) {
            states.put(tables.get(j), TermState.OLD);
          }
        }
        List<BranchSql.Edit> linearEdits = new ArrayList<>(asNow);
        if (leftTables.contains(tables.get(i))) {
          // A term of the FULL JOIN's left side's change: its matched and padded rows (LEFT
          // JOIN); the right table's rows whose padding it switched are above.
          linearEdits.add(new BranchSql.Edit(full.get().operand().orElseThrow(), "LEFT JOIN"));
        }
        for (Map<TableOccurrence, TermState> split : splitOld(states)) {
          terms.add(
              branches.render(
                  branch,
                  core.of(branch, branches.weight(branch, split)),
                  split,
                  linearEdits,
                  Map.of()));
        }
      }
    }
    if (terms.isEmpty()) {
      return Optional.empty();
    }
    long joined = model.everyTable().size();
    if (terms.size() * joined > MAX_JOINED_OCCURRENCES) {
      throw new FullRefreshNeeded(
          String.format(
              java.util.Locale.ROOT,
              "the change would be %d delta terms over %d table occurrences each, more than a"
                  + " full refresh is worth",
              terms.size(),
              joined));
    }
    StringBuilder query = new StringBuilder();
    blockChanges.forEach(
        (name, change) ->
            query
                .append(query.length() == 0 ? "WITH " : ", ")
                .append(name)
                .append(" AS MATERIALIZED (")
                .append(change)
                .append(") "));
    return Optional.of(
        query
            .append("SELECT * FROM (")
            .append(String.join(" UNION ALL ", terms))
            .append(") pgt_terms WHERE pgt__w <> 0")
            .toString());
  }

  /**
   * The terms of a chain of outer joins ({@link OuterChainSql}): each reading of its change with
   * the rest of the branch as {@code rest} says (the linear tables after it as they were) and the
   * sublinks as they are now.
   */
  private List<String> chainTerms(
      Branch branch, Map<TableOccurrence, TermState> rest, List<BranchSql.Edit> asNow) {
    List<String> terms = new ArrayList<>();
    for (OuterChainSql.Reading reading : chains.change(branch)) {
      for (Map<TableOccurrence, TermState> split : splitOld(rest)) {
        Map<TableOccurrence, TermState> states = new HashMap<>(split);
        states.putAll(reading.states());
        List<BranchSql.Edit> edits = new ArrayList<>(asNow);
        edits.addAll(reading.edits());
        String weight = "(" + reading.weight() + ") * (" + branches.weight(branch, split) + ")";
        List<String> where = new ArrayList<>();
        branches.where(branch, states, edits).ifPresent(w -> where.add("(" + w + ")"));
        reading.filters().forEach(f -> where.add("(" + f + ")"));
        terms.add(
            "SELECT "
                + core.of(branch, weight)
                + branches.from(branch, states, edits)
                + (where.isEmpty() ? "" : " WHERE " + String.join(" AND ", where)));
      }
    }
    return terms;
  }

  /**
   * The most table occurrences a refresh's delta terms may read in all (terms times the query's
   * occurrences); past it the refresh runs FULL. A query joining dozens of tables that all changed
   * would otherwise plan and run dozens of dozens-way joins (a 37-table join of the sqllogictest
   * corpus took over ten minutes for one such refresh, where FULL takes milliseconds); TPC-H's
   * queries stay under it (TpchCorpusIT).
   */
  private static final int MAX_JOINED_OCCURRENCES = 600;

  /**
   * {@link #coreQuery}'s rows kept in the temp table {@value #CORE_DELTA}, for {@link ApplySql}.
   */
  public static String intoCoreDelta(String coreQuery) {
    return "CREATE TEMP TABLE pgt_dq ON COMMIT DROP AS " + coreQuery;
  }

  /**
   * The change of a block in the query's FROM that changes as a whole (grouped, or the nullable
   * side of a LEFT JOIN) whose tables changed: before the sublinks and the linear tables in the
   * telescoping order, so its terms read the changed sublinks as they were (their values before the
   * change) and the query's other tables as they were (and every other term reads it as written). A
   * grouped block's change is the groups the change touched, recomputed as they are now (+1) and as
   * they were (-1, the changed tables read as true bags): exact for any aggregate and HAVING, and
   * as large as those groups.
   *
   * @throws FullRefreshNeeded when two such blocks changed, or one changed with an outer join's
   *     table, or one of a grouped block's changed tables has no primary key
   */
  private List<String> wholeBlockTerms(
      Branch branch,
      Map<TableOccurrence, TermState> linearOld,
      Map<Span, String> nowTexts,
      List<Branch.NonLinear> changedJoins,
      List<Site> sites) {
    WholeBlockSql blocks = new WholeBlockSql(model, sources, branches);
    List<Branch.Nested> changed = blocks.changed(branch);
    if (changed.isEmpty()) {
      return List.of();
    }
    if (changed.size() > 1 || !changedJoins.isEmpty()) {
      throw new FullRefreshNeeded(
          "the tables of a grouped subquery, or of a LEFT JOIN's subquery or join tree, changed with those of"
              + " another such subquery or of an outer join");
    }
    Map<Span, String> laterTexts = new java.util.LinkedHashMap<>(nowTexts);
    sites.forEach(site -> laterTexts.putAll(site.before()));
    List<BranchSql.Edit> sublinksBefore = edits(laterTexts);
    Branch.Nested grouped = changed.get(0);
    if (grouped.tree()) {
      // A join tree: its change is read as the terms of its telescoping sum, in its place.
      return nullableBlocks.treeTerms(branch, grouped, linearOld, sublinksBefore);
    }
    if (grouped.nullableOn().isPresent()) {
      // The right side of a LEFT JOIN: its change is read by several terms, so it is kept once.
      String name = "pgt_block_change_" + (blockChanges.size() + 1);
      blockChanges.put(name, blocks.delta(grouped));
      return nullableBlocks.terms(branch, grouped, name, linearOld, sublinksBefore);
    }
    Map<Branch, String> overrides = Map.of(grouped.branch(), blocks.delta(grouped));
    List<String> terms = new ArrayList<>();
    for (Map<TableOccurrence, TermState> split : splitOld(linearOld)) {
      terms.add(
          branches.render(
              branch,
              core.of(branch, branches.weight(branch, split, overrides)),
              split,
              sublinksBefore,
              overrides));
    }
    return terms;
  }

  /** The most old states a term is split over ({@link #splitOld}: 2^k terms for k). */
  private static final int MAX_SPLIT_OLD_STATES = 3;

  /**
   * A term's states with each old state written as two terms, one reading the table as it is now
   * and one its change taken back ({@link TermState#UNDONE}). Only linear tables are ever old, and
   * every term is linear in them (a row's weight is a product with theirs; what an outer join or a
   * sublink decides depends on other tables), so the term distributes over the union that is the
   * old state. PostgreSQL keeps no statistics for that union, and a join on it was planned as if it
   * had 200 distinct values (TPC-H q5 merge-joined 136k rows where 502 came; q18's sublink term
   * scanned all orders, 17 s where FULL takes 0.4 s); split, every relation of a term is a table or
   * a delta table, both analyzed. Past {@value #MAX_SPLIT_OLD_STATES} old states the terms would
   * multiply faster than they gain: the union stays.
   */
  static List<Map<TableOccurrence, TermState>> splitOld(Map<TableOccurrence, TermState> states) {
    List<TableOccurrence> old =
        states.entrySet().stream()
            .filter(e -> e.getValue() == TermState.OLD)
            .map(Map.Entry::getKey)
            .sorted(java.util.Comparator.comparingInt(t -> t.span().begin()))
            .toList();
    if (old.isEmpty() || old.size() > MAX_SPLIT_OLD_STATES) {
      return List.of(states);
    }
    List<Map<TableOccurrence, TermState>> split = new ArrayList<>();
    for (int mask = 0; mask < 1 << old.size(); mask++) {
      Map<TableOccurrence, TermState> term = new HashMap<>(states);
      for (int k = 0; k < old.size(); k++) {
        term.put(old.get(k), (mask & (1 << k)) == 0 ? TermState.NEW : TermState.UNDONE);
      }
      split.add(term);
    }
    return split;
  }

  /**
   * A block of a branch (the branch itself or one nested in FROM) whose sublinks changed, and their
   * texts' replacements by their values before the change.
   */
  private record Site(Branch block, List<Branch.NonLinear> changed, Map<Span, String> before) {}

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
      Map<Span, String> nowTexts,
      List<BranchSql.Edit> asNow) {
    List<String> terms = new ArrayList<>();
    for (int i = 0; i < sites.size(); i++) {
      Branch block = sites.get(i).block();
      Map<Span, String> laterTexts = new HashMap<>(nowTexts);
      sites.subList(i + 1, sites.size()).forEach(later -> laterTexts.putAll(later.before()));
      List<BranchSql.Edit> later = edits(laterTexts);
      Map<Span, String> beforeTexts = new HashMap<>(nowTexts);
      beforeTexts.putAll(sites.get(i).before());
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
      sites.get(i).changed().forEach(s -> candidates.addAll(sublinkSql.candidates(s)));
      // The conditions of the block no changed sublink is part of hold before and after alike:
      // only rows satisfying them can differ, and they carry the joins' conditions.
      List<String> fixed = new ArrayList<>();
      for (Span conjunct : branches.conjuncts(block.where().orElseThrow())) {
        boolean varies =
            sites.get(i).changed().stream()
                .anyMatch(s -> s.sublink().orElseThrow().overlaps(conjunct));
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
                  + core.of(branch, weight)
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
                core.of(branch, branches.weight(branch, states, overrides)),
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
}
