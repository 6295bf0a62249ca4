package io.pgtrickle.operator.engine.refresh;

import io.pgtrickle.operator.naming.StableName;
import java.util.Map;

/**
 * The changes a refresh consumes, per source: those of transactions visible in the refresh's
 * snapshot and not in {@code consumedSnapshots} (absent: none consumed yet). FULL ignores it; a
 * differential strategy reads exactly this window of each change buffer.
 */
public record ChangeWindow(Map<StableName, String> consumedSnapshots) {
  public ChangeWindow {
    consumedSnapshots = Map.copyOf(consumedSnapshots);
  }
}
