package io.pgtrickle.operator.catalog;

import io.pgtrickle.operator.naming.QualifiedTable;
import io.pgtrickle.operator.naming.StableName;

/** Two different tables hash to one stable name. Astronomically unlikely, and refused. */
public final class StableNameCollisionException extends IllegalStateException {
  private static final long serialVersionUID = 1L;

  public StableNameCollisionException(
      StableName stableName, QualifiedTable holder, QualifiedTable claimant) {
    super(
        "stable name "
            + stableName
            + " of table "
            + claimant
            + " is already held by a different table, "
            + holder
            + "; the two cannot share capture objects, so "
            + claimant
            + " cannot be registered as a source");
  }
}
