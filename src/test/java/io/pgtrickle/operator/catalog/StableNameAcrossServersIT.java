package io.pgtrickle.operator.catalog;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgtrickle.operator.naming.QualifiedTable;
import io.pgtrickle.operator.testing.TestDatabase;
import io.pgtrickle.operator.testing.TestPostgres;
import java.sql.Connection;
import org.junit.jupiter.api.Test;

/** Exit criterion of CITUS-2: one table on two fresh servers, different OIDs, one stable name. */
class StableNameAcrossServersIT {
  @Test
  void sameTableOnTwoServersGetsTheSameStableNameDespiteDifferentOids() throws Exception {
    TestDatabase first = TestPostgres.freshDatabase(0);
    TestDatabase second = TestPostgres.freshDatabase(1);
    // Same database name on both servers, as Citus requires of its nodes.
    TestDatabase firstShop = rename(first, "shop");
    TestDatabase secondShop = rename(second, "shop");
    // Burn OIDs on the second server so the tables cannot share one by chance.
    secondShop.execute("CREATE TABLE filler_a (x int)", "CREATE TABLE filler_b (x int)");
    for (TestDatabase db : new TestDatabase[] {firstShop, secondShop}) {
      db.execute("CREATE SCHEMA \"Sales\"", "CREATE TABLE \"Sales\".\"Orders\" (id int)");
    }

    ResolvedTable onFirst = lookup(firstShop);
    ResolvedTable onSecond = lookup(secondShop);

    assertThat(onFirst.oid()).isNotEqualTo(onSecond.oid());
    assertThat(onFirst.name()).isEqualTo(new QualifiedTable("shop", "Sales", "Orders"));
    assertThat(onFirst.stableName()).isEqualTo(onSecond.stableName());
    assertThat(TableLookup.byOid(firstShop.connect(), onFirst.oid())).contains(onFirst);
  }

  private static ResolvedTable lookup(TestDatabase db) throws Exception {
    try (Connection connection = db.connect()) {
      return TableLookup.byName(connection, "Sales", "Orders").orElseThrow();
    }
  }

  private static TestDatabase rename(TestDatabase db, String name) throws Exception {
    try (Connection connection = db.server().dataSource("postgres").getConnection()) {
      connection.createStatement().execute("DROP DATABASE IF EXISTS " + name);
      connection
          .createStatement()
          .execute("ALTER DATABASE \"" + db.name() + "\" RENAME TO " + name);
    }
    return new TestDatabase(db.server(), name);
  }
}
