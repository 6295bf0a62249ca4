package io.pgtrickle.operator.bench;

import io.pgtrickle.operator.api.PlacementMode;
import io.pgtrickle.operator.api.RefreshMode;
import io.pgtrickle.operator.api.StreamTableSpec;
import io.pgtrickle.operator.db.DatabaseTarget;
import io.pgtrickle.operator.embedded.PostgresServer;
import io.pgtrickle.operator.engine.RefreshOutcome;
import io.pgtrickle.operator.engine.StreamTableDefinition;
import io.pgtrickle.operator.engine.StreamTableEngine;
import io.pgtrickle.operator.testing.CitusTestCluster;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Harness: a one-row DIFFERENTIAL refresh of a GROUP BY over a distributed source, against the
 * number of groups in the stream table, in distributed storage (placement auto) and local storage,
 * on a real Citus coordinator and two workers ({@link CitusTestCluster}; without {@code
 * PGTRICKLE_TEST_CITUS_BINDIR} it says why and exits 2). A 400k-row table distributed on its
 * tenant; per group count, each placement's stream table gets 12 one-row UPDATEs each followed by a
 * refresh, the first 2 not counted; prints the medians of the wall time and of the refresh
 * transaction (last_refresh_ms). Shows that applying one changed group into distributed storage
 * costs in proportion to the storage (see docs/benchmarks.md, Citus).
 *
 * <p>Run: PGTRICKLE_TEST_CITUS_BINDIR=/usr/lib/postgresql/15/bin ./mvnw -q -Pbench test-compile
 * exec:exec -Dbench.main=io.pgtrickle.operator.bench.CitusGroupStorageScaling
 */
public final class CitusGroupStorageScaling {
  private CitusGroupStorageScaling() {}

  public static void main(String[] args) throws Exception {
    if (CitusTestCluster.unavailableReason().isPresent()) {
      System.err.println(
          "CitusGroupStorageScaling cannot run: " + CitusTestCluster.unavailableReason().get());
      System.exit(2);
    }
    CitusTestCluster cluster = CitusTestCluster.shared();
    try (DatabaseTarget target =
        DatabaseTarget.connect(
            cluster.coordinator().jdbcUrl(CitusTestCluster.DATABASE),
            PostgresServer.SUPERUSER,
            null,
            "bench")) {
      StreamTableEngine engine = target.engine(Map.of());
      engine.migrateCatalog();
      try (Connection c = target.dataSource().getConnection();
          Statement s = c.createStatement()) {
        s.execute(
            "CREATE TABLE t (tenant int NOT NULL, id bigint NOT NULL, k int NOT NULL, v int NOT"
                + " NULL, PRIMARY KEY (tenant, id))");
        s.execute("SELECT create_distributed_table('t', 'tenant')");
        s.execute("ALTER TABLE t REPLICA IDENTITY FULL");
        s.execute("INSERT INTO t SELECT g % 64, g, g % 1000, 1 FROM generate_series(1, 400000) g");
        s.execute("ANALYZE t");
        for (int groups : new int[] {1000, 10000, 100000, 400000}) {
          String q =
              "SELECT (id % "
                  + groups
                  + ")::int AS k, count(*) AS n, sum(v) AS total FROM t"
                  + " GROUP BY 1";
          for (PlacementMode p : new PlacementMode[] {PlacementMode.AUTO, PlacementMode.LOCAL}) {
            String name = "g" + groups + "_" + p.name().toLowerCase(Locale.ROOT);
            StreamTableSpec spec = new StreamTableSpec();
            spec.setName(name);
            spec.setQuery(q);
            spec.setSchedule("1h");
            spec.setRefreshMode(RefreshMode.DIFFERENTIAL);
            spec.setPlacement(p);
            engine.apply(StreamTableDefinition.from(spec), "bench");
            List<Long> wall = new ArrayList<>();
            List<Long> txn = new ArrayList<>();
            for (int i = 0; i < 12; i++) {
              long id = 1 + (i * 7919L) % 400000;
              s.executeUpdate(
                  "UPDATE t SET v = v + 1 WHERE tenant = " + (id % 64) + " AND id = " + id);
              long t0 = System.nanoTime();
              RefreshOutcome o = engine.refresh("public", name);
              long n = System.nanoTime() - t0;
              if (o.kind() != RefreshOutcome.Kind.APPLIED) {
                throw new IllegalStateException(o.toString());
              }
              try (ResultSet rs =
                  s.executeQuery(
                      "SELECT last_refresh_ms, last_refresh_mode FROM pgtrickle.pgt_stream_tables"
                          + " WHERE st_name = '"
                          + name
                          + "'")) {
                rs.next();
                if (i >= 2) {
                  wall.add(n / 1_000_000L);
                  txn.add(rs.getLong(1));
                }
              }
            }
            Collections.sort(wall);
            Collections.sort(txn);
            System.out.printf(
                Locale.ROOT,
                "%7d groups, %-5s storage: one-row DIFFERENTIAL median wall %d ms, in transaction %d ms (10 refreshes)%n",
                groups,
                p == PlacementMode.AUTO ? "dist" : "local",
                wall.get(5),
                txn.get(5));
            engine.drop("public", name, "bench");
          }
        }
      }
    }
  }
}
