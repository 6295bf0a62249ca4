package io.pgtrickle.operator.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Default;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import io.fabric8.generator.annotation.ValidationRule;

/** What the user declares; see docs/crd-reference.md. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class StreamTableSpec {
  @JsonPropertyDescription(
      "Name of the CitusCluster (same namespace) holding the sources. Immutable.")
  @Required
  @Size(min = 1, max = 253)
  @ValidationRule(value = "self == oldSelf", message = "clusterRef is immutable")
  private String clusterRef;

  @JsonPropertyDescription("Schema of the storage table; must exist. Immutable.")
  @Size(min = 1, max = 63)
  @Default("public")
  @ValidationRule(value = "self == oldSelf", message = "schema is immutable")
  private String schema = "public";

  @JsonPropertyDescription("Name of the storage table (at most 63 bytes). Immutable.")
  @Required
  @Size(min = 1, max = 63)
  @ValidationRule(value = "self == oldSelf", message = "name is immutable")
  private String name;

  @JsonPropertyDescription("The SELECT that defines the table's contents.")
  @Required
  @Size(min = 1)
  private String query;

  @JsonPropertyDescription("How often to apply captured changes, e.g. 500ms, 1s, 5m, 1h, 1m30s.")
  @Pattern("^([0-9]+(ms|s|m|h))+$")
  @Default("1m")
  private String schedule = "1m";

  @JsonPropertyDescription(
      "AUTO (the default: DIFFERENTIAL when the query allows it and the change is small, else"
          + " FULL, deciding per refresh), DIFFERENTIAL (apply only the change; refused at apply"
          + " for a query outside the differential class) or FULL (recompute every refresh).")
  @Default("AUTO")
  private RefreshMode refreshMode = RefreshMode.AUTO;

  @JsonPropertyDescription(
      "Where the storage table lives on Citus: auto (distributed when every source is a"
          + " distributed table, else local), local, reference or distributed (on its row id).")
  @Default("auto")
  private PlacementMode placement = PlacementMode.AUTO;

  @JsonPropertyDescription("How source changes are captured: auto, trigger or wal.")
  @Default("auto")
  private CdcModeSpec cdcMode = CdcModeSpec.AUTO;

  @JsonPropertyDescription(
      "Set true only if no source ever updates a key column; allows REPLICA IDENTITY DEFAULT.")
  private boolean immutablePk;

  @JsonPropertyDescription("Delete drops the storage table with the resource; Retain keeps it.")
  @Default("Delete")
  private DeletionPolicy deletionPolicy = DeletionPolicy.Delete;

  public String getClusterRef() {
    return clusterRef;
  }

  public void setClusterRef(String clusterRef) {
    this.clusterRef = clusterRef;
  }

  public String getSchema() {
    return schema;
  }

  public void setSchema(String schema) {
    this.schema = schema;
  }

  public String getName() {
    return name;
  }

  public void setName(String name) {
    this.name = name;
  }

  public String getQuery() {
    return query;
  }

  public void setQuery(String query) {
    this.query = query;
  }

  public String getSchedule() {
    return schedule;
  }

  public void setSchedule(String schedule) {
    this.schedule = schedule;
  }

  public RefreshMode getRefreshMode() {
    return refreshMode;
  }

  public void setRefreshMode(RefreshMode refreshMode) {
    this.refreshMode = refreshMode;
  }

  public PlacementMode getPlacement() {
    return placement;
  }

  public void setPlacement(PlacementMode placement) {
    this.placement = placement;
  }

  public CdcModeSpec getCdcMode() {
    return cdcMode;
  }

  public void setCdcMode(CdcModeSpec cdcMode) {
    this.cdcMode = cdcMode;
  }

  public boolean isImmutablePk() {
    return immutablePk;
  }

  public void setImmutablePk(boolean immutablePk) {
    this.immutablePk = immutablePk;
  }

  public DeletionPolicy getDeletionPolicy() {
    return deletionPolicy;
  }

  public void setDeletionPolicy(DeletionPolicy deletionPolicy) {
    this.deletionPolicy = deletionPolicy;
  }
}
