package io.pgtrickle.operator.testing;

import io.pgtrickle.operator.embedded.EmbeddedPostgresServer;
import io.pgtrickle.operator.embedded.PostgresServer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;

/**
 * A PostgreSQL installation with the programs zonky's embedded bundles lack: they hold only initdb,
 * pg_ctl and postgres, so pg_dump, pg_restore and pg_upgrade must come from elsewhere. Found in
 * {@code PGTRICKLE_TEST_PG_BINDIR} (or the system property {@code pgtrickle.test.pgBinDir}), else
 * in the newest {@code /usr/lib/postgresql/<major>/bin} (Debian's layout) that has them. A test
 * that needs it is skipped, with that reason, where there is none. Servers for such a test are
 * started from the same installation: pg_dump refuses a server newer than itself.
 */
public record PgTools(Path binDir) {
  private static final List<String> NEEDED =
      List.of("pg_dump", "pg_restore", "initdb", "pg_ctl", "postgres");

  public static Optional<PgTools> find() {
    String configured =
        Optional.ofNullable(System.getProperty("pgtrickle.test.pgBinDir"))
            .orElse(System.getenv("PGTRICKLE_TEST_PG_BINDIR"));
    if (configured != null && !configured.isBlank()) {
      return Optional.of(new PgTools(Path.of(configured))).filter(PgTools::complete);
    }
    Path debian = Path.of("/usr/lib/postgresql");
    if (!Files.isDirectory(debian)) {
      return Optional.empty();
    }
    try (Stream<Path> versions = Files.list(debian)) {
      return versions
          .filter(p -> p.getFileName().toString().matches("\\d+"))
          .sorted(Comparator.comparing((Path p) -> Integer.parseInt(p.getFileName().toString())))
          .map(p -> new PgTools(p.resolve("bin")))
          .filter(PgTools::complete)
          .reduce((first, second) -> second);
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  /** The installation, or the test is skipped (JUnit assumption) saying why. */
  public static PgTools require() {
    Optional<PgTools> found = find();
    Assumptions.assumeTrue(
        found.isPresent(),
        "needs pg_dump, pg_restore and a server of the same installation, which zonky's embedded"
            + " bundles lack: set PGTRICKLE_TEST_PG_BINDIR to a PostgreSQL bin directory (none"
            + " found under /usr/lib/postgresql either)");
    return found.orElseThrow();
  }

  public boolean has(String program) {
    return Files.isExecutable(binDir.resolve(program));
  }

  private boolean complete() {
    return NEEDED.stream().allMatch(this::has);
  }

  /** A new server of this installation with the embedded servers' settings (logical WAL, ...). */
  public PostgresServer startServer() {
    return InstalledPostgresServer.start(binDir, EmbeddedPostgresServer.SETTINGS);
  }

  /** pg_dump in the custom format into {@code file}, with {@code options} added. */
  public void dump(TestDatabase db, Path file, String... options) {
    List<String> command = connection("pg_dump", db);
    command.addAll(List.of("-Fc", "-f", file.toString()));
    command.addAll(List.of(options));
    run(command);
  }

  /** pg_restore of {@code file} into {@code target}, with {@code options} added. */
  public void restore(Path file, TestDatabase target, String... options) {
    List<String> command = connection("pg_restore", target);
    command.add("--exit-on-error");
    command.addAll(List.of(options));
    command.add(file.toString());
    run(command);
  }

  /**
   * pg_restore that goes on past errors, as a DBA restoring part of a dump sees it; returns its
   * exit code and output.
   */
  public String restoreGoingOn(Path file, TestDatabase target, String... options) {
    List<String> command = connection("pg_restore", target);
    command.addAll(List.of(options));
    command.add(file.toString());
    try {
      Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
      String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!process.waitFor(120, TimeUnit.SECONDS)) {
        throw new IllegalStateException(command + " did not finish:\n" + output);
      }
      return "exit " + process.exitValue() + "\n" + output;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private List<String> connection(String program, TestDatabase db) {
    List<String> command = new ArrayList<>();
    command.add(binDir.resolve(program).toString());
    command.addAll(
        List.of(
            "-h",
            "127.0.0.1",
            "-p",
            Integer.toString(db.server().port()),
            "-U",
            PostgresServer.SUPERUSER,
            "-d",
            db.name()));
    return command;
  }

  private static void run(List<String> command) {
    try {
      Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
      String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!process.waitFor(120, TimeUnit.SECONDS) || process.exitValue() != 0) {
        throw new IllegalStateException(command + " failed:\n" + output);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
