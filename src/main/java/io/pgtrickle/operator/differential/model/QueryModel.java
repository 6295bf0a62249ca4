package io.pgtrickle.operator.differential.model;

import java.util.List;

/**
 * A stream table's query as the differential engine sees it: the deparsed text, the branches
 * combined by UNION ALL (one branch for a plain query), and how the top groups them.
 *
 * @param text PostgreSQL's deparse of the query (every span points into it)
 * @param branches the linear blocks, combined by UNION ALL (UNION is DISTINCT over that)
 * @param grouping what folds the branches' rows into the result
 * @param frozen tables read only inside subqueries of expressions (IN, scalar, ...): the query is
 *     differential while they do not change; a refresh in which one changed runs FULL
 * @param whenFrozenChange the same query with some of those subqueries joined as grouped blocks
 *     ({@link ScalarSubqueryAsJoin}), for a refresh in which their tables changed; a refresh in
 *     which they did not reads them as written, through the outer rows a change reaches, where the
 *     joined block would be aggregated whole
 */
public record QueryModel(
    String text,
    List<Branch> branches,
    Grouping grouping,
    java.util.Set<io.pgtrickle.operator.naming.StableName> frozen,
    java.util.Optional<QueryModel> whenFrozenChange) {
  public QueryModel {
    branches = List.copyOf(branches);
    frozen = java.util.Set.copyOf(frozen);
  }

  public QueryModel(
      String text,
      List<Branch> branches,
      Grouping grouping,
      java.util.Set<io.pgtrickle.operator.naming.StableName> frozen) {
    this(text, branches, grouping, frozen, java.util.Optional.empty());
  }

  /** This model, with {@code joined} for refreshes in which its frozen tables changed. */
  QueryModel withWhenFrozenChange(QueryModel joined) {
    return new QueryModel(text, branches, grouping, frozen, java.util.Optional.of(joined));
  }

  public String slice(Span span) {
    return text.substring(span.begin(), span.end());
  }

  /** Every linear table occurrence of every branch, in text order. */
  public List<TableOccurrence> allTables() {
    return branches.stream().flatMap(b -> b.allTables().stream()).toList();
  }

  /** Every occurrence, linear or not: the tables a refresh needs the change of. */
  public List<TableOccurrence> everyTable() {
    List<TableOccurrence> all = new java.util.ArrayList<>(allTables());
    branches.forEach(b -> b.blocks().forEach(block -> all.addAll(block.nonLinearTables())));
    branches.forEach(b -> b.wholeBlocks().forEach(g -> all.addAll(g.branch().allTables())));
    return all;
  }
}
