package io.pgtrickle.operator.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import java.util.ArrayList;
import java.util.List;

/** What the operator observed; written by the operator only. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class StreamTableStatus extends ResourceStatus {
  private String storageTable;
  private String refreshMode;
  private String placement;
  private List<SourceStatus> sources = new ArrayList<>();
  private LastRefresh lastRefresh;
  private Long maxLagBytes;

  @JsonPropertyDescription(
      "The clock functions the query reads (now(), CURRENT_DATE, ...): its result changes with"
          + " time alone, so it is refreshed in full on every schedule tick. Absent when the"
          + " query depends on its sources only.")
  private List<String> timeDependentOn;

  @JsonPropertyDescription(
      "Stream tables this one reads (upstream): they are refreshed before it, and it waits"
          + " for them to exist.")
  private List<String> dependsOn;

  public List<String> getTimeDependentOn() {
    return timeDependentOn;
  }

  public void setTimeDependentOn(List<String> timeDependentOn) {
    this.timeDependentOn = timeDependentOn;
  }

  public List<String> getDependsOn() {
    return dependsOn;
  }

  public void setDependsOn(List<String> dependsOn) {
    this.dependsOn = dependsOn;
  }

  /** The largest lag of any source on any node: the printer column's summary. */
  public Long getMaxLagBytes() {
    return maxLagBytes;
  }

  public void setMaxLagBytes(Long maxLagBytes) {
    this.maxLagBytes = maxLagBytes;
  }

  public String getStorageTable() {
    return storageTable;
  }

  public void setStorageTable(String storageTable) {
    this.storageTable = storageTable;
  }

  public String getRefreshMode() {
    return refreshMode;
  }

  public void setRefreshMode(String refreshMode) {
    this.refreshMode = refreshMode;
  }

  public String getPlacement() {
    return placement;
  }

  public void setPlacement(String placement) {
    this.placement = placement;
  }

  public List<SourceStatus> getSources() {
    return sources;
  }

  public void setSources(List<SourceStatus> sources) {
    this.sources = sources;
  }

  public LastRefresh getLastRefresh() {
    return lastRefresh;
  }

  public void setLastRefresh(LastRefresh lastRefresh) {
    this.lastRefresh = lastRefresh;
  }
}
