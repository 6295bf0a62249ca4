package io.pgtrickle.operator.engine;

import static io.pgtrickle.operator.engine.EngineTestSupport.OWNER;
import static io.pgtrickle.operator.engine.EngineTestSupport.refreshUntilExact;
import static org.assertj.core.api.Assertions.assertThat;

import io.pgtrickle.operator.api.RefreshMode;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The interleavings of issue 11 on the stand-in cluster, made deterministic: writes to both
 * "workers" (and to a coordinator dimension) committed after the slots were drained and before the
 * refresh's snapshot, so the tables a refresh reads are ahead of the changes it applies. Whatever
 * the refresh runs, nothing is applied twice or lost.
 */
class ScriptedInterleavingIT {
  private final AtomicInteger armed = new AtomicInteger();
  private final AtomicInteger rounds = new AtomicInteger();
  private ScriptedCluster cluster;
  private StreamTableEngine engine;

  @BeforeEach
  void setUp() throws Exception {
    cluster =
        ScriptedCluster.ofTwoWorkers(
            (step, connection) -> {
              // Once this refresh's drain has moved changes into the buffer (so it applies).
              if (step == Refresher.Step.DRAINED
                  && armed.get() > 0
                  && cluster.coordinator.queryLong(
                          "SELECT count(*) FROM " + cluster.orders.changeBufferQualified())
                      > 0) {
                armed.set(0);
                int n = 900 + rounds.incrementAndGet() * 10;
                cluster.write(1, n, 11); // a new row on each worker...
                cluster.write(2, n + 1, 12);
                cluster.run(2, "UPDATE orders SET amount = amount + 5 WHERE id = 1"); // ...a change
                cluster.coordinator.execute("UPDATE buckets SET label = 'x' || label WHERE b = 1");
              }
            },
            1,
            2);
    engine = cluster.engine;
    cluster.seedOrdersAndBuckets();
  }

  @AfterEach
  void dropEverything() throws Exception {
    cluster.dropEverything();
  }

  @Test
  void writesBetweenTheDrainAndADifferentialRefreshAreAppliedOnceLater() throws Exception {
    String query =
        "SELECT amount % 4 AS b, count(*) AS n, sum(amount) AS total FROM orders GROUP BY 1";
    engine.apply(ScriptedCluster.localDefinition("agg", query, RefreshMode.AUTO), OWNER);
    cluster.write(1, 500, 7);
    armed.set(1);
    cluster.awaitApplied("agg");
    assertThat(armed.get()).as("the writes were made mid-refresh").isZero();
    assertThat(cluster.lastMode("agg")).isEqualTo("DIFFERENTIAL");
    refreshUntilExact(engine, cluster.coordinator, "agg", query);
    assertThat(cluster.lastMode("agg")).isEqualTo("DIFFERENTIAL");
  }

  @Test
  void writesBetweenTheDrainAndAFullRefreshAreReadOnceByIt() throws Exception {
    String query =
        "SELECT amount % 4 AS b, count(*) AS n, sum(amount) AS total FROM orders GROUP BY 1";
    engine.apply(ScriptedCluster.localDefinition("agg", query, RefreshMode.AUTO), OWNER);
    for (int node = 1; node <= 2; node++) { // enough rows that updating all is a large change
      cluster.run(
          node,
          "INSERT INTO orders SELECT g, g % 50 FROM generate_series("
              + (node * 10_000)
              + ", "
              + (node * 10_000 + 199)
              + ") g");
    }
    refreshUntilExact(engine, cluster.coordinator, "agg", query);
    // Every row, on the logical table and on both workers: AUTO refreshes in full.
    cluster.coordinator.execute("UPDATE orders SET amount = amount + 1");
    for (var worker : cluster.workers) {
      worker.execute("SET synchronous_commit = on", "UPDATE orders SET amount = amount + 1");
    }
    armed.set(1);
    long deadline = System.nanoTime() + 10_000_000_000L;
    while (armed.get() > 0 && System.nanoTime() < deadline) {
      engine.refresh("public", "agg");
    }
    assertThat(armed.get()).as("the writes were made mid-refresh").isZero();
    assertThat(cluster.lastMode("agg")).as("the refresh the writes met").isEqualTo("FULL");
    cluster.write(1, 600, 3);
    refreshUntilExact(engine, cluster.coordinator, "agg", query);
    assertThat(cluster.lastMode("agg")).isEqualTo("DIFFERENTIAL");
  }

  @Test
  void aJoinWhoseDimensionAndFactChangeMidRefreshEndsExact() throws Exception {
    String join = "SELECT o.id, b.label FROM orders o JOIN buckets b ON b.b = o.amount % 5";
    engine.apply(ScriptedCluster.localDefinition("j", join, RefreshMode.AUTO), OWNER);
    cluster.write(2, 700, 21);
    armed.set(1);
    cluster.awaitApplied("j");
    refreshUntilExact(engine, cluster.coordinator, "j", join);
    // Behind the write barrier: the refresh that met the writes ran again behind it.
    assertThat(cluster.lastMode("j")).isEqualTo("DIFFERENTIAL");
  }
}
