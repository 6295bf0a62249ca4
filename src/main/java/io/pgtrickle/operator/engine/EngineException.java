package io.pgtrickle.operator.engine;

/** A failure the user can act on: a reason from the closed list and a message for status. */
public final class EngineException extends Exception {
  private static final long serialVersionUID = 1L;

  private final Reason reason;

  public EngineException(Reason reason, String message) {
    super(message);
    this.reason = reason;
  }

  public EngineException(Reason reason, String message, Throwable cause) {
    super(message, cause);
    this.reason = reason;
  }

  public Reason reason() {
    return reason;
  }
}
