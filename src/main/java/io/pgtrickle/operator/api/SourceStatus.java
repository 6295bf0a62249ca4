package io.pgtrickle.operator.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.ArrayList;
import java.util.List;

/** One source table of a stream table: how it is captured and how far it has been applied. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class SourceStatus {
  private String table;
  private String stableName;
  private String placement;
  private String cdcMode;
  private List<NodeFrontier> frontier = new ArrayList<>();

  public String getTable() {
    return table;
  }

  public void setTable(String table) {
    this.table = table;
  }

  public String getStableName() {
    return stableName;
  }

  public void setStableName(String stableName) {
    this.stableName = stableName;
  }

  public String getPlacement() {
    return placement;
  }

  public void setPlacement(String placement) {
    this.placement = placement;
  }

  public String getCdcMode() {
    return cdcMode;
  }

  public void setCdcMode(String cdcMode) {
    this.cdcMode = cdcMode;
  }

  public List<NodeFrontier> getFrontier() {
    return frontier;
  }

  public void setFrontier(List<NodeFrontier> frontier) {
    this.frontier = frontier;
  }
}
