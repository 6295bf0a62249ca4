package io.pgtrickle.operator.citus;

/** A row of pg_dist_node. Group 0 is the coordinator. */
public record CitusNode(
    int nodeId,
    int groupId,
    String host,
    int port,
    String role,
    boolean active,
    boolean shouldHaveShards) {
  public boolean isCoordinator() {
    return groupId == 0;
  }
}
