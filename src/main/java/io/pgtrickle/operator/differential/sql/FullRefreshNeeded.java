package io.pgtrickle.operator.differential.sql;

/**
 * This refresh's change cannot be derived differentially (the query can, but not this change): the
 * refresh runs FULL instead, with the message as its reason.
 */
public final class FullRefreshNeeded extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public FullRefreshNeeded(String reason) {
    super(reason);
  }
}
