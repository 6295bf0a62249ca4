package io.pgtrickle.operator.engine;

import static io.pgtrickle.operator.engine.EngineTestSupport.OWNER;
import static io.pgtrickle.operator.engine.EngineTestSupport.definition;
import static io.pgtrickle.operator.engine.EngineTestSupport.engine;
import static org.assertj.core.api.Assertions.assertThat;

import io.pgtrickle.operator.testing.StreamTableAssertions;
import io.pgtrickle.operator.testing.TestDatabase;
import io.pgtrickle.operator.testing.TestPostgres;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The scheduler keeps a table fresh by itself, and keeps ticking after a failed refresh. */
class RefreshSchedulerIT {
  @Test
  void keepsTheTableFreshAndSurvivesAFailingTick() throws Exception {
    TestDatabase db = TestPostgres.freshDatabase();
    db.execute("CREATE TABLE src (id int PRIMARY KEY, v int)");
    StreamTableEngine engine = engine(db);
    String query = "SELECT id, 100 / v AS q FROM src";
    engine.apply(definition("st", query), OWNER);
    List<RefreshOutcome> applied = new CopyOnWriteArrayList<>();
    List<EngineException> failures = new CopyOnWriteArrayList<>();
    RefreshScheduler.Listener listener =
        new RefreshScheduler.Listener() {
          @Override
          public void refreshed(String key, RefreshOutcome outcome) {
            if (outcome.kind() == RefreshOutcome.Kind.APPLIED) {
              applied.add(outcome);
            }
          }

          @Override
          public void failed(String key, EngineException failure) {
            failures.add(failure);
          }
        };
    try (RefreshScheduler scheduler = new RefreshScheduler(1, listener)) {
      scheduler.schedule("test/st", engine, "public", "st", Duration.ofMillis(100));

      db.execute("INSERT INTO src VALUES (1, 5), (2, 10)");
      awaitTrue(() -> !applied.isEmpty());
      StreamTableAssertions.assertMatchesQuery(db, "st", query);

      db.execute("INSERT INTO src VALUES (3, 0)"); // division by zero in every refresh
      awaitTrue(() -> !failures.isEmpty());
      assertThat(failures.get(0).reason()).isEqualTo(Reason.RefreshFailed);
      assertThat(failures.get(0).getMessage()).contains("division by zero");
      assertThat(db.queryLong("SELECT count(*) FROM st")).isEqualTo(2);

      db.execute("DELETE FROM src WHERE id = 3", "INSERT INTO src VALUES (4, 20)");
      int before = applied.size();
      awaitTrue(() -> applied.size() > before);
      StreamTableAssertions.assertMatchesQuery(db, "st", query);
    }
  }

  private static void awaitTrue(java.util.function.BooleanSupplier condition)
      throws InterruptedException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    while (!condition.getAsBoolean()) {
      assertThat(System.nanoTime()).as("condition not met within 30 s").isLessThan(deadline);
      Thread.sleep(20);
    }
  }
}
