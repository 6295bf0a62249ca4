package io.pgtrickle.operator.db;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.pgtrickle.operator.citus.CitusTopology;
import io.pgtrickle.operator.embedded.EmbeddedPostgresServer;
import io.pgtrickle.operator.engine.NodeConnector;
import io.pgtrickle.operator.engine.StreamTableEngine;
import io.pgtrickle.operator.engine.refresh.FullRefresh;
import java.util.Map;
import java.util.Optional;
import javax.sql.DataSource;

/**
 * A database local mode works on, with its connection pool; closes the pool (and the embedded
 * server, if it started one) when done. Its description never contains credentials.
 */
public final class DatabaseTarget implements AutoCloseable {
  private final HikariDataSource pool;
  private final String description;
  private final Optional<EmbeddedPostgresServer> embedded;
  private final String user;
  private final String password;

  private DatabaseTarget(
      HikariDataSource pool,
      String description,
      Optional<EmbeddedPostgresServer> embedded,
      String user,
      String password) {
    this.pool = pool;
    this.description = description;
    this.embedded = embedded;
    this.user = user;
    this.password = password;
  }

  /** A pool on a JDBC URL; user and password come separately so they never sit in the URL. */
  public static DatabaseTarget connect(
      String jdbcUrl, String user, String password, String description) {
    return open(jdbcUrl, user, password, description, Optional.empty());
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
    return new DatabaseTarget(new HikariDataSource(config), description, embedded, user, password);
  }

  public DataSource dataSource() {
    return pool;
  }

  /**
   * An engine on this database that reaches Citus workers with the same credentials, at the
   * host:port pg_dist_node gives or at the {@code endpoints} override.
   */
  public StreamTableEngine engine(Map<String, String> endpoints) {
    return engine(endpoints, Optional.empty());
  }

  /** As {@link #engine(Map)}, with the query views owned by {@code queryRole} when given. */
  public StreamTableEngine engine(Map<String, String> endpoints, Optional<String> queryRole) {
    return new StreamTableEngine(
        pool,
        new CitusTopology(),
        new FullRefresh(),
        NodeConnector.withCredentials(pool, user, password, endpoints),
        queryRole);
  }

  public String description() {
    return description;
  }

  public boolean isEmbedded() {
    return embedded.isPresent();
  }

  @Override
  public void close() {
    pool.close();
    embedded.ifPresent(EmbeddedPostgresServer::close);
  }
}
