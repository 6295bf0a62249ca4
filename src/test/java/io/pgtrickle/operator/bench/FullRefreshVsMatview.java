package io.pgtrickle.operator.bench;

import io.pgtrickle.operator.api.StreamTableSpec;
import io.pgtrickle.operator.embedded.EmbeddedPostgresServer;
import io.pgtrickle.operator.engine.RefreshOutcome;
import io.pgtrickle.operator.engine.StreamTableDefinition;
import io.pgtrickle.operator.engine.StreamTableEngine;
import java.sql.Connection;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Harness: FULL refresh of a stream table against REFRESH MATERIALIZED VIEW (plain and
 * CONCURRENTLY) of the same query over a 1M-row source, after 1% of the rows changed. Run: ./mvnw
 * -q -Pbench test-compile exec:exec -Dbench.main=io.pgtrickle.operator.bench.FullRefreshVsMatview
 * -Dbench.args=3
 */
public final class FullRefreshVsMatview {
  private static final Map<String, String> QUERIES =
      Map.of(
          "filter (500k of 1M rows)", "SELECT id, k, v FROM big WHERE k % 2 = 0",
          "aggregate (1,000 groups)",
              "SELECT k, count(*) AS n, sum(v) AS total FROM big GROUP BY k");
  private static final Map<String, String> UNIQUE_KEYS =
      Map.of("filter (500k of 1M rows)", "id", "aggregate (1,000 groups)", "k");

  private FullRefreshVsMatview() {}

  public static void main(String[] args) throws Exception {
    int rounds = args.length > 0 && !args[0].isEmpty() ? Integer.parseInt(args[0]) : 3;
    try (EmbeddedPostgresServer server = EmbeddedPostgresServer.start(Map.of("work_mem", "64MB"))) {
      StreamTableEngine engine = new StreamTableEngine(server.dataSource("postgres"));
      engine.migrateCatalog();
      try (Connection connection = server.dataSource("postgres").getConnection();
          Statement statement = connection.createStatement()) {
        statement.execute(
            "CREATE TABLE big (id bigint PRIMARY KEY, k int NOT NULL, v numeric(12,2) NOT NULL,"
                + " note text)");
        statement.execute(
            "INSERT INTO big SELECT g, g % 1000, (g % 9973) * 0.5, 'row ' || g"
                + " FROM generate_series(1, 1000000) g");
        statement.execute("VACUUM ANALYZE big");
        int view = 0;
        for (Map.Entry<String, String> query : QUERIES.entrySet()) {
          view++;
          String st = "st_" + view;
          String mv = "mv_" + view;
          StreamTableSpec spec = new StreamTableSpec();
          spec.setName(st);
          spec.setQuery(query.getValue());
          spec.setSchedule("1h");
          engine.apply(StreamTableDefinition.from(spec), "bench");
          statement.execute("CREATE MATERIALIZED VIEW " + mv + " AS " + query.getValue());
          statement.execute(
              "CREATE UNIQUE INDEX ON " + mv + " (" + UNIQUE_KEYS.get(query.getKey()) + ")");
          List<Long> full = new ArrayList<>();
          List<Long> matview = new ArrayList<>();
          List<Long> concurrently = new ArrayList<>();
          long rows = 0;
          for (int round = 0; round < rounds; round++) {
            // 1% of the rows change: 10,000 updates spread over the table.
            statement.execute(
                "UPDATE big SET v = v + 1 WHERE id % 100 = " + round + " AND id <= 1000000");
            statement.execute("VACUUM ANALYZE big");
            long started = System.nanoTime();
            RefreshOutcome outcome = engine.refresh("public", st);
            full.add(System.nanoTime() - started);
            rows = outcome.rowsChanged();
            started = System.nanoTime();
            statement.execute("REFRESH MATERIALIZED VIEW " + mv);
            matview.add(System.nanoTime() - started);
            started = System.nanoTime();
            statement.execute("REFRESH MATERIALIZED VIEW CONCURRENTLY " + mv);
            concurrently.add(System.nanoTime() - started);
          }
          System.out.printf(
              Locale.ROOT,
              "%-26s stream table FULL %8.0f ms (%d rows changed)   REFRESH MATERIALIZED VIEW"
                  + " %8.0f ms   ... CONCURRENTLY %8.0f ms   (median of %d)%n",
              query.getKey(),
              median(full),
              rows,
              median(matview),
              median(concurrently),
              rounds);
        }
      }
    }
  }

  private static double median(List<Long> nanos) {
    List<Long> sorted = new ArrayList<>(nanos);
    Collections.sort(sorted);
    return sorted.get(sorted.size() / 2) / 1e6;
  }
}
