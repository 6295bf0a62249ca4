package io.pgtrickle.operator.citus;

import io.pgtrickle.operator.catalog.Placement;
import java.util.Optional;

/**
 * Where Citus keeps a table. A distributed table has a distribution column, except a single-shard
 * (schema-sharded) one, whose column is empty.
 */
public record TablePlacement(Placement kind, Optional<String> distributionColumn) {
  private static final TablePlacement LOCAL = new TablePlacement(Placement.LOCAL, Optional.empty());
  private static final TablePlacement REFERENCE =
      new TablePlacement(Placement.REFERENCE, Optional.empty());

  public static TablePlacement local() {
    return LOCAL;
  }

  public static TablePlacement reference() {
    return REFERENCE;
  }

  public static TablePlacement distributed(Optional<String> distributionColumn) {
    return new TablePlacement(Placement.DISTRIBUTED, distributionColumn);
  }
}
