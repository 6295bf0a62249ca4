package io.pgtrickle.operator.adopt;

/** An adoption that cannot go ahead or failed; the message says why, for a person. */
public final class AdoptionException extends Exception {
  private static final long serialVersionUID = 1L;

  public AdoptionException(String message) {
    super(message);
  }

  public AdoptionException(String message, Throwable cause) {
    super(message, cause);
  }
}
