package io.pgtrickle.operator.engine.refresh;

import io.pgtrickle.operator.differential.model.QueryModel;
import io.pgtrickle.operator.naming.StableName;
import java.util.List;
import java.util.Map;

/**
 * What a differential refresh needs beyond the storage: the query's model, its own columns (quoted;
 * the storage has hidden ones after them), and per source its table and change buffer (qualified,
 * quoted).
 */
public record DifferentialTarget(
    QueryModel model,
    List<String> queryColumns,
    Map<StableName, String> sourceTables,
    Map<StableName, String> changeBuffers) {
  public DifferentialTarget {
    queryColumns = List.copyOf(queryColumns);
    sourceTables = Map.copyOf(sourceTables);
    changeBuffers = Map.copyOf(changeBuffers);
  }
}
