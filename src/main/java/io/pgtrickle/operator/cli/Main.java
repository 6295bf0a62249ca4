package io.pgtrickle.operator.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of {@code pg-trickle-operator.jar}. */
@Command(
    name = "pg-trickle-operator",
    mixinStandardHelpOptions = true,
    versionProvider = VersionProvider.class,
    description = "Incrementally maintained stream tables on PostgreSQL and Citus.",
    subcommands = {NamesCommand.class})
public final class Main implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** Runs the CLI and returns its exit code: 0 success, 1 failure, 2 bad usage. */
  public static int run(String... args) {
    return new CommandLine(new Main())
        .setExecutionExceptionHandler(
            (e, commandLine, parseResult) -> {
              commandLine.getErr().println("error: " + e.getMessage());
              return 1;
            })
        .execute(args);
  }

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "a command is required");
  }
}
