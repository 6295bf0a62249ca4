package io.pgtrickle.operator.engine;

import io.pgtrickle.operator.api.CdcModeSpec;
import io.pgtrickle.operator.api.DeletionPolicy;
import io.pgtrickle.operator.api.PlacementMode;
import io.pgtrickle.operator.api.RefreshMode;
import io.pgtrickle.operator.api.StreamTableSpec;
import io.pgtrickle.operator.naming.SqlIdentifiers;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * A validated stream-table spec, as the engine uses it. {@link #from} is the one place where a
 * spec's fields are checked; everything after it may trust them.
 */
public record StreamTableDefinition(
    String schema,
    String name,
    String query,
    Schedule schedule,
    RefreshMode refreshMode,
    PlacementMode placement,
    CdcModeSpec cdcMode,
    boolean immutablePk,
    DeletionPolicy deletionPolicy) {

  public StreamTableDefinition {
    Objects.requireNonNull(schema, "schema");
    Objects.requireNonNull(name, "name");
    Objects.requireNonNull(query, "query");
    Objects.requireNonNull(schedule, "schedule");
    Objects.requireNonNull(refreshMode, "refreshMode");
    Objects.requireNonNull(placement, "placement");
    Objects.requireNonNull(cdcMode, "cdcMode");
    Objects.requireNonNull(deletionPolicy, "deletionPolicy");
  }

  /** Checks a spec; options this version cannot honour yet fail with NotSupported. */
  public static StreamTableDefinition from(StreamTableSpec spec) throws EngineException {
    if (spec == null) {
      throw new EngineException(Reason.InvalidSpec, "spec is missing");
    }
    String schema = requireName("schema", spec.getSchema());
    String name = requireName("name", spec.getName());
    String query = spec.getQuery() == null ? "" : spec.getQuery().strip();
    while (query.endsWith(";")) {
      query = query.substring(0, query.length() - 1).stripTrailing();
    }
    if (query.isEmpty()) {
      throw new EngineException(Reason.InvalidSpec, "spec.query is missing");
    }
    RefreshMode refreshMode = orDefault(spec.getRefreshMode(), RefreshMode.AUTO);
    PlacementMode placement = orDefault(spec.getPlacement(), PlacementMode.AUTO);
    CdcModeSpec cdcMode = orDefault(spec.getCdcMode(), CdcModeSpec.AUTO);
    return new StreamTableDefinition(
        schema,
        name,
        query,
        Schedule.parse(spec.getSchedule() == null ? "1m" : spec.getSchedule()),
        refreshMode,
        placement,
        cdcMode,
        spec.isImmutablePk(),
        orDefault(spec.getDeletionPolicy(), DeletionPolicy.Delete));
  }

  /** {@code "schema"."name"}. */
  public String qualifiedName() {
    return SqlIdentifiers.qualified(schema, name);
  }

  /** How the sources are captured: WAL only when asked; AUTO is triggers for local sources. */
  public io.pgtrickle.operator.catalog.CdcMode effectiveCdcMode() {
    return cdcMode == CdcModeSpec.WAL
        ? io.pgtrickle.operator.catalog.CdcMode.WAL
        : io.pgtrickle.operator.catalog.CdcMode.TRIGGER;
  }

  private static String requireName(String field, String value) throws EngineException {
    if (value == null || value.isEmpty()) {
      throw new EngineException(Reason.InvalidSpec, "spec." + field + " is missing");
    }
    int bytes = value.getBytes(StandardCharsets.UTF_8).length;
    if (bytes > SqlIdentifiers.MAX_IDENTIFIER_BYTES) {
      throw new EngineException(
          Reason.InvalidSpec,
          field
              + " '"
              + value
              + "' is "
              + bytes
              + " bytes long; PostgreSQL names are at most 63 bytes");
    }
    if (value.indexOf('\0') >= 0) {
      throw new EngineException(Reason.InvalidSpec, field + " contains a NUL character");
    }
    return value;
  }

  private static <T> T orDefault(T value, T fallback) {
    return value == null ? fallback : value;
  }
}
