package io.pgtrickle.operator.cli;

import io.pgtrickle.operator.api.CitusCluster;
import io.pgtrickle.operator.api.StreamTable;
import io.pgtrickle.operator.db.DatabaseTarget;
import io.pgtrickle.operator.engine.RefreshScheduler;
import io.pgtrickle.operator.local.LocalReconciler;
import io.pgtrickle.operator.local.ManifestException;
import io.pgtrickle.operator.local.ManifestReader;
import io.pgtrickle.operator.local.Manifests;
import io.pgtrickle.operator.local.StatusPrinter;
import io.pgtrickle.operator.local.TargetResolver;
import io.pgtrickle.operator.status.Conditions;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code local}: the operator's work without Kubernetes, from the same YAML resources. */
@Command(
    name = "local",
    mixinStandardHelpOptions = true,
    description = {
      "Reconciles CitusCluster, StreamTable and Secret resources from YAML files against a"
          + " database, then refreshes on schedule until interrupted.",
      "The database is --jdbc-url if given, else each StreamTable's CitusCluster, else (no"
          + " CitusCluster in the files) an embedded PostgreSQL. Without credentials in the URL,"
          + " PGUSER and PGPASSWORD are used."
    })
final class LocalCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(
      names = {"-f", "--filename"},
      required = true,
      paramLabel = "<file-or-dir>",
      description = "YAML file or directory of YAML files; repeatable")
  List<Path> paths;

  @Option(names = "--jdbc-url", description = "database to use; wins over CitusClusters")
  String jdbcUrl;

  @Option(
      names = "--once",
      description =
          "reconcile, refresh what has changes, print every status as YAML and exit: 0 if all"
              + " resources are Ready, 1 otherwise")
  boolean once;

  @Option(
      names = "--prune",
      description =
          "drop the stream tables local mode declared earlier in the database (--jdbc-url, or"
              + " the CitusClusters') that are no longer in the files; needs one of them")
  boolean prune;

  @Override
  public Integer call() throws IOException, InterruptedException {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    ManifestReader reader = new ManifestReader();
    Manifests manifests;
    try {
      manifests = reader.read(paths); // every file, before any database is touched
    } catch (ManifestException e) {
      err.println("error: " + e.getMessage());
      return CommandLine.ExitCode.USAGE;
    }
    reader.skipped().forEach(s -> err.println("warning: skipped " + s));
    if (prune && jdbcUrl == null && manifests.clusters().isEmpty()) {
      err.println(
          "error: --prune needs the database to prune: give --jdbc-url or a CitusCluster in the"
              + " files (without either, local mode uses a throw-away embedded PostgreSQL)");
      return CommandLine.ExitCode.USAGE;
    }
    try (TargetResolver targets =
        new TargetResolver(
            manifests, Optional.ofNullable(jdbcUrl), System.getenv(), DatabaseTarget::embedded)) {
      LocalReconciler reconciler = new LocalReconciler(manifests, targets, Clock.systemUTC());
      reconciler.reconcileClusters();
      reconciler.reconcileStreamTables(prune);
      if (!reconciler.refusals().isEmpty()) {
        printStatuses(manifests, reconciler, out);
        reconciler.refusals().forEach(r -> err.println("error: " + r));
        return 1;
      }
      if (once) {
        reconciler.refreshAll();
        return printStatuses(manifests, reconciler, out) ? 0 : 1;
      }
      printStatuses(manifests, reconciler, out);
      runUntilInterrupted(reconciler, err);
      printStatuses(manifests, reconciler, out);
      return 0;
    }
  }

  private static void runUntilInterrupted(LocalReconciler reconciler, PrintWriter err)
      throws InterruptedException {
    CountDownLatch stop = new CountDownLatch(1);
    CountDownLatch stopped = new CountDownLatch(1);
    Thread hook =
        new Thread(
            () -> {
              stop.countDown();
              try {
                stopped.await(30, TimeUnit.SECONDS);
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            },
            "local-mode-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    try (RefreshScheduler scheduler = new RefreshScheduler(2, reconciler)) {
      reconciler.scheduleAll(scheduler);
      err.println("refreshing on schedule; press Ctrl-C to stop");
      err.flush();
      stop.await();
    } finally {
      stopped.countDown();
    }
  }

  private static boolean printStatuses(
      Manifests manifests, LocalReconciler reconciler, PrintWriter out) {
    StatusPrinter printer = new StatusPrinter(out);
    boolean allReady = true;
    for (CitusCluster cluster : manifests.clusters()) {
      printer.print(cluster, cluster.getStatus());
      allReady &= Conditions.isTrue(cluster.getStatus().getConditions(), Conditions.READY);
    }
    for (StreamTable streamTable : manifests.streamTables()) {
      printer.print(streamTable, reconciler.status(streamTable));
      allReady &= reconciler.isHealthy(streamTable);
    }
    return allReady;
  }
}
