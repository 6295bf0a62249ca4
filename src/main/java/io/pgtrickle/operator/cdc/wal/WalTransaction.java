package io.pgtrickle.operator.cdc.wal;

import java.util.List;

/**
 * One committed transaction read from a node's slot: its commit LSN (the frontier compares this),
 * the LSN just past its commit (where the slot may advance to), and its row changes in the buffer's
 * form.
 */
public record WalTransaction(long commitLsn, long endLsn, List<RowChange> changes) {
  public WalTransaction {
    changes = List.copyOf(changes);
  }

  /** {@code op}: I (row added), D (row removed) or T (truncate); row in record text form. */
  public record RowChange(char op, String rowText) {}
}
