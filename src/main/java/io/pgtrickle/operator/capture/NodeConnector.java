package io.pgtrickle.operator.capture;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.Map;
import java.util.Properties;
import javax.sql.DataSource;

/**
 * Opens connections to the nodes that hold a source's data: the engine's own database for the local
 * node, otherwise the node's host:port (or its endpoint override) with the coordinator's database
 * name and credentials, as Citus requires the same database on every node.
 */
public interface NodeConnector extends AutoCloseable {
  Connection open(CaptureNode node) throws SQLException;

  /** Closes what the connector keeps open (its nodes' pools); nothing by default. */
  @Override
  default void close() {}

  /**
   * Where to reach a node named host:port in pg_dist_node: an override of "host:port" or of the
   * host, else the node's own address.
   */
  static String endpoint(Map<String, String> overrides, String host, int port) {
    String name = host + ":" + port;
    return overrides.getOrDefault(name, overrides.getOrDefault(host, name));
  }

  /** Only the local node: for a database without Citus. */
  static NodeConnector localOnly(DataSource dataSource) {
    return node -> {
      if (!node.local()) {
        throw new SQLException("no connection settings for node " + node.name());
      }
      return dataSource.getConnection();
    };
  }

  /**
   * The local node through {@code dataSource}; other nodes at their host:port, unless {@code
   * endpoints} maps the node's name ("host:port") or host to another "host:port".
   */
  static NodeConnector withCredentials(
      DataSource dataSource, String user, String password, Map<String, String> endpoints) {
    Properties credentials = new Properties();
    if (user != null) {
      credentials.setProperty("user", user);
    }
    if (password != null) {
      credentials.setProperty("password", password);
    }
    return withProperties(dataSource, credentials, endpoints);
  }

  /**
   * As {@link #withCredentials}, other nodes connected with {@code properties}: the driver's
   * connection properties (user, password, sslmode, ...) the local node is reached with.
   */
  static NodeConnector withProperties(
      DataSource dataSource, Properties properties, Map<String, String> endpoints) {
    Properties nodeProperties = new Properties();
    nodeProperties.setProperty("connectTimeout", "10");
    nodeProperties.setProperty("ApplicationName", "pg-trickle-operator");
    properties
        .stringPropertyNames()
        .forEach(n -> nodeProperties.setProperty(n, properties.getProperty(n)));
    return new NodePools(dataSource, nodeProperties, endpoints);
  }
}
