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
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;

/**
 * A PostgreSQL installation with the programs zonky's embedded bundles lack: they hold only initdb,
 * pg_ctl and postgres, so pg_dump, pg_restore and pg_upgrade must come from elsewhere. Found in
 * {@code PGTRICKLE_TEST_PG_BINDIR} (or the system property {@code pgtrickle.test.pgBinDir}), else
 * in the newest {@code /usr/lib/postgresql/<major>/bin} (Debian's layout) that has them. A test
 * that needs it is skipped, with that reason, where there is none. Servers for such a test are
 * started from the same installation: pg_dump refuses a server newer than itself.
 *
 * <p>A major-upgrade test also needs a <em>newer</em> installation, to upgrade to with its own
 * pg_dump and pg_restore or pg_upgrade (PostgreSQL wants the new version's): {@code
 * PGTRICKLE_TEST_PG_NEW_BINDIR} (or {@code pgtrickle.test.pgNewBinDir}). It is not searched for:
 * Debian 12 has no PostgreSQL newer than 15, and zonky's bundles no client programs.
 */
public record PgTools(Path binDir) {
  private static final List<String> NEEDED =
      List.of("pg_dump", "pg_restore", "initdb", "pg_ctl", "postgres");

  public static Optional<PgTools> find() {
    Optional<String> configured = configured("pgtrickle.test.pgBinDir", "PGTRICKLE_TEST_PG_BINDIR");
    if (configured.isPresent()) {
      return configured.map(PgTools::at).filter(PgTools::complete);
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

  /**
   * The newer installation ({@code PGTRICKLE_TEST_PG_NEW_BINDIR}), of a newer major than {@code
   * older} and with {@code programs} besides the usual ones; or the test is skipped saying what to
   * set.
   */
  public static PgTools requireNewerThan(PgTools older, String... programs) {
    List<String> needed = new ArrayList<>(NEEDED);
    needed.addAll(List.of(programs));
    String want =
        "needs a PostgreSQL installation of a newer major than "
            + older.binDir
            + " (PostgreSQL "
            + older.major()
            + ") with "
            + String.join(", ", needed)
            + ": set PGTRICKLE_TEST_PG_NEW_BINDIR (or -Dpgtrickle.test.pgNewBinDir) to its bin"
            + " directory";
    Optional<PgTools> configured =
        configured("pgtrickle.test.pgNewBinDir", "PGTRICKLE_TEST_PG_NEW_BINDIR").map(PgTools::at);
    Assumptions.assumeTrue(configured.isPresent(), want + " (it is not set)");
    PgTools newer = configured.orElseThrow();
    List<String> missing = needed.stream().filter(p -> !newer.has(p)).toList();
    Assumptions.assumeTrue(
        missing.isEmpty(), want + " (" + newer.binDir + " lacks " + missing + ")");
    int major = newer.major();
    Assumptions.assumeTrue(
        major > older.major(), want + " (" + newer.binDir + " is PostgreSQL " + major + ")");
    return newer;
  }

  private static Optional<String> configured(String property, String variable) {
    return Optional.ofNullable(System.getProperty(property))
        .or(() -> Optional.ofNullable(System.getenv(variable)))
        .filter(value -> !value.isBlank());
  }

  private static PgTools at(String binDir) {
    return new PgTools(Path.of(binDir));
  }

  /** The installation's major version, from {@code pg_dump --version}. */
  public int major() {
    String version = output(List.of(binDir.resolve("pg_dump").toString(), "--version"));
    Matcher matcher = Pattern.compile("\\(PostgreSQL\\) (\\d+)").matcher(version);
    if (!matcher.find()) {
      throw new IllegalStateException("no version in: " + version);
    }
    return Integer.parseInt(matcher.group(1));
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

  /** A new cluster after pg_upgrade, started, and what pg_upgrade printed. */
  public record Upgraded(PostgresServer server, String output) {}

  /**
   * pg_upgrade, this installation's, of {@code old}, a server of an older installation's {@link
   * #startServer}: stops it cleanly (pg_upgrade wants that), makes a new cluster with this
   * installation's initdb and the embedded servers' settings, upgrades into it in copy mode (the
   * old cluster stays as it was), and starts it.
   */
  public Upgraded upgrade(PostgresServer old) {
    if (!(old instanceof InstalledPostgresServer oldCluster)) {
      throw new IllegalArgumentException("not a server of an installation: " + old);
    }
    oldCluster.stop();
    InstalledPostgresServer newCluster =
        InstalledPostgresServer.initialize(binDir, EmbeddedPostgresServer.SETTINGS);
    Path work = null;
    try {
      // Its working directory: its temporary servers' sockets and the scripts it leaves.
      work = Files.createTempDirectory("pgtrickle-upgrade-");
      String output =
          InstalledPostgresServer.runAsServerUser(
              List.of(
                  binDir.resolve("pg_upgrade").toString(),
                  "--old-bindir=" + oldCluster.binDir(),
                  "--new-bindir=" + binDir,
                  "--old-datadir=" + oldCluster.dataDir(),
                  "--new-datadir=" + newCluster.dataDir(),
                  "--username=" + PostgresServer.SUPERUSER,
                  "--socketdir=" + work),
              work);
      newCluster.startAgain();
      return new Upgraded(newCluster, output);
    } catch (IOException e) {
      newCluster.close();
      throw new UncheckedIOException(e);
    } catch (RuntimeException e) {
      newCluster.close();
      throw e;
    } finally {
      if (work != null) {
        InstalledPostgresServer.deleteRecursively(work);
      }
    }
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
    output(command);
  }

  private static String output(List<String> command) {
    try {
      Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
      String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!process.waitFor(120, TimeUnit.SECONDS) || process.exitValue() != 0) {
        throw new IllegalStateException(command + " failed:\n" + output);
      }
      return output;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
