package io.pgtrickle.operator.catalog;

import io.pgtrickle.operator.naming.StableName;
import java.util.List;

/** A row of pgtrickle.pgt_change_tracking. */
public record TrackedSource(
    StableName stableName,
    ResolvedTable table,
    Placement placement,
    CdcMode cdcMode,
    List<Long> consumers) {}
