package io.pgtrickle.operator.cdc;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgtrickle.operator.catalog.CatalogMigrator;
import io.pgtrickle.operator.naming.ObjectNames;
import io.pgtrickle.operator.naming.QualifiedTable;
import io.pgtrickle.operator.testing.TestDatabase;
import io.pgtrickle.operator.testing.TestPostgres;
import java.sql.Connection;
import org.junit.jupiter.api.Test;

/**
 * A source's columns share the trigger function's statements with its variables and aliases: a
 * column named like one of them must neither break the writer nor change what is captured.
 */
class TriggerCaptureColumnNamesIT {
  @Test
  void columnsNamedLikeTheFunctionsVariablesAndAliases() throws Exception {
    TestDatabase db = TestPostgres.freshDatabase();
    CatalogMigrator.migrate(db.dataSource());
    db.execute("CREATE TABLE odd (x int PRIMARY KEY, l text, n int, o int, pgt_new int)");
    ObjectNames names = ObjectNames.of(new QualifiedTable(db.name(), "public", "odd"));
    try (Connection connection = db.connect()) {
      connection.setAutoCommit(false);
      TriggerCapture.install(connection, "public", "odd", names);
      connection.commit();
    }

    db.execute(
        "INSERT INTO odd VALUES (1, 'a', 10, 100, 1000)",
        "UPDATE odd SET n = 11 WHERE x = 1",
        "DELETE FROM odd WHERE x = 1");

    assertThat(
            db.queryString(
                "SELECT string_agg(op::text || row_data, ' ' ORDER BY lsn, op DESC, row_data) FROM "
                    + names.changeBufferQualified()))
        .isEqualTo("I(1,a,10,100,1000) I(1,a,11,100,1000) D(1,a,10,100,1000) D(1,a,11,100,1000)");
  }

  @Test
  void functionsOfAnEarlierVersionAreReplacedOnConnect() throws Exception {
    TestDatabase db = TestPostgres.freshDatabase();
    CatalogMigrator.migrate(db.dataSource());
    db.execute("CREATE TABLE t (id int PRIMARY KEY)");
    ObjectNames names = ObjectNames.of(new QualifiedTable(db.name(), "public", "t"));
    try (Connection connection = db.connect()) {
      connection.setAutoCommit(false);
      TriggerCapture.install(connection, "public", "t", names);
      connection.commit();
    }
    String function = "pgtrickle." + names.triggerFunction() + "()";
    db.execute( // what an earlier version left: a body without the current version mark
        "CREATE OR REPLACE FUNCTION "
            + function
            + " RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$");

    new io.pgtrickle.operator.engine.StreamTableEngine(db.dataSource()).migrateCatalog();
    db.execute("INSERT INTO t VALUES (7)");

    assertThat(db.queryString("SELECT row_data FROM " + names.changeBufferQualified()))
        .isEqualTo("(7)");
    assertThat(
            db.queryString(
                "SELECT array_to_string(proconfig, ';') FROM pg_proc WHERE oid = '"
                    + function
                    + "'::regprocedure"))
        .contains("DateStyle=ISO, YMD", "TimeZone=UTC", "extra_float_digits=3");
  }
}
