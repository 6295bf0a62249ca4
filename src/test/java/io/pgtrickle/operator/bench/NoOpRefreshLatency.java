package io.pgtrickle.operator.bench;

import io.pgtrickle.operator.api.CdcModeSpec;
import io.pgtrickle.operator.api.RefreshMode;
import io.pgtrickle.operator.api.StreamTableSpec;
import io.pgtrickle.operator.db.DatabaseTarget;
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
 * Harness: the latency of a refresh that finds nothing to do (the common case of a frequent
 * schedule), for trigger and WAL capture, of a FULL and of a DIFFERENTIAL stream table: everything
 * a tick costs when no source changed — the query-health check, the WAL slot peek (and idle
 * advance), the change check. Run: ./mvnw -q -Pbench test-compile exec:exec
 * -Dbench.main=io.pgtrickle.operator.bench.NoOpRefreshLatency -Dbench.args=2000
 */
public final class NoOpRefreshLatency {
  private NoOpRefreshLatency() {}

  public static void main(String[] args) throws Exception {
    int refreshes = args.length > 0 && !args[0].isEmpty() ? Integer.parseInt(args[0]) : 2000;
    try (EmbeddedPostgresServer server =
        EmbeddedPostgresServer.start(Map.of("wal_level", "logical"))) {
      // Pooled, as the operator and local mode connect (the test data source opens a connection
      // per call, which alone costs several ms).
      DatabaseTarget target =
          DatabaseTarget.connect(
              server.jdbcUrl("postgres"), EmbeddedPostgresServer.SUPERUSER, null, "bench");
      StreamTableEngine engine = target.engine(Map.of());
      engine.migrateCatalog();
      try (Connection connection = target.dataSource().getConnection();
          Statement statement = connection.createStatement()) {
        statement.execute("CREATE TABLE src (id int PRIMARY KEY, v int)");
        statement.execute("ALTER TABLE src REPLICA IDENTITY FULL");
        statement.execute("INSERT INTO src SELECT g, g FROM generate_series(1, 100000) g");
      }
      for (CdcModeSpec mode : List.of(CdcModeSpec.TRIGGER, CdcModeSpec.WAL)) {
        for (RefreshMode refreshMode : List.of(RefreshMode.FULL, RefreshMode.DIFFERENTIAL)) {
          measure(engine, mode, refreshMode, refreshes);
        }
      }
      target.close();
    }
  }

  private static void measure(
      StreamTableEngine engine, CdcModeSpec mode, RefreshMode refreshMode, int refreshes)
      throws Exception {
    String name =
        "st_"
            + mode.name().toLowerCase(Locale.ROOT)
            + "_"
            + refreshMode.name().toLowerCase(Locale.ROOT);
    StreamTableSpec spec = new StreamTableSpec();
    spec.setName(name);
    spec.setQuery("SELECT id, v FROM src WHERE v % 2 = 0");
    spec.setSchedule("1h");
    spec.setCdcMode(mode);
    spec.setRefreshMode(refreshMode);
    engine.apply(StreamTableDefinition.from(spec), "bench");
    engine.refresh("public", name); // warm up the pool and the plans
    List<Long> nanos = new ArrayList<>();
    for (int i = 0; i < refreshes; i++) {
      long started = System.nanoTime();
      RefreshOutcome outcome = engine.refresh("public", name);
      nanos.add(System.nanoTime() - started);
      if (outcome.kind() != RefreshOutcome.Kind.NO_CHANGES) {
        throw new IllegalStateException("a refresh found changes: " + outcome);
      }
    }
    Collections.sort(nanos);
    System.out.printf(
        Locale.ROOT,
        "no-op refresh, %-7s capture, %-12s: median %.2f ms, p99 %.2f ms (%d refreshes)%n",
        mode.name().toLowerCase(Locale.ROOT),
        refreshMode,
        nanos.get(nanos.size() / 2) / 1e6,
        nanos.get(nanos.size() * 99 / 100) / 1e6,
        refreshes);
    engine.drop("public", name, "bench");
  }
}
