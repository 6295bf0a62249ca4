package io.pgtrickle.operator.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.util.LinkedHashMap;
import java.util.Map;

/** What the operator observed of the database. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class CitusClusterStatus extends ResourceStatus {
  private String postgresVersion;
  private String citusVersion;
  private Integer nodeCount;
  private Map<String, NodeStatus> nodes = new LinkedHashMap<>();

  public Integer getNodeCount() {
    return nodeCount;
  }

  public void setNodeCount(Integer nodeCount) {
    this.nodeCount = nodeCount;
  }

  /** By node name: the coordinator, and each worker as pg_dist_node names it. */
  public Map<String, NodeStatus> getNodes() {
    return nodes;
  }

  public void setNodes(Map<String, NodeStatus> nodes) {
    this.nodes = nodes;
  }

  public String getPostgresVersion() {
    return postgresVersion;
  }

  public void setPostgresVersion(String postgresVersion) {
    this.postgresVersion = postgresVersion;
  }

  public String getCitusVersion() {
    return citusVersion;
  }

  public void setCitusVersion(String citusVersion) {
    this.citusVersion = citusVersion;
  }
}
