package io.pgtrickle.operator.testing;

import io.pgtrickle.operator.embedded.EmbeddedPostgresServer;
import io.pgtrickle.operator.embedded.PostgresServer;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * An embedded server that can really be stopped and started again on the same port and data
 * directory, for tests of a node that goes down and comes back with its replication slots.
 */
public final class RestartablePostgresServer implements PostgresServer {
  private final Path dataDirectory;
  private final int port;
  private EmbeddedPostgres running;

  private RestartablePostgresServer(Path dataDirectory, int port) {
    this.dataDirectory = dataDirectory;
    this.port = port;
  }

  public static RestartablePostgresServer start() {
    try {
      int port;
      try (ServerSocket socket = new ServerSocket(0)) {
        port = socket.getLocalPort();
      }
      RestartablePostgresServer server =
          new RestartablePostgresServer(Files.createTempDirectory("pgtrickle-restartable-"), port);
      server.startAgain();
      return server;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Stops the server (a fast shutdown: sessions are cut, the data stays). */
  public synchronized void stop() {
    try {
      running.close();
      running = null;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public synchronized boolean isRunning() {
    return running != null;
  }

  /** Starts it again on the same port and data directory. */
  public synchronized void startAgain() {
    EmbeddedPostgres.Builder builder =
        EmbeddedPostgres.builder()
            .setPGStartupWait(Duration.ofSeconds(60))
            .setDataDirectory(dataDirectory)
            .setCleanDataDirectory(false)
            .setPort(port);
    EmbeddedPostgresServer.SETTINGS.forEach(builder::setServerConfig);
    try {
      running = builder.start();
    } catch (IOException e) {
      throw new UncheckedIOException("could not start an embedded PostgreSQL server", e);
    }
  }

  @Override
  public int port() {
    return port;
  }

  @Override
  public synchronized void close() {
    if (running != null) {
      stop();
    }
    try (var paths = Files.walk(dataDirectory)) {
      for (Path path : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(path);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
