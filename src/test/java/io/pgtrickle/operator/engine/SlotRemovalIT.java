package io.pgtrickle.operator.engine;

import static io.pgtrickle.operator.engine.EngineTestSupport.OWNER;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgtrickle.operator.api.PlacementMode;
import io.pgtrickle.operator.api.StreamTableSpec;
import io.pgtrickle.operator.testing.RestartablePostgresServer;
import io.pgtrickle.operator.testing.TestPostgres;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A worker's slot is removed, or the change waits for the worker, when a stream table stops reading
 * a source whose current topology no longer names that worker: the source undistributed (its data
 * back on the coordinator) after the recorded topology was forgotten by a server move, or a query
 * change taking the source out. On plain PostgreSQL with a scripted topology and a worker that is
 * really stopped.
 */
class SlotRemovalIT {
  private static final String TOTALS = "SELECT count(*) AS n, sum(amount) AS total FROM orders";

  private RestartablePostgresServer worker;
  private ScriptedCluster cluster;

  @BeforeEach
  void setUp() throws Exception {
    worker = RestartablePostgresServer.start();
    cluster = new ScriptedCluster(TestPostgres.server(0), List.of(worker));
    cluster.topology.place(101, 1);
    cluster.coordinator.execute("CREATE TABLE notes (id int PRIMARY KEY)");
    StreamTableSpec totals = EngineTestSupport.spec("order_totals", TOTALS);
    totals.setPlacement(PlacementMode.LOCAL); // auto would distribute it, which needs Citus
    cluster.engine.apply(StreamTableDefinition.from(totals), OWNER);
    assertThat(cluster.slots(cluster.workers.get(0))).isEqualTo(1);
  }

  @AfterEach
  void tearDown() throws Exception {
    if (!worker.isRunning()) {
      worker.startAgain();
    }
    cluster.dropEverything();
    worker.close();
  }

  @Test
  void deletingAfterTheSourceWasUndistributedWaitsForItsOldWorker() throws Exception {
    StreamTableEngine engine = cluster.engine;
    cluster.topology.undistribute();
    // A failover to a new timeline: the recorded topology is forgotten with the frontiers, and
    // the re-sync is refused (NotSupported) before anything records it again.
    cluster.coordinator.execute("UPDATE pgtrickle.pgt_server SET server = 'another/1'");
    assertThatThrownBy(() -> engine.refresh("public", "order_totals"))
        .isInstanceOfSatisfying(
            EngineException.class, e -> assertThat(e.reason()).isEqualTo(Reason.NotSupported));
    worker.stop();

    assertThatThrownBy(() -> engine.drop("public", "order_totals", OWNER))
        .isInstanceOfSatisfying(
            EngineException.class, e -> assertThat(e.reason()).isEqualTo(Reason.ClusterUnavailable))
        .hasMessageContaining("node localhost:" + worker.port() + " (id 1)")
        .hasMessageContaining("drop replication slot " + cluster.orders.replicationSlot());
    assertThat(engine.list()).as("nothing dropped while the worker is down").hasSize(1);

    worker.startAgain();
    assertThat(engine.drop("public", "order_totals", OWNER)).isTrue();
    assertThat(cluster.slots(cluster.workers.get(0))).isZero();
    assertThat(cluster.slots(cluster.coordinator)).isZero();
  }

  @Test
  void aQueryThatNoLongerReadsTheSourceWaitsForItsWorker() throws Exception {
    StreamTableEngine engine = cluster.engine;
    StreamTableSpec notes =
        EngineTestSupport.spec("order_totals", "SELECT count(*) AS n FROM notes");
    notes.setPlacement(PlacementMode.LOCAL);
    worker.stop();

    assertThatThrownBy(() -> engine.apply(StreamTableDefinition.from(notes), OWNER))
        .isInstanceOfSatisfying(
            EngineException.class, e -> assertThat(e.reason()).isEqualTo(Reason.ClusterUnavailable))
        .hasMessageContaining("node localhost:" + worker.port() + " (id 1)")
        .hasMessageContaining("drop replication slot " + cluster.orders.replicationSlot());
    assertThat(
            cluster.coordinator.queryString(
                "SELECT defining_query FROM pgtrickle.pgt_stream_tables WHERE st_name = 'order_totals'"))
        .as("the query is not changed while the worker is down")
        .contains("orders");

    worker.startAgain();
    engine.apply(StreamTableDefinition.from(notes), OWNER);
    assertThat(cluster.slots(cluster.workers.get(0))).isZero();
    assertThat(cluster.slots(cluster.coordinator)).isZero();
  }

  @Test
  void aLocalSourcesDeletionDoesNotWaitForAWorker() throws Exception {
    StreamTableEngine engine = cluster.engine;
    StreamTableSpec notes = EngineTestSupport.spec("note_count", "SELECT count(*) AS n FROM notes");
    notes.setPlacement(PlacementMode.LOCAL);
    notes.setCdcMode(io.pgtrickle.operator.api.CdcModeSpec.WAL);
    cluster.coordinator.execute("ALTER TABLE notes REPLICA IDENTITY FULL");
    engine.apply(StreamTableDefinition.from(notes), OWNER);
    String notesSlots =
        "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'pgtrickle%' AND slot_name"
            + " <> '"
            + cluster.orders.replicationSlot()
            + "'";
    assertThat(cluster.coordinator.queryLong(notesSlots)).as("notes' slot").isEqualTo(1);
    worker.stop();

    // A table captured as local never had a slot on a worker: the worker is not waited for.
    assertThat(engine.drop("public", "note_count", OWNER)).isTrue();
    assertThat(cluster.coordinator.queryLong(notesSlots)).isZero();
  }
}
