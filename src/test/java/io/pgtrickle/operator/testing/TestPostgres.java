package io.pgtrickle.operator.testing;

import io.pgtrickle.operator.embedded.EmbeddedPostgresServer;
import io.pgtrickle.operator.embedded.PostgresServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
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
      Path data = dataDirectory();
      EmbeddedPostgresServer server = EmbeddedPostgresServer.startLeavingData(data);
      SERVERS.add(server);
      Runtime.getRuntime()
          .addShutdownHook(
              new Thread(
                  () -> {
                    server.close();
                    removeLater(data);
                  },
                  "stop-test-postgres"));
    }
    return SERVERS.get(index);
  }

  private static Path dataDirectory() {
    try {
      return Files.createTempDirectory("pgtrickle-test-pg");
    } catch (IOException e) {
      throw new UncheckedIOException("could not make a data directory", e);
    }
  }

  /**
   * Removes a stopped server's data directory in a process of its own, which outlives the JVM: the
   * hundreds of databases of a test run are ~100k files, longer to delete than Maven gives a test
   * JVM to exit (it is then killed, and the directory was left behind in the temp directory).
   */
  private static void removeLater(Path data) {
    try {
      new ProcessBuilder("rm", "-rf", data.toString())
          .redirectOutput(ProcessBuilder.Redirect.DISCARD)
          .redirectError(ProcessBuilder.Redirect.DISCARD)
          .start();
    } catch (IOException e) {
      // No rm (not a Unix-like system): the directory stays, as it did before.
      System.err.println("could not remove " + data + ": " + e.getMessage());
    }
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
