package io.pgtrickle.operator.differential.plan;

/**
 * What a table occurrence stands for in one delta term. For occurrences o1..on, term i reads
 * o1..oi-1 as they are now, oi's net change, and oi+1..on as they were before the change (DBSP's
 * telescoping sum: d(A⋈B) = dA⋈B_old + A_new⋈dB), so no combination of changes is counted twice.
 */
public enum TermState {
  /** The table as the refresh's snapshot sees it. */
  NEW,
  /** The net change of the window, each row with weight +1 or -1. */
  DELTA,
  /** The table before the window: now, minus the change (weights negated), never a snapshot. */
  OLD,
  /**
   * The change taken back: the net change with its weights negated. A term reading a table's old
   * state may be split in two, one reading the table as it is now ({@link #NEW}) and one reading
   * this, so each joins relations PostgreSQL has statistics and indexes for.
   */
  UNDONE,
  /**
   * The table before the window as a true bag, each row once ({@code ChangedSources.oldBag}): how
   * an outer join's table is read in the term of another outer join's table that changed in the
   * same refresh (a weighted old state would pad wrongly: a row added in the window cancels by
   * weight, but still counts as a match).
   */
  OLD_BAG,
  /**
   * No rows, the table's columns: the right side of a LEFT JOIN for the preserved rows it pads with
   * NULLs.
   */
  NULLS
}
