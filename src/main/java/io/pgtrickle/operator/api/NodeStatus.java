package io.pgtrickle.operator.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.ArrayList;
import java.util.List;

/** One node of a CitusCluster: reachable or not, and whether it meets capture's prerequisites. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class NodeStatus {
  private Integer nodeId;
  private String role;
  private String endpoint;
  private Boolean reachable;
  private Boolean prerequisitesMet;
  private List<String> missing = new ArrayList<>();

  public Integer getNodeId() {
    return nodeId;
  }

  public void setNodeId(Integer nodeId) {
    this.nodeId = nodeId;
  }

  public String getRole() {
    return role;
  }

  public void setRole(String role) {
    this.role = role;
  }

  /** host:port the operator connects to (after endpoint overrides). */
  public String getEndpoint() {
    return endpoint;
  }

  public void setEndpoint(String endpoint) {
    this.endpoint = endpoint;
  }

  public Boolean getReachable() {
    return reachable;
  }

  public void setReachable(Boolean reachable) {
    this.reachable = reachable;
  }

  public Boolean getPrerequisitesMet() {
    return prerequisitesMet;
  }

  public void setPrerequisitesMet(Boolean prerequisitesMet) {
    this.prerequisitesMet = prerequisitesMet;
  }

  /** What WAL capture would need and the node lacks, e.g. "wal_level=logical (is replica)". */
  public List<String> getMissing() {
    return missing;
  }

  public void setMissing(List<String> missing) {
    this.missing = missing;
  }
}
