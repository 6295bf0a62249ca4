package io.pgtrickle.operator.catalog;

import io.pgtrickle.operator.naming.QualifiedTable;
import io.pgtrickle.operator.naming.SourceIdentifier;
import io.pgtrickle.operator.naming.StableName;

/** A table found in one node's catalog: its local OID and its raw catalog names. */
public record ResolvedTable(long oid, QualifiedTable name) {
  public StableName stableName() {
    return StableName.of(name);
  }

  public SourceIdentifier identifier() {
    return new SourceIdentifier(oid, stableName());
  }
}
