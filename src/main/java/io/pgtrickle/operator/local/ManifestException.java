package io.pgtrickle.operator.local;

import java.io.IOException;

/**
 * Input local mode cannot use: a missing file, YAML that does not parse, a resource with an unknown
 * field or a value of the wrong type. The message names the file, and the line where known, as
 * {@code file:line: what}. Found before anything touches a database.
 */
public final class ManifestException extends IOException {
  private static final long serialVersionUID = 1L;

  public ManifestException(String message) {
    super(message);
  }

  public ManifestException(String message, Throwable cause) {
    super(message, cause);
  }
}
