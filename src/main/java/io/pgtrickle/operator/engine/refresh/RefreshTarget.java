package io.pgtrickle.operator.engine.refresh;

import java.util.List;
import java.util.Optional;

/**
 * What a refresh writes: the storage table, the view holding what the storage must equal (the
 * query, or for a differential layout the query with its hidden state), that view's columns
 * (already quoted identifiers), in order, for Citus storage its row-id column (quoted): rows are
 * then deleted and inserted by that key, as Citus cannot address rows by ctid; and for a
 * differential layout what a differential refresh needs.
 */
public record RefreshTarget(
    String storageTable,
    String queryView,
    List<String> columns,
    Optional<String> rowIdColumn,
    Optional<DifferentialTarget> differential) {
  public RefreshTarget {
    columns = List.copyOf(columns);
  }

  public RefreshTarget(
      String storageTable, String queryView, List<String> columns, Optional<String> rowIdColumn) {
    this(storageTable, queryView, columns, rowIdColumn, Optional.empty());
  }
}
