package io.pgtrickle.operator.engine;

import java.time.OffsetDateTime;

/**
 * A row of pgtrickle.pgt_stream_tables. {@code placement} is where the storage was placed; {@code
 * placementSpec} what was asked for (auto resolves when the storage is made).
 */
public record StreamTableRecord(
    long id,
    String schema,
    String name,
    String query,
    String schedule,
    String refreshMode,
    String placement,
    String cdcMode,
    boolean immutablePk,
    String deletionPolicy,
    String status,
    Frontier frontier,
    String owner,
    OffsetDateTime lastRefreshAt,
    String lastRefreshMode,
    Long lastRefreshMillis,
    Long lastRefreshRows,
    String lastError,
    OffsetDateTime createdAt,
    String placementSpec,
    java.util.List<String> timeDependentOn,
    String differentialBlocker,
    boolean differentialStorage,
    int storageFormat,
    String lastRefreshReason,
    AutoHistory autoHistory) {
  /** The storage format this version makes; older stream tables are rebuilt when next applied. */
  static final int STORAGE_FORMAT = 2;

  /** Whether the stored definition differs from {@code definition} in what shapes the contents. */
  boolean contentsDifferFrom(StreamTableDefinition definition) {
    return !query.equals(definition.query())
        || storageFormat < STORAGE_FORMAT
        || !refreshMode.equals(definition.refreshMode().name())
        || cdcModeDiffersFrom(definition)
        || !placementSpec.equals(definition.placement().name().toLowerCase(java.util.Locale.ROOT));
  }

  /** Whether the capture mode asked for changed (its capture objects must be replaced). */
  boolean cdcModeDiffersFrom(StreamTableDefinition definition) {
    return !cdcMode.equals(definition.cdcMode().name().toLowerCase(java.util.Locale.ROOT));
  }

  /**
   * The definition this row was made from, for re-applying it without the resource (re-creating
   * what a dropped source took with it).
   */
  StreamTableDefinition definition() throws EngineException {
    java.util.Locale root = java.util.Locale.ROOT;
    return new StreamTableDefinition(
        schema,
        name,
        query,
        Schedule.parse(schedule),
        io.pgtrickle.operator.api.RefreshMode.valueOf(refreshMode),
        io.pgtrickle.operator.api.PlacementMode.valueOf(placementSpec.toUpperCase(root)),
        io.pgtrickle.operator.api.CdcModeSpec.valueOf(cdcMode.toUpperCase(root)),
        immutablePk,
        io.pgtrickle.operator.api.DeletionPolicy.valueOf(deletionPolicy));
  }

  /** Whether anything stored differs from {@code definition}. */
  boolean differsFrom(StreamTableDefinition definition) {
    return contentsDifferFrom(definition)
        || !schedule.equals(definition.schedule().text())
        || !refreshMode.equals(definition.refreshMode().name())
        || !cdcMode.equals(definition.cdcMode().name().toLowerCase(java.util.Locale.ROOT))
        || immutablePk != definition.immutablePk()
        || !deletionPolicy.equals(definition.deletionPolicy().name());
  }
}
