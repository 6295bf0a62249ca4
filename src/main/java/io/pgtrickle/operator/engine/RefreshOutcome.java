package io.pgtrickle.operator.engine;

/** What a refresh tick did. */
public record RefreshOutcome(Kind kind, long rowsChanged, long durationMillis) {
  public enum Kind {
    /** Changes were applied and the frontier advanced, in one transaction. */
    APPLIED,
    /** No source had unconsumed changes; nothing was written. */
    NO_CHANGES,
    /** Another engine is refreshing this table right now, or just did; nothing was written. */
    SKIPPED
  }

  static RefreshOutcome noChanges() {
    return new RefreshOutcome(Kind.NO_CHANGES, 0, 0);
  }

  static RefreshOutcome skipped() {
    return new RefreshOutcome(Kind.SKIPPED, 0, 0);
  }
}
