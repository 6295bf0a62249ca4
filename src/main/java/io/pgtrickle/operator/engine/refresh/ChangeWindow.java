package io.pgtrickle.operator.engine.refresh;

import io.pgtrickle.operator.naming.StableName;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The changes a refresh consumes, per source: those of transactions visible in the refresh's
 * snapshot and not in {@code consumedSnapshots} (absent: none consumed yet). FULL ignores it; a
 * differential strategy reads exactly this window of each change buffer. {@code pending}, when
 * known, names the sources whose window holds buffer rows at all: the others changed nothing, and
 * their buffers need not be read.
 */
public record ChangeWindow(
    Map<StableName, String> consumedSnapshots, Optional<Set<StableName>> pending) {
  public ChangeWindow {
    consumedSnapshots = Map.copyOf(consumedSnapshots);
    pending = pending.map(Set::copyOf);
  }

  /** A window whose pending sources are not known: every source's buffer is read. */
  public ChangeWindow(Map<StableName, String> consumedSnapshots) {
    this(consumedSnapshots, Optional.empty());
  }

  /** Whether the source's window may hold buffer rows. */
  public boolean mayHaveChanges(StableName source) {
    return pending.map(p -> p.contains(source)).orElse(true);
  }
}
