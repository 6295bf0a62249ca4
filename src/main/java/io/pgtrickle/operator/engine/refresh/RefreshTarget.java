package io.pgtrickle.operator.engine.refresh;

import java.util.List;
import java.util.Optional;

/**
 * What a refresh writes: the storage table, the view holding the query, the query's columns
 * (already quoted identifiers), in order, and for Citus storage its row-id column (quoted): rows
 * are then deleted and inserted by that key, as Citus cannot address rows by ctid.
 */
public record RefreshTarget(
    String storageTable, String queryView, List<String> columns, Optional<String> rowIdColumn) {
  public RefreshTarget {
    columns = List.copyOf(columns);
  }
}
