package io.pgtrickle.operator.engine.refresh;

import io.pgtrickle.operator.naming.StableName;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * The changes a refresh consumes, per source: those of transactions visible in the refresh's
 * snapshot and not in {@code consumedSnapshots} (absent: none consumed yet). FULL ignores it; a
 * differential strategy reads exactly this window of each change buffer. {@code bufferRows}, when
 * known, counts each source's buffer rows in the window, up to {@link #COUNTED_UP_TO} and one more:
 * a source with none changed nothing, and its buffer need not be read.
 */
public record ChangeWindow(
    Map<StableName, String> consumedSnapshots, Optional<Map<StableName, Long>> bufferRows) {
  /** Buffer rows are counted up to this many (and one more, meaning "more"). */
  public static final long COUNTED_UP_TO = 100;

  public ChangeWindow {
    consumedSnapshots = Map.copyOf(consumedSnapshots);
    bufferRows = bufferRows.map(Map::copyOf);
  }

  /** A window whose buffer rows are not known: every source's buffer is read. */
  public ChangeWindow(Map<StableName, String> consumedSnapshots) {
    this(consumedSnapshots, Optional.empty());
  }

  /** Whether the source's window may hold buffer rows. */
  public boolean mayHaveChanges(StableName source) {
    return bufferRows.map(rows -> rows.getOrDefault(source, 0L) > 0).orElse(true);
  }

  /** The source's buffer rows in the window, when counted and at most {@link #COUNTED_UP_TO}. */
  public OptionalLong fewRows(StableName source) {
    long rows = bufferRows.map(r -> r.getOrDefault(source, COUNTED_UP_TO + 1)).orElse(-1L);
    return rows >= 0 && rows <= COUNTED_UP_TO ? OptionalLong.of(rows) : OptionalLong.empty();
  }
}
