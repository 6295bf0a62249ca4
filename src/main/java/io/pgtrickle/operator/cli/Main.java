package io.pgtrickle.operator.cli;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of {@code pg-trickle-operator.jar}. */
@Command(
    name = "pg-trickle-operator",
    mixinStandardHelpOptions = true,
    versionProvider = VersionProvider.class,
    description = "Incrementally maintained stream tables on PostgreSQL and Citus.",
    subcommands = {
      NamesCommand.class,
      LocalCommand.class,
      AdoptCommand.class,
      ReleaseCommand.class,
      DemoCommand.class,
      OperatorCommand.class
    })
public final class Main implements Runnable {
  private static final Logger LOG = LoggerFactory.getLogger(Main.class);

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** Runs the CLI and returns its exit code: 0 success, 1 failure, 2 bad usage. */
  public static int run(String... args) {
    return new CommandLine(new Main())
        .setExecutionExceptionHandler(
            (e, commandLine, parseResult) -> {
              commandLine.getErr().println("error: " + describe(e));
              LOG.debug("command failed", e);
              return 1;
            })
        .execute(args);
  }

  /** The message, or the exception's type where it has none (a bug, not a user error). */
  private static String describe(Exception e) {
    return e.getMessage() == null ? e.toString() : e.getMessage();
  }

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "a command is required");
  }
}
