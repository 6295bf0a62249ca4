package io.pgtrickle.operator.db;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.pgtrickle.operator.capture.NodeConnector;
import io.pgtrickle.operator.citus.CitusTopology;
import io.pgtrickle.operator.embedded.EmbeddedPostgresServer;
import io.pgtrickle.operator.engine.StreamTableEngine;
import io.pgtrickle.operator.engine.refresh.FullRefresh;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import javax.sql.DataSource;
import org.postgresql.Driver;
import org.postgresql.PGProperty;

/**
 * A database local mode works on, with its connection pool; closes the pool (and the embedded
 * server, if it started one) when done. Its description never contains credentials.
 */
public final class DatabaseTarget implements AutoCloseable {
  private final HikariDataSource pool;

  /** The node connectors of the engines made here: their pools close with this target. */
  private final java.util.List<NodeConnector> connectors =
      new java.util.concurrent.CopyOnWriteArrayList<>();

  private final String description;
  private final Optional<EmbeddedPostgresServer> embedded;
  private final Properties nodeProperties;

  private DatabaseTarget(
      HikariDataSource pool,
      String description,
      Optional<EmbeddedPostgresServer> embedded,
      Properties nodeProperties) {
    this.pool = pool;
    this.description = description;
    this.embedded = embedded;
    this.nodeProperties = nodeProperties;
  }

  /** A pool on a JDBC URL; user and password come separately so they never sit in the URL. */
  public static DatabaseTarget connect(
      String jdbcUrl, String user, String password, String description) {
    return open(jdbcUrl, user, password, description, Optional.empty());
  }

  /**
   * A pool on a JDBC URL given on the command line ({@code --jdbc-url}), with {@code PGUSER} and
   * {@code PGPASSWORD} from {@code environment} where the URL has no credentials.
   */
  public static DatabaseTarget fromCommandLine(String jdbcUrl, Map<String, String> environment) {
    return connect(jdbcUrl, environment.get("PGUSER"), environment.get("PGPASSWORD"), "--jdbc-url");
  }

  /** Starts an embedded PostgreSQL and connects to its {@code postgres} database. */
  public static DatabaseTarget embedded() {
    EmbeddedPostgresServer server = EmbeddedPostgresServer.start();
    return open(
        server.jdbcUrl("postgres"),
        EmbeddedPostgresServer.SUPERUSER,
        null,
        "embedded PostgreSQL on port " + server.port(),
        Optional.of(server));
  }

  private static DatabaseTarget open(
      String jdbcUrl,
      String user,
      String password,
      String description,
      Optional<EmbeddedPostgresServer> embedded) {
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(jdbcUrl);
    if (user != null) {
      config.setUsername(user);
    }
    if (password != null) {
      config.setPassword(password);
    }
    config.setMaximumPoolSize(6);
    config.setMinimumIdle(0);
    config.setPoolName("pgtrickle-" + description.replaceAll("[^A-Za-z0-9_.-]", "_"));
    // The pool starts without connecting; an unreachable database then fails the first use
    // within 10 s (not Hikari's 30 s), which the caller reports as ClusterUnavailable.
    config.setInitializationFailTimeout(-1);
    config.setConnectionTimeout(10_000);
    config.addDataSourceProperty("ApplicationName", "pg-trickle-operator");
    return new DatabaseTarget(
        new HikariDataSource(config),
        description,
        embedded,
        nodeProperties(jdbcUrl, user, password));
  }

  /**
   * How the coordinator connects, less where: the URL's parameters (user, password, sslmode, ...),
   * then {@code user} and {@code password} where the URL has none, the precedence the driver gives
   * them on the coordinator. Citus workers are reached with these at their own host and port.
   */
  static Properties nodeProperties(String jdbcUrl, String user, String password) {
    Properties properties = new Properties();
    Properties parsed = Driver.parseURL(jdbcUrl, null);
    if (parsed != null) {
      Set<String> where =
          Set.of(
              PGProperty.PG_HOST.getName(),
              PGProperty.PG_PORT.getName(),
              PGProperty.PG_DBNAME.getName());
      for (String name : parsed.stringPropertyNames()) {
        if (!where.contains(name)) {
          properties.setProperty(name, parsed.getProperty(name));
        }
      }
    }
    if (user != null && !properties.containsKey(PGProperty.USER.getName())) {
      properties.setProperty(PGProperty.USER.getName(), user);
    }
    if (password != null && !properties.containsKey(PGProperty.PASSWORD.getName())) {
      properties.setProperty(PGProperty.PASSWORD.getName(), password);
    }
    return properties;
  }

  public DataSource dataSource() {
    return refusals;
  }

  /** The pool, reporting a refused connection as the server's own refusal. */
  private final DataSource refusals = new RefusalReporting();

  /**
   * Hikari reports a database it cannot reach as "Connection is not available, request timed out";
   * the server's own refusal (connection refused, a wrong password, no such database) is its cause,
   * and that is what a user needs to read.
   */
  private final class RefusalReporting implements DataSource {
    @Override
    public java.sql.Connection getConnection() throws java.sql.SQLException {
      try {
        return pool.getConnection();
      } catch (java.sql.SQLException e) {
        throw refusal(e);
      }
    }

    @Override
    public java.sql.Connection getConnection(String user, String password)
        throws java.sql.SQLException {
      try {
        return pool.getConnection(user, password);
      } catch (java.sql.SQLException e) {
        throw refusal(e);
      }
    }

    private java.sql.SQLException refusal(java.sql.SQLException e) {
      return e.getCause() instanceof java.sql.SQLException cause ? cause : e;
    }

    @Override
    public java.io.PrintWriter getLogWriter() throws java.sql.SQLException {
      return pool.getLogWriter();
    }

    @Override
    public void setLogWriter(java.io.PrintWriter out) throws java.sql.SQLException {
      pool.setLogWriter(out);
    }

    @Override
    public void setLoginTimeout(int seconds) throws java.sql.SQLException {
      pool.setLoginTimeout(seconds);
    }

    @Override
    public int getLoginTimeout() throws java.sql.SQLException {
      return pool.getLoginTimeout();
    }

    @Override
    public java.util.logging.Logger getParentLogger()
        throws java.sql.SQLFeatureNotSupportedException {
      return pool.getParentLogger();
    }

    @Override
    public <T> T unwrap(Class<T> type) throws java.sql.SQLException {
      return pool.unwrap(type);
    }

    @Override
    public boolean isWrapperFor(Class<?> type) throws java.sql.SQLException {
      return pool.isWrapperFor(type);
    }
  }

  /**
   * An engine on this database that reaches Citus workers with the same credentials and connection
   * parameters, at the host:port pg_dist_node gives or at the {@code endpoints} override.
   */
  public StreamTableEngine engine(Map<String, String> endpoints) {
    return engine(endpoints, Optional.empty(), new CitusTopology());
  }

  /** As {@link #engine(Map)}, with the query views owned by {@code queryRole} when given. */
  public StreamTableEngine engine(Map<String, String> endpoints, Optional<String> queryRole) {
    return engine(endpoints, queryRole, new CitusTopology());
  }

  /** As {@link #engine(Map)}, with the topology given (tests script one on plain PostgreSQL). */
  StreamTableEngine engine(Map<String, String> endpoints, CitusTopology topology) {
    return engine(endpoints, Optional.empty(), topology);
  }

  private StreamTableEngine engine(
      Map<String, String> endpoints, Optional<String> queryRole, CitusTopology topology) {
    NodeConnector nodes = NodeConnector.withProperties(refusals, nodeProperties, endpoints);
    connectors.add(nodes);
    return new StreamTableEngine(refusals, topology, new FullRefresh(), nodes, queryRole);
  }

  public String description() {
    return description;
  }

  public boolean isEmbedded() {
    return embedded.isPresent();
  }

  @Override
  public void close() {
    connectors.forEach(NodeConnector::close);
    connectors.clear();
    pool.close();
    embedded.ifPresent(EmbeddedPostgresServer::close);
  }
}
