package io.pgtrickle.operator.cli;

import io.pgtrickle.operator.adopt.Adoption;
import io.pgtrickle.operator.adopt.AdoptionException;
import io.pgtrickle.operator.adopt.AdoptionReport;
import io.pgtrickle.operator.db.DatabaseTarget;
import java.io.PrintWriter;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code adopt}: the explicit opt-in to take over a database that holds the upstream pg_trickle
 * extension (up to 0.31), which the operator and local mode otherwise refuse. Safe to run again: a
 * run that stopped half-way is finished, a finished one changes nothing.
 */
@Command(
    name = "adopt",
    mixinStandardHelpOptions = true,
    description = {
      "Adopts an install of the upstream pg_trickle extension (<= 0.31, objects named after"
          + " OIDs): parks its catalog in schema pgtrickle_upstream, moves each source's capture"
          + " to stable names with its pending changes, hands its replication slots over and"
          + " registers its stream tables (re-synced once in full). See docs/upgrade.md.",
      "Without credentials in the URL, PGUSER and PGPASSWORD are used. Exit code 0 when"
          + " everything was adopted, 1 otherwise (the reason on stderr)."
    })
final class AdoptCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(names = "--jdbc-url", required = true, description = "the database to adopt")
  String jdbcUrl;

  @Override
  public Integer call() {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    try (DatabaseTarget target = DatabaseTarget.fromCommandLine(jdbcUrl, System.getenv())) {
      AdoptionReport report = new Adoption(target.dataSource(), target.engine(Map.of())).adopt();
      report.lines().forEach(out::println);
      out.flush();
      if (!report.keptByOid().isEmpty() || !report.notAdopted().isEmpty()) {
        err.println("error: the adoption is not complete; see above, fix it and run adopt again");
        return 1;
      }
      return 0;
    } catch (AdoptionException e) {
      err.println("error: " + e.getMessage());
      return 1;
    }
  }
}
