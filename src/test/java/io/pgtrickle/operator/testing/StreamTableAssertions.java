package io.pgtrickle.operator.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.SQLException;

/** Multiset equality of a stream table's storage and its query, in both directions. */
public final class StreamTableAssertions {
  private StreamTableAssertions() {}

  public static void assertMatchesQuery(TestDatabase db, String storage, String query)
      throws SQLException {
    long missing =
        db.queryLong(
            "SELECT count(*) FROM (SELECT ROW(q.*)::text FROM ("
                + query
                + ") q EXCEPT ALL SELECT ROW(s.*)::text FROM "
                + storage
                + " s) d");
    long extra =
        db.queryLong(
            "SELECT count(*) FROM (SELECT ROW(s.*)::text FROM "
                + storage
                + " s EXCEPT ALL SELECT ROW(q.*)::text FROM ("
                + query
                + ") q) d");
    assertThat(missing).as("rows of the query missing from " + storage).isZero();
    assertThat(extra).as("rows of " + storage + " not in the query").isZero();
  }
}
