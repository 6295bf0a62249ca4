package io.pgtrickle.operator.api;

import com.fasterxml.jackson.annotation.JsonInclude;

/** How far one node's changes to one source have been applied. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class NodeFrontier {
  private Integer nodeId;
  private String node;
  private String lsn;
  private Long lagBytes;

  public NodeFrontier() {}

  public NodeFrontier(int nodeId, String node, String lsn, Long lagBytes) {
    this.nodeId = nodeId;
    this.node = node;
    this.lsn = lsn;
    this.lagBytes = lagBytes;
  }

  public Integer getNodeId() {
    return nodeId;
  }

  public void setNodeId(Integer nodeId) {
    this.nodeId = nodeId;
  }

  public String getNode() {
    return node;
  }

  public void setNode(String node) {
    this.node = node;
  }

  public String getLsn() {
    return lsn;
  }

  public void setLsn(String lsn) {
    this.lsn = lsn;
  }

  public Long getLagBytes() {
    return lagBytes;
  }

  public void setLagBytes(Long lagBytes) {
    this.lagBytes = lagBytes;
  }
}
