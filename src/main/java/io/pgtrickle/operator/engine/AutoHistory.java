package io.pgtrickle.operator.engine;

import java.util.Locale;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * What AUTO learned from a stream table's own refreshes: how long its last FULL refresh took, and
 * the smallest change (buffer rows) whose DIFFERENTIAL refresh took longer than that. A change at
 * least that large then runs FULL: a differential refresh costs more the more rows changed, so it
 * would lose again. Row counts alone cannot say where a query's break-even lies (a filter over a
 * wide table breaks even at a few percent, TPC-H's multi-way joins below 1%); its own refreshes
 * can. Every value is recorded in the catalog, so the choice is the same for the same facts and its
 * reason names them.
 *
 * @param fullMillis the last FULL refresh's duration, if one was recorded
 * @param slowChanges the smallest change whose DIFFERENTIAL refresh took longer than a FULL one
 * @param slowMillis how long that refresh took
 */
record AutoHistory(Long fullMillis, Long slowChanges, Long slowMillis) {
  static final AutoHistory NONE = new AutoHistory(null, null, null);

  /**
   * After a FULL refresh (also the initial load) that took {@code millis}; one that took at least
   * as long as the slow differential refresh clears the bound, which no longer holds.
   */
  AutoHistory afterFull(long millis) {
    if (slowMillis != null && millis >= slowMillis) {
      return new AutoHistory(millis, null, null);
    }
    return new AutoHistory(millis, slowChanges, slowMillis);
  }

  /**
   * After a DIFFERENTIAL refresh of {@code changes} buffer rows that took {@code millis}: slower
   * than FULL lowers the bound to its change; one at least half the bound's size in under half a
   * FULL clears it (the slow one was an outlier, or the data changed).
   */
  AutoHistory afterDifferential(long changes, long millis) {
    if (fullMillis == null) {
      return this;
    }
    if (millis > fullMillis) {
      return slowChanges != null && slowChanges <= changes
          ? this
          : new AutoHistory(fullMillis, changes, millis);
    }
    if (slowChanges != null && 2 * millis < fullMillis && 2 * changes >= slowChanges) {
      return new AutoHistory(fullMillis, null, null);
    }
    return this;
  }

  /** The most buffer rows a DIFFERENTIAL refresh may take under this history, if it bounds it. */
  OptionalLong limit() {
    return slowChanges == null ? OptionalLong.empty() : OptionalLong.of(slowChanges - 1);
  }

  /** Why a change of more than {@link #limit} rows runs FULL. */
  Optional<String> reason() {
    if (slowChanges == null) {
      return Optional.empty();
    }
    return Optional.of(
        String.format(
            Locale.ROOT,
            "a differential refresh of %d changed rows took %d ms, longer than a full refresh"
                + " (%d ms), and this change is at least as large",
            slowChanges,
            slowMillis,
            fullMillis));
  }
}
