package io.pgtrickle.operator.citus;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgtrickle.operator.testing.TestDatabase;
import io.pgtrickle.operator.testing.TestPostgres;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class CitusTopologyWithoutCitusIT {
  @Test
  void everyCallAnswersItsDefaultOnPlainPostgres() throws Exception {
    TestDatabase db = TestPostgres.freshDatabase();
    db.execute("CREATE TABLE public.orders (id int)");
    CitusTopology topology = new CitusTopology();
    try (Connection connection = db.connect()) {
      assertThat(topology.isCitusLoaded(connection)).isFalse();
      assertThat(topology.placement(connection, "public", "orders"))
          .isEqualTo(TablePlacement.local());
      assertThat(topology.placement(connection, "public", "no_such_table"))
          .isEqualTo(TablePlacement.local());
      assertThat(topology.nodes(connection)).isEmpty();
      assertThat(topology.workerNodes(connection)).isEmpty();
      assertThat(topology.shardPlacements(connection, "public", "orders")).isEmpty();
      // No failed statement was left behind: the session is still usable.
      assertThat(connection.isValid(1)).isTrue();
    }
  }

  @Test
  void detectionIsCachedUntilItsTtlRunsOut() throws Exception {
    TestDatabase db = TestPostgres.freshDatabase();
    AtomicLong now = new AtomicLong();
    CitusTopology topology = new CitusTopology(now::get, Duration.ofSeconds(30));
    Connection closed = db.connect();
    closed.close();
    try (Connection connection = db.connect()) {
      assertThat(topology.isCitusLoaded(connection)).isFalse();
    }

    // Within the TTL the answer comes from the cache: a closed connection is never touched.
    now.addAndGet(Duration.ofSeconds(29).toNanos());
    assertThat(topology.isCitusLoaded(closed)).isFalse();
    assertThat(topology.placement(closed, "public", "orders")).isEqualTo(TablePlacement.local());

    // After it, or after invalidate(), the database is asked again.
    now.addAndGet(Duration.ofSeconds(2).toNanos());
    assertThatThrownBy(() -> topology.isCitusLoaded(closed)).isInstanceOf(SQLException.class);
    try (Connection connection = db.connect()) {
      topology.isCitusLoaded(connection);
    }
    topology.invalidate();
    assertThatThrownBy(() -> topology.isCitusLoaded(closed)).isInstanceOf(SQLException.class);
  }
}
