package io.pgtrickle.operator.cdc;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgtrickle.operator.catalog.CatalogMigrator;
import io.pgtrickle.operator.naming.ObjectNames;
import io.pgtrickle.operator.naming.QualifiedTable;
import io.pgtrickle.operator.testing.TestDatabase;
import io.pgtrickle.operator.testing.TestPostgres;
import java.sql.Connection;
import java.sql.Statement;
import org.junit.jupiter.api.Test;

/**
 * Buffer rows are data a refresh reads back: the text of a changed row must not depend on the
 * writer's session settings.
 */
class CanonicalChangeTextIT {
  // A writer's own settings, set for its one transaction inside a DO block: pgjdbc refuses a
  // session whose DateStyle it would see change (PostgreSQL reports only the final value).
  private static final String ODD_WRITER =
      "PERFORM set_config('DateStyle', 'SQL, DMY', true);"
          + " PERFORM set_config('extra_float_digits', '-3', true);"
          + " PERFORM set_config('IntervalStyle', 'sql_standard', true);"
          + " PERFORM set_config('TimeZone', 'Asia/Tokyo', true);"
          + " PERFORM set_config('bytea_output', 'escape', true);";

  @Test
  void aWriterWithOddSettingsWritesTheCanonicalText() throws Exception {
    TestDatabase db = TestPostgres.freshDatabase();
    CatalogMigrator.migrate(db.dataSource());
    db.execute(
        "CREATE TABLE t (id int PRIMARY KEY, d date, ts timestamptz, f float8, i interval,"
            + " b bytea, n numeric)");
    ObjectNames names = ObjectNames.of(new QualifiedTable(db.name(), "public", "t"));
    try (Connection connection = db.connect()) {
      connection.setAutoCommit(false);
      TriggerCapture.install(connection, "public", "t", names);
      connection.commit();
    }

    String insert =
        "INSERT INTO t VALUES (1, '2026-11-24', '2026-11-24 10:11:12.5+00', 0.1::float8 + 0.2::float8,"
            + " '1 day 02:03:04', '\\x00ff41', 12.50);";
    db.execute("DO $$ BEGIN " + ODD_WRITER + " " + insert + " END $$");

    String buffered =
        db.queryString("SELECT row_data FROM " + names.changeBufferQualified() + " LIMIT 1");
    assertThat(buffered)
        .isEqualTo(
            "(1,2026-11-24,\"2026-11-24 10:11:12.5+00\",0.30000000000000004,\"1 day 02:03:04\","
                + "\"\\\\x00ff41\",12.50)");
    // Read back under the same settings, the text is the row itself.
    try (Connection reader = db.connect();
        Statement statement = reader.createStatement()) {
      for (var setting : ChangeText.SETTINGS.entrySet()) {
        statement.execute("SET " + setting.getKey() + " = '" + setting.getValue() + "'");
      }
      try (var rs =
          statement.executeQuery(
              "SELECT count(*) FROM t, "
                  + names.changeBufferQualified()
                  + " c WHERE (c.row_data::t).d = t.d AND (c.row_data::t).ts = t.ts"
                  + " AND (c.row_data::t).f = t.f AND (c.row_data::t).i = t.i"
                  + " AND (c.row_data::t).b = t.b AND (c.row_data::t).n = t.n")) {
        rs.next();
        assertThat(rs.getLong(1)).isEqualTo(1);
      }
    }
  }
}
