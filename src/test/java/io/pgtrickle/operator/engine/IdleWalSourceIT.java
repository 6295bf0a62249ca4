package io.pgtrickle.operator.engine;

import static io.pgtrickle.operator.engine.EngineTestSupport.OWNER;
import static io.pgtrickle.operator.engine.EngineTestSupport.engine;
import static io.pgtrickle.operator.engine.EngineTestSupport.spec;
import static org.assertj.core.api.Assertions.assertThat;

import io.pgtrickle.operator.api.CdcModeSpec;
import io.pgtrickle.operator.api.StreamTableSpec;
import io.pgtrickle.operator.naming.ObjectNames;
import io.pgtrickle.operator.naming.QualifiedTable;
import io.pgtrickle.operator.testing.TestDatabase;
import io.pgtrickle.operator.testing.TestPostgres;
import java.sql.Connection;
import java.sql.Statement;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A WAL-captured source with no changes while other tables write: its slot moves past the WAL that
 * holds nothing for it, so the WAL it retains stays bounded by one refresh interval's traffic
 * instead of growing without end. A transaction open on it meanwhile is still captured.
 */
class IdleWalSourceIT {
  private static final String QUERY = "SELECT id, v FROM idle";
  private static final long ROUND_BYTES = 4L * 1024 * 1024;

  private TestDatabase db;
  private StreamTableEngine engine;
  private String slot;

  @BeforeEach
  void setUp() throws Exception {
    db = TestPostgres.freshDatabase();
    db.execute(
        "CREATE TABLE idle (id int PRIMARY KEY, v text)",
        "ALTER TABLE idle REPLICA IDENTITY FULL",
        "INSERT INTO idle VALUES (1, 'a')",
        "CREATE TABLE busy (id bigserial PRIMARY KEY, payload text)");
    engine = engine(db);
    StreamTableSpec spec = spec("idle_copy", QUERY);
    spec.setCdcMode(CdcModeSpec.WAL);
    engine.apply(StreamTableDefinition.from(spec), OWNER);
    slot = ObjectNames.of(new QualifiedTable(db.name(), "public", "idle")).replicationSlot();
  }

  @AfterEach
  void dropSlot() throws Exception {
    db.dropReplicationSlots();
  }

  @Test
  void theIdleSlotFollowsOtherTablesWrites() throws Exception {
    long[] retained = new long[3];
    for (int round = 0; round < 3; round++) {
      writeToBusy();
      String before = db.queryString("SELECT pg_current_wal_flush_lsn()::text");
      engine.refresh("public", "idle_copy");
      assertThat(
              db.queryString(
                  "SELECT (confirmed_flush_lsn >= '"
                      + before
                      + "'::pg_lsn)::text"
                      + " FROM pg_replication_slots WHERE slot_name = '"
                      + slot
                      + "'"))
          .as("round %d: the idle slot moved past the other table's writes", round)
          .isEqualTo("true");
      db.execute("CHECKPOINT"); // logs running transactions, which lets restart_lsn follow
      engine.refresh("public", "idle_copy");
      retained[round] =
          db.queryLong(
              "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint"
                  + " FROM pg_replication_slots WHERE slot_name = '"
                  + slot
                  + "'");
    }
    for (long bytes : retained) {
      assertThat(bytes).as("WAL retained by the idle slot").isLessThan(2 * ROUND_BYTES);
    }
  }

  @Test
  void aTransactionOpenWhileTheSlotMovesIsStillCaptured() throws Exception {
    try (Connection writer = db.connect();
        Statement statement = writer.createStatement()) {
      writer.setAutoCommit(false);
      statement.execute("INSERT INTO idle VALUES (2, 'in flight')");
      writeToBusy();
      engine.refresh(
          "public", "idle_copy"); // moves the idle slot past the open transaction's start
      writer.commit();
    }
    db.execute("UPDATE idle SET v = 'b' WHERE id = 1");
    EngineTestSupport.refreshUntilExact(engine, db, "idle_copy", QUERY);
    assertThat(db.queryLong("SELECT count(*) FROM idle_copy")).isEqualTo(2);
  }

  private void writeToBusy() throws Exception {
    db.execute(
        "INSERT INTO busy (payload) SELECT repeat(md5(g::text), 32) FROM generate_series(1, "
            + ROUND_BYTES / 1024
            + ") g");
  }
}
