package io.pgtrickle.operator.cdc.wal;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgtrickle.operator.naming.ObjectNames;
import io.pgtrickle.operator.naming.QualifiedTable;
import io.pgtrickle.operator.testing.TestDatabase;
import io.pgtrickle.operator.testing.TestPostgres;
import java.sql.Connection;
import java.sql.Statement;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * pgoutput prints decoded rows with the reading session's settings: whatever the session (and the
 * JVM's time zone pgjdbc connects with), WAL capture writes the text trigger capture writes.
 */
class CanonicalWalTextIT {
  @Test
  void decodedRowsAreCanonicalWhateverTheReadersSettings() throws Exception {
    TestDatabase db = TestPostgres.freshDatabase();
    db.execute(
        "CREATE TABLE t (id int PRIMARY KEY, ts timestamptz, f float8, i interval, b bytea)",
        "ALTER TABLE t REPLICA IDENTITY FULL");
    ObjectNames names = ObjectNames.of(new QualifiedTable(db.name(), "public", "t"));
    try (Connection connection = db.connect()) {
      SlotReader.ensure(connection, "public", "t", names);
    }
    try {
      db.execute(
          "SET synchronous_commit = on",
          "INSERT INTO t VALUES (1, '2026-11-24 10:11:12.5+00', 0.1::float8 + 0.2::float8,"
              + " '1 day 02:03:04', '\\x00ff41')");

      List<WalTransaction> transactions;
      try (Connection reader = db.connect();
          Statement statement = reader.createStatement()) {
        statement.execute("SET TimeZone = 'Asia/Tokyo'");
        statement.execute("SET extra_float_digits = -3");
        statement.execute("SET IntervalStyle = 'sql_standard'");
        statement.execute("SET bytea_output = 'escape'");
        transactions = SlotReader.peek(reader, names, 100);
      }

      assertThat(transactions).hasSize(1);
      assertThat(transactions.get(0).changes().get(0).rowText())
          .isEqualTo(
              "(1,\"2026-11-24 10:11:12.5+00\",0.30000000000000004,\"1 day 02:03:04\","
                  + "\"\\\\x00ff41\")");
    } finally {
      try (Connection connection = db.connect()) {
        SlotReader.drop(connection, names);
      }
    }
  }
}
