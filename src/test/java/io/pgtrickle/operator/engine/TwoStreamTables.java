package io.pgtrickle.operator.engine;

import io.pgtrickle.operator.api.CdcModeSpec;
import io.pgtrickle.operator.api.StreamTableSpec;
import io.pgtrickle.operator.testing.TestDatabase;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * The database that the dump, restore and upgrade tests move: {@code orders_by_region} over trigger
 * capture and {@code events_by_kind} over WAL capture, both refreshed once.
 */
final class TwoStreamTables {
  static final String ORDERS = "SELECT region, sum(amount) AS total FROM orders GROUP BY 1";
  static final String EVENTS = "SELECT kind, count(*) AS n FROM events GROUP BY 1";

  /** Every source's stable name with its table, as one text to compare before and after. */
  static final String STABLE_NAMES =
      "SELECT string_agg(source_stable_name || ' ' || source_table, ',' ORDER BY 1)"
          + " FROM pgtrickle.pgt_change_tracking";

  private TwoStreamTables() {}

  static StreamTableEngine engine(TestDatabase db) throws EngineException {
    StreamTableEngine engine = new StreamTableEngine(db.dataSource());
    engine.migrateCatalog();
    return engine;
  }

  static void makeStreamTables(TestDatabase db, StreamTableEngine engine) throws Exception {
    db.execute(
        "CREATE TABLE orders (id int PRIMARY KEY, region text, amount int)",
        "INSERT INTO orders SELECT g, 'r' || (g % 4), g FROM generate_series(1, 40) g",
        "CREATE TABLE events (id int PRIMARY KEY, kind text)",
        "ALTER TABLE events REPLICA IDENTITY FULL",
        "INSERT INTO events SELECT g, 'k' || (g % 3) FROM generate_series(1, 30) g");
    engine.apply(EngineTestSupport.definition("orders_by_region", ORDERS), EngineTestSupport.OWNER);
    StreamTableSpec wal = EngineTestSupport.spec("events_by_kind", EVENTS);
    wal.setCdcMode(CdcModeSpec.WAL);
    engine.apply(StreamTableDefinition.from(wal), EngineTestSupport.OWNER);
    write(db, "INSERT INTO orders VALUES (41, 'r1', 5)", "INSERT INTO events VALUES (31, 'a')");
    engine.refresh("public", "orders_by_region");
    EngineTestSupport.refreshUntilExact(engine, db, "events_by_kind", EVENTS);
  }

  /** Catalog rows whose recorded OID is not the one its source table has on this server. */
  static final String FOREIGN_OIDS =
      "SELECT count(*) FROM pgtrickle.pgt_dependencies d JOIN"
          + " pgtrickle.pgt_change_tracking t USING (source_stable_name)"
          + " WHERE d.source_relid <> to_regclass(t.source_table)::oid"
          + " OR t.source_relid <> to_regclass(t.source_table)::oid";

  /** Each statement its own transaction, committed durably so WAL capture sees it at once. */
  static void write(TestDatabase db, String... statements) throws SQLException {
    try (Connection connection = db.connect();
        Statement statement = connection.createStatement()) {
      statement.execute("SET synchronous_commit = on");
      for (String sql : statements) {
        statement.execute(sql);
      }
    }
  }
}
