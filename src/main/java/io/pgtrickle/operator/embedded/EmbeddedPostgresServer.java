package io.pgtrickle.operator.embedded;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.Map;

/**
 * A throw-away PostgreSQL server from the binaries zonky ships on Maven Central, with logical
 * decoding on. Used by the demo, by local mode without a database, and by the tests. zonky runs the
 * server in a user namespace when the JVM runs as root, which PostgreSQL would otherwise refuse.
 */
public final class EmbeddedPostgresServer implements PostgresServer {
  /** Server settings every embedded server gets: what logical capture and our tests need. */
  public static final Map<String, String> SETTINGS =
      Map.of(
          "wal_level", "logical",
          "max_replication_slots", "32",
          "max_wal_senders", "32",
          "listen_addresses", "127.0.0.1",
          "fsync", "off",
          "synchronous_commit", "off",
          "full_page_writes", "off");

  private final EmbeddedPostgres postgres;

  private EmbeddedPostgresServer(EmbeddedPostgres postgres) {
    this.postgres = postgres;
  }

  public static EmbeddedPostgresServer start() {
    return start(Map.of());
  }

  /** Starts a server with {@link #SETTINGS} plus, overriding them, {@code extraSettings}. */
  public static EmbeddedPostgresServer start(Map<String, String> extraSettings) {
    return start(EmbeddedPostgres.builder(), extraSettings);
  }

  /**
   * As {@link #start()}, with its data in {@code dataDirectory} (new and empty), which {@link
   * #close} stops the server in but leaves for the caller to remove: a data directory of hundreds
   * of databases takes longer to delete than a test JVM is given to exit.
   */
  public static EmbeddedPostgresServer startLeavingData(java.nio.file.Path dataDirectory) {
    return start(
        EmbeddedPostgres.builder().setDataDirectory(dataDirectory).setCleanDataDirectory(false),
        Map.of());
  }

  private static EmbeddedPostgresServer start(
      EmbeddedPostgres.Builder builder, Map<String, String> extraSettings) {
    builder.setPGStartupWait(Duration.ofSeconds(60));
    SETTINGS.forEach(builder::setServerConfig);
    extraSettings.forEach(builder::setServerConfig);
    try {
      return new EmbeddedPostgresServer(builder.start());
    } catch (IOException e) {
      throw new UncheckedIOException("could not start an embedded PostgreSQL server", e);
    }
  }

  @Override
  public int port() {
    return postgres.getPort();
  }

  @Override
  public void close() {
    try {
      postgres.close();
    } catch (IOException e) {
      throw new UncheckedIOException("could not stop the embedded PostgreSQL server", e);
    }
  }
}
