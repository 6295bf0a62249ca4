package io.pgtrickle.operator.operator;

import io.pgtrickle.operator.api.CitusCluster;
import io.pgtrickle.operator.api.NodeStatus;
import io.pgtrickle.operator.capture.NodeConnector;
import io.pgtrickle.operator.citus.CitusNode;
import io.pgtrickle.operator.citus.CitusTopology;
import io.pgtrickle.operator.citus.NodePrerequisites;
import io.pgtrickle.operator.citus.ServerVersions;
import io.pgtrickle.operator.db.ConnectionSettings;
import io.pgtrickle.operator.engine.EngineException;
import io.pgtrickle.operator.engine.Reason;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * Looks at a cluster's nodes: which exist (pg_dist_node; a database without Citus is one node),
 * whether each is reachable at its endpoint (pg_dist_node's host:port unless overridden), and what
 * WAL capture would lack there. Reaches workers with the coordinator's credentials.
 */
public final class ClusterInspector {
  /** The node name a database without Citus is reported under. */
  public static final String SINGLE_NODE = "coordinator";

  /** What was found. */
  public record Inspection(
      String postgresVersion, String citusVersion, Map<String, NodeStatus> nodes) {}

  public Inspection inspect(CitusCluster cluster, ClusterConnections.Handle handle)
      throws EngineException {
    try (Connection connection = handle.target().dataSource().getConnection()) {
      ServerVersions versions = ServerVersions.read(connection);
      String postgres = versions.postgres();
      String citus = versions.citus();
      Map<String, NodeStatus> nodes = new LinkedHashMap<>();
      var coordinator = cluster.getSpec().getCoordinator();
      if (citus == null) {
        nodes.put(
            SINGLE_NODE,
            node(
                0,
                "primary",
                coordinator.getHost() + ":" + coordinator.getPort(),
                true,
                NodePrerequisites.missing(connection, false)));
        return new Inspection(postgres, null, nodes);
      }
      List<CitusNode> citusNodes = new CitusTopology().nodes(connection);
      Map<String, String> overrides = cluster.getSpec().getEndpoints();
      for (CitusNode citusNode : citusNodes) {
        String name = citusNode.host() + ":" + citusNode.port();
        String endpoint = NodeConnector.endpoint(overrides, citusNode.host(), citusNode.port());
        if (citusNode.isCoordinator()) {
          nodes.put(
              name,
              node(
                  citusNode.nodeId(),
                  "coordinator",
                  coordinator.getHost() + ":" + coordinator.getPort(),
                  true,
                  NodePrerequisites.missing(connection, true)));
        } else {
          nodes.put(
              name,
              inspectWorker(citusNode, endpoint, coordinator.getDatabase(), handle.settings()));
        }
      }
      return new Inspection(postgres, citus, nodes);
    } catch (SQLException e) {
      throw new EngineException(
          Reason.ClusterUnavailable,
          "cannot inspect " + handle.settings().description() + ": " + e.getMessage(),
          e);
    }
  }

  private static NodeStatus inspectWorker(
      CitusNode citusNode, String endpoint, String database, ConnectionSettings settings) {
    Properties properties = new Properties();
    if (settings.user() != null) {
      properties.setProperty("user", settings.user());
    }
    if (settings.password() != null) {
      properties.setProperty("password", settings.password());
    }
    properties.setProperty("connectTimeout", "5");
    properties.setProperty("ApplicationName", "pg-trickle-operator");
    try (Connection connection =
        DriverManager.getConnection("jdbc:postgresql://" + endpoint + "/" + database, properties)) {
      return node(
          citusNode.nodeId(),
          "worker",
          endpoint,
          true,
          NodePrerequisites.missing(connection, true));
    } catch (SQLException e) {
      NodeStatus status = node(citusNode.nodeId(), "worker", endpoint, false, List.of());
      status.setPrerequisitesMet(false);
      status.setMissing(List.of("reachable from the operator (" + e.getMessage() + ")"));
      return status;
    }
  }

  private static NodeStatus node(
      int nodeId, String role, String endpoint, boolean reachable, List<String> missing) {
    NodeStatus status = new NodeStatus();
    status.setNodeId(nodeId);
    status.setRole(role);
    status.setEndpoint(endpoint);
    status.setReachable(reachable);
    status.setPrerequisitesMet(missing.isEmpty());
    status.setMissing(missing);
    return status;
  }
}
