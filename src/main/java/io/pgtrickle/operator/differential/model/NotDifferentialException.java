package io.pgtrickle.operator.differential.model;

/**
 * The query has a construct the differential engine does not maintain incrementally; the message
 * names it, for status and for an explicit {@code refreshMode: DIFFERENTIAL} refused at apply.
 */
public final class NotDifferentialException extends Exception {
  private static final long serialVersionUID = 1L;

  public NotDifferentialException(String reason) {
    super(reason);
  }
}
