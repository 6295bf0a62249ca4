package io.pgtrickle.operator.engine;

import static io.pgtrickle.operator.engine.EngineTestSupport.OWNER;
import static io.pgtrickle.operator.engine.EngineTestSupport.refreshUntilExact;
import static io.pgtrickle.operator.testing.StreamTableAssertions.assertMatchesQuery;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgtrickle.operator.api.RefreshMode;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Differential refresh over a "distributed" source on two plain PostgreSQL workers (the scripted
 * topology of the Citus capture tests): each worker's changes arrive through its own slot, with its
 * own frontier, and no snapshot spans the nodes. Forms that read the change alone run DIFFERENTIAL
 * while both workers write; joins refresh in full and say why.
 */
class ScriptedCitusDifferentialIT {
  private ScriptedCluster cluster;
  private StreamTableEngine engine;

  @BeforeEach
  void setUp() throws Exception {
    cluster = ScriptedCluster.ofTwoWorkers(1, 2);
    engine = cluster.engine;
    cluster.seedOrdersAndBuckets();
  }

  @AfterEach
  void dropEverything() throws Exception {
    cluster.dropEverything();
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "SELECT id, amount FROM orders WHERE amount % 2 = 0",
        "SELECT amount % 5 AS bucket, count(*) AS n, sum(amount) AS total, avg(amount) AS mean"
            + " FROM orders GROUP BY amount % 5",
        "SELECT count(*) AS n, sum(amount) AS total FROM orders",
        "SELECT amount % 3 AS r, count(DISTINCT amount % 7) AS d FROM orders GROUP BY 1",
        "SELECT id FROM orders WHERE amount > 50 UNION ALL SELECT id FROM orders WHERE amount < 9"
      })
  void changesFromBothWorkersApplyDifferentiallyWhileBothWrite(String query) throws Exception {
    engine.apply(ScriptedCluster.localDefinition("st", query, RefreshMode.DIFFERENTIAL), OWNER);
    AtomicBoolean stop = new AtomicBoolean();
    ExecutorService writers = Executors.newFixedThreadPool(2);
    List<Future<Integer>> writes =
        List.of(writers.submit(() -> write(1, stop)), writers.submit(() -> write(2, stop)));
    int differential = 0;
    for (int i = 0; i < 12; i++) {
      if (engine.refresh("public", "st").kind() == RefreshOutcome.Kind.APPLIED
          && "DIFFERENTIAL".equals(cluster.lastMode("st"))) {
        differential++;
      }
    }
    stop.set(true);
    for (Future<Integer> w : writes) {
      assertThat(w.get()).isPositive();
    }
    writers.shutdown();
    refreshUntilExact(engine, cluster.coordinator, "st", query);
    assertThat(differential).as("refreshes that ran DIFFERENTIAL").isPositive();
    assertThat(cluster.lastMode("st")).isEqualTo("DIFFERENTIAL");
    assertThat(cluster.frontierPerNode()).contains("\"1\"").contains("\"2\"");
  }

  /**
   * A shard moves between refreshes, after a write its old node's slot captured: the refresh that
   * notices re-syncs in full (the buffer alone cannot be trusted across a move), the ones after it
   * are differential again, reading the new node's slot.
   */
  @Test
  void aShardMoveResyncsInFullThenRefreshesDifferentiallyAgain() throws Exception {
    String query =
        "SELECT amount % 4 AS b, count(*) AS n, sum(amount) AS total FROM orders GROUP BY 1";
    engine.apply(ScriptedCluster.localDefinition("moved", query, RefreshMode.AUTO), OWNER);
    cluster.write(2, 501, 7);
    cluster.awaitApplied("moved");
    assertThat(cluster.lastMode("moved")).isEqualTo("DIFFERENTIAL");

    cluster.run(2, "UPDATE orders SET amount = amount + 100 WHERE id = 501");
    cluster.topology.place(102, 1); // the rebalancer moved node 2's shard to node 1
    assertThat(engine.refresh("public", "moved").kind()).isEqualTo(RefreshOutcome.Kind.APPLIED);
    assertThat(cluster.lastMode("moved")).isEqualTo("FULL");
    assertMatchesQuery(cluster.coordinator, "moved", query);

    cluster.write(1, 502, 9);
    cluster.awaitApplied("moved");
    assertMatchesQuery(cluster.coordinator, "moved", query);
    assertThat(cluster.lastMode("moved")).isEqualTo("DIFFERENTIAL");
  }

  @Test
  void anInnerJoinRunsDifferentialBehindTheBarrierAndAnOuterJoinInFull() throws Exception {
    String join = "SELECT o.id, b.label FROM orders o JOIN buckets b ON b.b = o.amount % 5";
    engine.apply(ScriptedCluster.localDefinition("j", join, RefreshMode.DIFFERENTIAL), OWNER);
    // The dimension changes (trigger-captured, seen at once) and a worker writes.
    cluster.coordinator.execute("UPDATE buckets SET label = 'renamed' WHERE b = 3");
    cluster.write(2, 500, 13);
    refreshUntilExact(engine, cluster.coordinator, "j", join);
    assertThat(cluster.lastMode("j")).isEqualTo("DIFFERENTIAL");

    String outer = "SELECT o.id, b.label FROM orders o LEFT JOIN buckets b ON b.b = o.amount % 5";
    assertThatThrownBy(
            () ->
                engine.apply(
                    ScriptedCluster.localDefinition("lj", outer, RefreshMode.DIFFERENTIAL), OWNER))
        .isInstanceOfSatisfying(
            EngineException.class, e -> assertThat(e.reason()).isEqualTo(Reason.InvalidSpec))
        .hasMessageContaining("outer joins");
    engine.apply(ScriptedCluster.localDefinition("lj", outer, RefreshMode.AUTO), OWNER);
    cluster.coordinator.execute("UPDATE buckets SET label = 'again' WHERE b = 3");
    cluster.write(1, 501, 8);
    refreshUntilExact(engine, cluster.coordinator, "lj", outer);
    assertThat(cluster.lastMode("lj")).isEqualTo("FULL");
  }

  /**
   * A min/max scalar subquery over a coordinator table, correlated with a distributed one: as on
   * one server, differential for the distributed table's changes (the subquery read as written); a
   * refresh in which the subquery's table changed runs FULL, since its joined form, a grouped block
   * in FROM, is not differential over Citus sources (it is on one server).
   */
  @Test
  void aMinMaxSubqueryOverCitusSourcesStaysDifferentialForTheOtherTablesChanges() throws Exception {
    String query =
        "SELECT o.id, o.amount FROM orders o WHERE o.amount > (SELECT min(b.b) FROM buckets b"
            + " WHERE b.label = 'b' || (o.id % 5))";
    engine.apply(ScriptedCluster.localDefinition("mm", query, RefreshMode.DIFFERENTIAL), OWNER);
    cluster.write(2, 500, 13);
    cluster.write(1, 501, 2);
    refreshUntilExact(engine, cluster.coordinator, "mm", query);
    assertThat(cluster.lastMode("mm")).isEqualTo("DIFFERENTIAL");

    cluster.coordinator.execute("UPDATE buckets SET b = b + 10 WHERE b = 1");
    refreshUntilExact(engine, cluster.coordinator, "mm", query);
    assertThat(cluster.lastMode("mm")).isEqualTo("FULL");
  }

  /**
   * Inserts, updates (key and value) and deletes on worker {@code node}'s rows, until stopped (at
   * most 150 rounds). Ids are the node's own, so the two writers never touch the same row.
   */
  private int write(int node, AtomicBoolean stop) throws Exception {
    int n = 0;
    while (!stop.get() && n < 150) {
      int id = 1000 * node + n;
      cluster.run(node, "INSERT INTO orders VALUES (" + id + ", " + (n * 7 % 61) + ")");
      cluster.run(node, "UPDATE orders SET amount = amount + 1 WHERE id = " + (id - 3));
      cluster.run(node, "DELETE FROM orders WHERE id = " + (id - 5));
      n++;
    }
    return n;
  }
}
