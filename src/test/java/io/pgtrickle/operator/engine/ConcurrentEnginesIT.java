package io.pgtrickle.operator.engine;

import static io.pgtrickle.operator.engine.EngineTestSupport.OWNER;
import static io.pgtrickle.operator.engine.EngineTestSupport.definition;
import static io.pgtrickle.operator.engine.EngineTestSupport.engine;
import static io.pgtrickle.operator.testing.StreamTableAssertions.assertMatchesQuery;
import static org.assertj.core.api.Assertions.assertThat;

import io.pgtrickle.operator.testing.TestDatabase;
import io.pgtrickle.operator.testing.TestPostgres;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/** Two engines (separate connections, as two processes) never apply one change twice. */
class ConcurrentEnginesIT {
  @Test
  void exactlyOneOfTwoRacingEnginesAppliesEachBatch() throws Exception {
    TestDatabase db = TestPostgres.freshDatabase();
    db.execute("CREATE TABLE items (id int PRIMARY KEY, v int)");
    StreamTableEngine first = engine(db);
    StreamTableEngine second = engine(db);
    String query = "SELECT id, v FROM items";
    first.apply(definition("items_st", query), OWNER);
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      for (int batch = 0; batch < 15; batch++) {
        int base = batch * 100;
        db.execute(
            "INSERT INTO items SELECT g, g FROM generate_series("
                + base
                + ", "
                + (base + 49)
                + ") g");
        CyclicBarrier start = new CyclicBarrier(2);
        List<Future<RefreshOutcome>> outcomes = new ArrayList<>();
        for (StreamTableEngine engine : List.of(first, second)) {
          outcomes.add(
              pool.submit(
                  () -> {
                    start.await();
                    return engine.refresh("public", "items_st");
                  }));
        }
        long applied = 0;
        long rows = 0;
        for (Future<RefreshOutcome> outcome : outcomes) {
          RefreshOutcome result = outcome.get();
          if (result.kind() == RefreshOutcome.Kind.APPLIED) {
            applied++;
            rows += result.rowsChanged();
          }
        }
        assertThat(applied).as("engines that applied batch %d", batch).isEqualTo(1);
        assertThat(rows).isEqualTo(50);
        assertMatchesQuery(db, "items_st", query);
      }
    } finally {
      pool.shutdownNow();
    }
  }
}
