package io.pgtrickle.operator.differential.model;

import java.util.List;

/**
 * A stream table's query as the differential engine sees it: the deparsed text, the branches
 * combined by UNION ALL (one branch for a plain query), and how the top groups them.
 *
 * @param text PostgreSQL's deparse of the query (every span points into it)
 * @param branches the linear blocks, combined by UNION ALL (UNION is DISTINCT over that)
 * @param grouping what folds the branches' rows into the result
 */
public record QueryModel(String text, List<Branch> branches, Grouping grouping) {
  public QueryModel {
    branches = List.copyOf(branches);
  }

  public String slice(Span span) {
    return text.substring(span.begin(), span.end());
  }

  /** Every table occurrence of every branch, in text order. */
  public List<TableOccurrence> allTables() {
    return branches.stream().flatMap(b -> b.allTables().stream()).toList();
  }
}
