package io.pgtrickle.operator.testing;

import io.pgtrickle.operator.embedded.EmbeddedPostgresServer;
import io.pgtrickle.operator.embedded.PostgresServer;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Real PostgreSQL servers for integration tests, started from the embedded binaries on first use
 * and shared by every test in the JVM (each start costs seconds). Tests stay independent by taking
 * a fresh database each: {@link #freshDatabase(int)}. Servers stop when the JVM exits.
 */
public final class TestPostgres {
  private static final List<EmbeddedPostgresServer> SERVERS = new ArrayList<>();
  private static final AtomicInteger DATABASES = new AtomicInteger();

  private TestPostgres() {}

  /** Server number {@code index} (0, 1, 2, ...): independent servers, each with its own OIDs. */
  public static synchronized PostgresServer server(int index) {
    while (SERVERS.size() <= index) {
      EmbeddedPostgresServer server = EmbeddedPostgresServer.start();
      SERVERS.add(server);
      Runtime.getRuntime().addShutdownHook(new Thread(server::close, "stop-test-postgres"));
    }
    return SERVERS.get(index);
  }

  /** A new, empty database on server {@code index}. */
  public static TestDatabase freshDatabase(int index) {
    PostgresServer server = server(index);
    String name = "test_" + DATABASES.incrementAndGet();
    try {
      server.createDatabase(name);
    } catch (SQLException e) {
      throw new IllegalStateException("could not create test database " + name, e);
    }
    return new TestDatabase(server, name);
  }

  public static TestDatabase freshDatabase() {
    return freshDatabase(0);
  }
}
