package io.pgtrickle.operator.engine.refresh;

import io.pgtrickle.operator.differential.model.QueryModel;
import io.pgtrickle.operator.naming.StableName;
import java.util.List;
import java.util.Map;

/**
 * What a differential refresh needs beyond the storage: the query's model, its own columns (quoted;
 * the storage has hidden ones after them), and per source its table and change buffer (qualified,
 * quoted), its columns (quoted, in order: those of its delta table) and the column lists of its
 * B-tree indexes (quoted; a large delta table gets the same, so that probes of a source's old state
 * find both its halves through an index), and its primary key's columns (quoted; empty without
 * one); whether it reads Citus tables besides the change ({@link #readingAcrossNodes}).
 */
public record DifferentialTarget(
    QueryModel model,
    List<String> queryColumns,
    Map<StableName, String> sourceTables,
    Map<StableName, String> changeBuffers,
    Map<StableName, List<String>> sourceColumns,
    Map<StableName, List<List<String>>> sourceIndexes,
    Map<StableName, List<String>> sourceKeys,
    boolean readsAcrossNodes) {
  public DifferentialTarget {
    queryColumns = List.copyOf(queryColumns);
    sourceTables = Map.copyOf(sourceTables);
    changeBuffers = Map.copyOf(changeBuffers);
    sourceColumns = Map.copyOf(sourceColumns);
    sourceIndexes = Map.copyOf(sourceIndexes);
    sourceKeys = Map.copyOf(sourceKeys);
  }

  /**
   * This target with the model a refresh of {@code window} runs: the one with scalar subqueries
   * joined as grouped blocks ({@link QueryModel#whenFrozenChange}) when a table they read may have
   * changed (as written, such a refresh would run FULL), unless the refresh reads Citus tables
   * across nodes, where a grouped block is not differential; else the model as written.
   */
  public DifferentialTarget forWindow(ChangeWindow window, boolean acrossNodes) {
    if (acrossNodes
        || model.whenFrozenChange().isEmpty()
        || model.frozen().stream().noneMatch(window::mayHaveChanges)) {
      return this;
    }
    return new DifferentialTarget(
        model.whenFrozenChange().get(),
        queryColumns,
        sourceTables,
        changeBuffers,
        sourceColumns,
        sourceIndexes,
        sourceKeys,
        readsAcrossNodes);
  }

  /**
   * This target for a refresh that reads Citus distributed or reference tables besides the change
   * (a join, behind the write barrier): the change is computed into a temp table before it is
   * applied, as Citus takes no modification whose subquery reads distributed tables.
   */
  public DifferentialTarget readingAcrossNodes() {
    return new DifferentialTarget(
        model,
        queryColumns,
        sourceTables,
        changeBuffers,
        sourceColumns,
        sourceIndexes,
        sourceKeys,
        true);
  }
}
