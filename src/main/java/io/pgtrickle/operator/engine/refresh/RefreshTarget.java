package io.pgtrickle.operator.engine.refresh;

import java.util.List;

/**
 * What a refresh writes: the storage table, the view holding the query, and the query's columns
 * (already quoted identifiers), in order.
 */
public record RefreshTarget(String storageTable, String queryView, List<String> columns) {
  public RefreshTarget {
    columns = List.copyOf(columns);
  }
}
