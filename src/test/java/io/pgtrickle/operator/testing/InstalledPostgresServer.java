package io.pgtrickle.operator.testing;

import io.pgtrickle.operator.embedded.PostgresServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A server started from a PostgreSQL installation's bin directory (e.g. one with Citus built in).
 * Written here because zonky only starts the binaries it packages. As root it runs the server under
 * {@code unshare -U}, as zonky does, since PostgreSQL refuses to run as root.
 */
final class InstalledPostgresServer implements PostgresServer {
  private final Path binDir;
  private final Path dataDir;
  private final int port;

  private InstalledPostgresServer(Path binDir, Path dataDir, int port) {
    this.binDir = binDir;
    this.dataDir = dataDir;
    this.port = port;
  }

  static InstalledPostgresServer start(Path binDir, Map<String, String> settings) {
    InstalledPostgresServer server = initialize(binDir, settings);
    server.startAgain();
    return server;
  }

  /** A new cluster (initdb) with {@code settings}, not started. */
  static InstalledPostgresServer initialize(Path binDir, Map<String, String> settings) {
    try {
      Path dataDir = Files.createTempDirectory("pgtrickle-pg-");
      int port = freePort();
      InstalledPostgresServer server = new InstalledPostgresServer(binDir, dataDir, port);
      server.run("initdb", "-D", dataDir.toString(), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8");
      StringBuilder conf = new StringBuilder("\n");
      conf.append("port = ").append(port).append('\n');
      conf.append("listen_addresses = '127.0.0.1'\n");
      conf.append("unix_socket_directories = '").append(dataDir).append("'\n");
      settings.forEach((k, v) -> conf.append(k).append(" = '").append(v).append("'\n"));
      Files.writeString(
          dataDir.resolve("postgresql.conf"),
          conf.toString(),
          StandardCharsets.UTF_8,
          StandardOpenOption.APPEND);
      return server;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Starts the cluster (again), on its data directory and port. */
  void startAgain() {
    run(
        "pg_ctl",
        "-D",
        dataDir.toString(),
        "-l",
        dataDir.resolve("server.log").toString(),
        "-w",
        "-t",
        "60",
        "start");
  }

  /** A clean shutdown that keeps the data, as before a pg_upgrade. */
  void stop() {
    run("pg_ctl", "-D", dataDir.toString(), "-m", "fast", "-w", "stop");
  }

  Path binDir() {
    return binDir;
  }

  Path dataDir() {
    return dataDir;
  }

  @Override
  public int port() {
    return port;
  }

  @Override
  public void close() {
    try {
      if (Files.exists(dataDir.resolve("postmaster.pid"))) {
        run("pg_ctl", "-D", dataDir.toString(), "-m", "immediate", "-w", "stop");
      }
    } finally {
      deleteRecursively(dataDir);
    }
  }

  private void run(String program, String... args) {
    List<String> command = new ArrayList<>();
    command.add(binDir.resolve(program).toString());
    command.addAll(List.of(args));
    runAsServerUser(command, dataDir.getParent());
  }

  /**
   * Runs a server program; as root under {@code unshare -U}, as PostgreSQL's programs refuse root.
   * The locale is fixed, as pg_upgrade wants the same one for both clusters.
   */
  static String runAsServerUser(List<String> program, Path workingDirectory) {
    List<String> command = new ArrayList<>();
    if ("root".equals(System.getProperty("user.name"))) {
      command.add("unshare");
      command.add("-U");
    }
    command.addAll(program);
    try {
      ProcessBuilder builder =
          new ProcessBuilder(command)
              .directory(workingDirectory.toFile())
              .redirectErrorStream(true);
      builder.environment().put("LC_ALL", "C.UTF-8");
      Process process = builder.start();
      String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!process.waitFor(300, TimeUnit.SECONDS) || process.exitValue() != 0) {
        throw new IllegalStateException(
            String.format(Locale.ROOT, "%s failed:%n%s", command, output));
      }
      return output;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static int freePort() throws IOException {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }

  static void deleteRecursively(Path root) {
    try (Stream<Path> paths = Files.walk(root)) {
      for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(path);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
