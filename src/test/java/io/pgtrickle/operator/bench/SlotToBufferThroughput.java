package io.pgtrickle.operator.bench;

import io.pgtrickle.operator.catalog.CatalogMigrator;
import io.pgtrickle.operator.catalog.CdcMode;
import io.pgtrickle.operator.catalog.ChangeTrackingRegistry;
import io.pgtrickle.operator.catalog.Placement;
import io.pgtrickle.operator.catalog.ResolvedTable;
import io.pgtrickle.operator.catalog.SourceRegistration;
import io.pgtrickle.operator.catalog.TableLookup;
import io.pgtrickle.operator.cdc.ChangeBuffer;
import io.pgtrickle.operator.cdc.wal.SlotReader;
import io.pgtrickle.operator.cdc.wal.WalConsumer;
import io.pgtrickle.operator.embedded.EmbeddedPostgresServer;
import io.pgtrickle.operator.naming.ObjectNames;
import io.pgtrickle.operator.naming.StableName;
import java.sql.Connection;
import java.sql.Statement;
import java.util.Locale;

/**
 * Harness: rows per second moved from one node's pgoutput slot into the coordinator's change
 * buffer, in batches of 100k changes (goal: at least 50,000 rows/s on 2 cores). Two embedded
 * servers on loopback, node and coordinator. Run: ./mvnw -q -Pbench test-compile exec:exec
 * -Dbench.main=io.pgtrickle.operator.bench.SlotToBufferThroughput -Dbench.args=3
 */
public final class SlotToBufferThroughput {
  private SlotToBufferThroughput() {}

  public static void main(String[] args) throws Exception {
    int rounds = args.length > 0 && !args[0].isEmpty() ? Integer.parseInt(args[0]) : 3;
    try (EmbeddedPostgresServer node = EmbeddedPostgresServer.start();
        EmbeddedPostgresServer coordinator = EmbeddedPostgresServer.start()) {
      String table =
          "CREATE TABLE public.events (id bigint PRIMARY KEY, kind int, payload text,"
              + " at timestamptz DEFAULT now())";
      try (Connection n = node.dataSource("postgres").getConnection();
          Connection c = coordinator.dataSource("postgres").getConnection();
          Statement ns = n.createStatement();
          Statement cs = c.createStatement()) {
        ns.execute(table);
        ns.execute("ALTER TABLE public.events REPLICA IDENTITY FULL");
        cs.execute(table);
        CatalogMigrator.migrate(coordinator.dataSource("postgres"));
        ResolvedTable resolved = TableLookup.byName(c, "public", "events").orElseThrow();
        StableName source =
            new ChangeTrackingRegistry()
                .register(c, new SourceRegistration(resolved, Placement.DISTRIBUTED, CdcMode.WAL));
        ObjectNames names = new ObjectNames(source);
        ChangeBuffer.create(c, names);
        SlotReader.ensure(n, "public", "events", names);
        WalConsumer consumer = new WalConsumer(coordinator.dataSource("postgres"));
        ns.execute("SET synchronous_commit = on");
        for (int round = 0; round < rounds; round++) {
          long base = round * 100_000L;
          // 100 transactions of 1,000 inserts: 100k changes.
          for (int batch = 0; batch < 100; batch++) {
            ns.execute(
                "INSERT INTO public.events (id, kind, payload) SELECT g, g % 17, md5(g::text)"
                    + " FROM generate_series("
                    + (base + batch * 1000L + 1)
                    + ", "
                    + (base + batch * 1000L + 1000)
                    + ") g");
          }
          long started = System.nanoTime();
          WalConsumer.Consumed consumed = consumer.consume(n, 1, source, 100_000);
          double seconds = (System.nanoTime() - started) / 1e9;
          System.out.printf(
              Locale.ROOT,
              "round %d: %d rows from %d transactions in %.2f s = %,.0f rows/s%n",
              round + 1,
              consumed.rows(),
              consumed.transactions(),
              seconds,
              consumed.rows() / seconds);
          cs.execute("TRUNCATE " + names.changeBufferQualified());
        }
        SlotReader.drop(n, names);
      }
    }
  }
}
