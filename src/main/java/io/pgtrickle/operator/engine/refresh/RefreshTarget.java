package io.pgtrickle.operator.engine.refresh;

import java.util.List;
import java.util.Optional;

/**
 * What a refresh writes: the storage table, the view holding what the storage must equal (the
 * query, or for a differential layout the query with its hidden state), that view's columns
 * (already quoted identifiers), in order, for Citus storage its row-id column (quoted): rows are
 * then deleted and inserted by that key, as Citus cannot address rows by ctid; for a differential
 * layout what a differential refresh needs; and how FULL tells the stored rows that are already
 * right.
 */
public record RefreshTarget(
    String storageTable,
    String queryView,
    List<String> columns,
    Optional<String> rowIdColumn,
    Optional<DifferentialTarget> differential,
    RowMatch rowMatch) {
  public RefreshTarget {
    columns = List.copyOf(columns);
  }

  public RefreshTarget(
      String storageTable,
      String queryView,
      List<String> columns,
      Optional<String> rowIdColumn,
      Optional<DifferentialTarget> differential) {
    this(storageTable, queryView, columns, rowIdColumn, differential, RowMatch.TEXT);
  }

  public RefreshTarget(
      String storageTable, String queryView, List<String> columns, Optional<String> rowIdColumn) {
    this(storageTable, queryView, columns, rowIdColumn, Optional.empty());
  }

  /** How FULL matches recomputed rows with stored ones (local storage). */
  public enum RowMatch {
    /** By the text of all the view's columns. */
    TEXT,
    /**
     * By the text of all the view's columns, the view computed once per row: a differential state
     * view with groups, whose {@code pgt_row_id} names a group, not its contents.
     */
    STATE_TEXT,
    /**
     * A bag layout: {@code columns} are the query's own and {@code queryView} the query's view;
     * rows are matched by the text of those columns, as for {@link #TEXT}, and a row inserted gets
     * its {@code pgt_row_id} as the state view defines it, the md5 of that same text. The md5 is
     * then computed for the rows inserted only, not for every row of the result.
     */
    BAG,
    /**
     * Citus storage of a differential layout with groups: {@code columns} are the state view's,
     * {@code pgt_row_id} among them, the table's key and distribution column. Groups whose id the
     * result no longer has are deleted by it, and the ones whose text differs are upserted by it.
     */
    GROUP_ID,
    /**
     * Citus storage of a differential bag: {@code columns} are the query's, {@code queryView} the
     * query's view; a row's copies carry {@code pgt_row_id} (the md5 of its text) and {@code
     * pgt_copy}, numbered 1..n, the table's key (distributed on the row id). Copies the result no
     * longer has are deleted by that key, missing ones inserted.
     */
    NUMBERED_COPIES
  }
}
