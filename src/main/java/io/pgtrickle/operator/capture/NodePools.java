package io.pgtrickle.operator.capture;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import javax.sql.DataSource;

/**
 * Connections to the Citus nodes, one small pool per node: every refresh of a WAL source reads the
 * slot on each node holding it, and a new connection per node and refresh cost more than the
 * refresh itself (15-30 ms each on the benchmark machine, docs/benchmarks.md). The local node is
 * reached through the engine's own pool.
 */
final class NodePools implements NodeConnector, AutoCloseable {
  /** A node that is down fails a refresh within this, not Hikari's default 30 s. */
  private static final long CONNECT_TIMEOUT_MS = 5_000;

  private final DataSource local;
  private final Properties properties;
  private final Map<String, String> endpoints;
  private final Map<String, HikariDataSource> pools = new ConcurrentHashMap<>();
  private volatile String database;

  NodePools(DataSource local, Properties properties, Map<String, String> endpoints) {
    this.local = local;
    this.properties = properties;
    this.endpoints = Map.copyOf(endpoints);
  }

  @Override
  public Connection open(CaptureNode node) throws SQLException {
    if (node.local()) {
      return local.getConnection();
    }
    String endpoint = NodeConnector.endpoint(endpoints, node.host(), node.port());
    String name = database();
    try {
      return pools.computeIfAbsent(endpoint, e -> pool(e, name)).getConnection();
    } catch (SQLException e) {
      // The pool says only that it timed out; the node's own refusal (a wrong password, a
      // connection refused) is its cause, and that is what the user needs to read.
      if (e.getCause() instanceof SQLException refusal) {
        throw refusal;
      }
      throw e;
    }
  }

  private HikariDataSource pool(String endpoint, String databaseName) {
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(
        "jdbc:postgresql://"
            + endpoint
            + "/"
            + java.net.URLEncoder.encode(databaseName, java.nio.charset.StandardCharsets.UTF_8));
    config.setDataSourceProperties(properties);
    config.setMaximumPoolSize(4);
    config.setMinimumIdle(0);
    config.setIdleTimeout(60_000);
    config.setPoolName("pgtrickle-node-" + endpoint.replaceAll("[^A-Za-z0-9_.-]", "_"));
    config.setInitializationFailTimeout(-1);
    config.setConnectionTimeout(CONNECT_TIMEOUT_MS);
    return new HikariDataSource(config);
  }

  /** The coordinator's database name, which Citus requires on every node. */
  private String database() throws SQLException {
    String name = database;
    if (name == null) {
      try (Connection connection = local.getConnection();
          Statement statement = connection.createStatement();
          ResultSet rs = statement.executeQuery("SELECT current_database()")) {
        rs.next();
        name = rs.getString(1);
      }
      database = name;
    }
    return name;
  }

  @Override
  public void close() {
    pools.values().forEach(HikariDataSource::close);
    pools.clear();
  }
}
