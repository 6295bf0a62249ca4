package io.pgtrickle.operator.catalog;

import java.util.Objects;

/** What is recorded about a source table when capture is set up for it. */
public record SourceRegistration(ResolvedTable table, Placement placement, CdcMode cdcMode) {
  public SourceRegistration {
    Objects.requireNonNull(table, "table");
    Objects.requireNonNull(placement, "placement");
    Objects.requireNonNull(cdcMode, "cdcMode");
  }
}
