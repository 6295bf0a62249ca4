package io.pgtrickle.operator.capture;

import io.pgtrickle.operator.citus.CitusNode;
import io.pgtrickle.operator.engine.EngineException;
import io.pgtrickle.operator.engine.Reason;

/**
 * A node that holds a source's data and gets a slot for it: the server the engine is connected to
 * ({@code local}, node 0 without Citus, or the Citus coordinator), or a Citus worker reached at
 * host:port. Node ids are Citus's (pg_dist_node.nodeid); frontiers are kept per node id.
 */
public record CaptureNode(int nodeId, String name, String host, int port, boolean local) {
  public static final CaptureNode LOCAL = new CaptureNode(0, "coordinator", null, 0, true);

  /** "node host:port (id N)", how messages name it. */
  String label() {
    return "node " + name + " (id " + nodeId + ")";
  }

  /** A failure to reach or use this node: ClusterUnavailable naming it, then what failed. */
  EngineException unavailable(String what, java.sql.SQLException cause) {
    return new EngineException(
        Reason.ClusterUnavailable, label() + " " + what + ": " + cause.getMessage(), cause);
  }

  /** A node of pg_dist_node, named host:port; the coordinator is reached as the local node. */
  static CaptureNode of(CitusNode node) {
    return new CaptureNode(
        node.nodeId(),
        node.host() + ":" + node.port(),
        node.host(),
        node.port(),
        node.isCoordinator());
  }
}
