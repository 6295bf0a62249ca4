package io.pgtrickle.operator.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

/** What the user declares; see docs/crd-reference.md. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class StreamTableSpec {
  @JsonPropertyDescription("Name of the CitusCluster (same namespace) holding the sources.")
  private String clusterRef;

  @JsonPropertyDescription("Schema of the storage table; must exist.")
  private String schema = "public";

  @JsonPropertyDescription("Name of the storage table (at most 63 bytes).")
  private String name;

  @JsonPropertyDescription("The SELECT that defines the table's contents.")
  private String query;

  @JsonPropertyDescription("How often to apply captured changes, e.g. 500ms, 1s, 5m, 1h.")
  private String schedule = "1m";

  private RefreshMode refreshMode = RefreshMode.AUTO;
  private PlacementMode placement = PlacementMode.AUTO;
  private CdcModeSpec cdcMode = CdcModeSpec.AUTO;

  @JsonPropertyDescription(
      "Set true only if no source ever updates a key column; allows REPLICA IDENTITY DEFAULT.")
  private boolean immutablePk;

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
