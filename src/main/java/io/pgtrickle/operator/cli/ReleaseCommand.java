package io.pgtrickle.operator.cli;

import io.pgtrickle.operator.adopt.AdoptionException;
import io.pgtrickle.operator.adopt.Release;
import io.pgtrickle.operator.db.DatabaseTarget;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code release}: undoes {@code adopt}, giving the database back to the upstream extension. */
@Command(
    name = "release",
    mixinStandardHelpOptions = true,
    description = {
      "Undoes adopt: the upstream pg_trickle extension's catalog, buffers, triggers, storage"
          + " tables and slots are back under their OID names, its stream tables refilled with"
          + " their query's result, their frontiers at the release and marked needs_reinit (the"
          + " upstream rebuilds its hidden columns on its next cycle); our catalog and capture"
          + " are dropped. Refused, changing nothing, while stream tables made after the"
          + " adoption exist or a storage table cannot be refilled. See docs/upgrade.md.",
      "Without credentials in the URL, PGUSER and PGPASSWORD are used. Exit code 0 on success,"
          + " 1 otherwise (the reason on stderr)."
    })
final class ReleaseCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(names = "--jdbc-url", required = true, description = "the database to release")
  String jdbcUrl;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    try (DatabaseTarget target = DatabaseTarget.fromCommandLine(jdbcUrl, System.getenv())) {
      new Release(target.dataSource()).release().forEach(out::println);
      return 0;
    } catch (AdoptionException e) {
      err.println("error: " + e.getMessage());
      return 1;
    }
  }
}
