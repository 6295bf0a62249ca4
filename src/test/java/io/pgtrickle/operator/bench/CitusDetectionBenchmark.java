package io.pgtrickle.operator.bench;

import io.pgtrickle.operator.citus.CitusTopology;
import io.pgtrickle.operator.citus.TablePlacement;
import io.pgtrickle.operator.embedded.EmbeddedPostgresServer;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What Citus detection adds to each stream-table creation on plain PostgreSQL (target: at most 1
 * µs): the cached check and placement lookup, next to the uncached round trip for scale. Run with
 * {@code ./mvnw -Pbench test-compile exec:exec -Dbench.args=CitusDetection}; results in
 * docs/benchmarks.md.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class CitusDetectionBenchmark {
  private EmbeddedPostgresServer server;
  private Connection connection;
  private CitusTopology cached;

  @Setup(Level.Trial)
  public void start() throws SQLException {
    server = EmbeddedPostgresServer.start();
    connection = server.dataSource("postgres").getConnection();
    try (Statement statement = connection.createStatement()) {
      statement.execute("CREATE TABLE IF NOT EXISTS public.orders (id int)");
    }
    cached = new CitusTopology();
    cached.isCitusLoaded(connection);
  }

  @TearDown(Level.Trial)
  public void stop() throws SQLException {
    connection.close();
    server.close();
  }

  /** The hot path of stream-table creation: is Citus loaded, from the per-database cache. */
  @Benchmark
  public boolean cachedIsCitusLoaded() throws SQLException {
    return cached.isCitusLoaded(connection);
  }

  /** Placement of a source on plain PostgreSQL: the cached check, then the Local default. */
  @Benchmark
  public TablePlacement cachedPlacement() throws SQLException {
    return cached.placement(connection, "public", "orders");
  }

  /** For scale: detection without the cache, one round trip to the server. */
  @Benchmark
  public boolean uncachedIsCitusLoaded() throws SQLException {
    return new CitusTopology().isCitusLoaded(connection);
  }
}
