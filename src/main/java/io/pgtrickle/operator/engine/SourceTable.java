package io.pgtrickle.operator.engine;

import io.pgtrickle.operator.catalog.ResolvedTable;
import io.pgtrickle.operator.naming.ObjectNames;

/** A table a stream table's query reads, found in the query's dependencies. */
public record SourceTable(ResolvedTable table, char relkind) {
  public ObjectNames names() {
    return new ObjectNames(table.stableName());
  }

  public String qualifiedName() {
    return table.name().sqlName();
  }
}
