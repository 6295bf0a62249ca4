package io.pgtrickle.operator.engine;

/**
 * A node that holds a source's data and gets a slot for it: the server the engine is connected to
 * ({@code local}, node 0 without Citus, or the Citus coordinator), or a Citus worker reached at
 * host:port. Node ids are Citus's (pg_dist_node.nodeid); frontiers are kept per node id.
 */
public record CaptureNode(int nodeId, String name, String host, int port, boolean local) {
  public static final CaptureNode LOCAL = new CaptureNode(0, "coordinator", null, 0, true);
}
