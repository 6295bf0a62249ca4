package io.pgtrickle.operator.engine;

import static io.pgtrickle.operator.engine.EngineTestSupport.OWNER;
import static io.pgtrickle.operator.engine.EngineTestSupport.definition;
import static io.pgtrickle.operator.engine.EngineTestSupport.engine;
import static io.pgtrickle.operator.testing.StreamTableAssertions.assertMatchesQuery;
import static org.assertj.core.api.Assertions.assertThat;

import io.pgtrickle.operator.testing.TestDatabase;
import io.pgtrickle.operator.testing.TestPostgres;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A query that reads the clock (now(), CURRENT_DATE, ...) changes its result with time alone: it is
 * marked time-dependent when applied and refreshed in full on every tick, changes or not.
 */
class TimeDependentQueryIT {
  private TestDatabase db;
  private StreamTableEngine engine;

  @BeforeEach
  void setUp() throws Exception {
    db = TestPostgres.freshDatabase();
    db.execute("CREATE TABLE events (id int PRIMARY KEY, at timestamptz NOT NULL)");
    engine = engine(db);
  }

  @Test
  void rowsLeaveTheWindowWithoutAnySourceChange() throws Exception {
    String query = "SELECT id FROM events WHERE at > now()";
    db.execute("INSERT INTO events VALUES (1, now() + interval '1 second'), (2, now() + '1h')");
    engine.apply(definition("upcoming", query), OWNER);
    assertThat(db.queryLong("SELECT count(*) FROM upcoming")).isEqualTo(2);
    assertThat(engine.report("public", "upcoming").timeDependentOn()).containsExactly("now()");

    Thread.sleep(1_200); // event 1 is now in the past; nothing was written
    assertThat(engine.refresh("public", "upcoming").kind()).isEqualTo(RefreshOutcome.Kind.APPLIED);
    assertMatchesQuery(db, "upcoming", query);
    assertThat(db.queryLong("SELECT count(*) FROM upcoming")).isEqualTo(1);
  }

  @Test
  void sqlValueFunctionsAndTransactionClocksCount() throws Exception {
    engine.apply(
        definition(
            "today", "SELECT id FROM events WHERE at::date = CURRENT_DATE OR at < LOCALTIMESTAMP"),
        OWNER);
    assertThat(engine.report("public", "today").timeDependentOn())
        .containsExactly("CURRENT_DATE/CURRENT_TIME/LOCALTIMESTAMP");
    engine.apply(
        definition(
            "recent",
            "SELECT id, age(at::timestamp) AS a FROM events"
                + " WHERE at > transaction_timestamp() - interval '1 day'"),
        OWNER);
    assertThat(engine.report("public", "recent").timeDependentOn())
        .containsExactly("age(timestamp without time zone)", "transaction_timestamp()");
  }

  @Test
  void aQueryOverItsSourcesOnlyIsNotRefreshedWithoutChanges() throws Exception {
    engine.apply(
        definition("plain", "SELECT id, at - interval '1 day' AS before FROM events"), OWNER);
    assertThat(engine.report("public", "plain").timeDependentOn()).isEmpty();
    assertThat(engine.refresh("public", "plain").kind()).isEqualTo(RefreshOutcome.Kind.NO_CHANGES);
  }

  @Test
  void aQueryChangeThatDropsTheClockClearsTheMark() throws Exception {
    engine.apply(definition("w", "SELECT id FROM events WHERE at > now()"), OWNER);
    engine.apply(definition("w", "SELECT id FROM events WHERE at > '2000-01-01'"), OWNER);
    assertThat(engine.report("public", "w").timeDependentOn()).isEmpty();
    assertThat(engine.refresh("public", "w").kind()).isEqualTo(RefreshOutcome.Kind.NO_CHANGES);
  }
}
