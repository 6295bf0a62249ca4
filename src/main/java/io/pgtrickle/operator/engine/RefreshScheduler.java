package io.pgtrickle.operator.engine;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs each stream table's refresh on its schedule, one tick after the other finishes (fixed delay:
 * a slow refresh never piles up). A failing tick is reported and the next one still runs.
 */
public final class RefreshScheduler implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(RefreshScheduler.class);

  private final ScheduledExecutorService executor;
  private final Listener listener;
  private final Map<String, ScheduledFuture<?>> scheduled = new ConcurrentHashMap<>();

  /** Told about every tick; used for status and metrics. */
  public interface Listener {
    Listener NONE = new Listener() {};

    default void refreshed(String schema, String name, RefreshOutcome outcome) {}

    default void failed(String schema, String name, EngineException failure) {}
  }

  public RefreshScheduler(int threads, Listener listener) {
    AtomicInteger counter = new AtomicInteger();
    this.executor =
        Executors.newScheduledThreadPool(
            threads,
            runnable -> {
              Thread thread = new Thread(runnable, "refresh-" + counter.incrementAndGet());
              thread.setDaemon(true);
              return thread;
            });
    this.listener = listener;
  }

  /** Schedules (or reschedules) the stream table's refresh every {@code interval}. */
  public void schedule(StreamTableEngine engine, String schema, String name, Duration interval) {
    String key = schema + "." + name;
    cancel(schema, name);
    scheduled.put(
        key,
        executor.scheduleWithFixedDelay(
            () -> tick(engine, schema, name),
            interval.toMillis(),
            interval.toMillis(),
            TimeUnit.MILLISECONDS));
  }

  public void cancel(String schema, String name) {
    ScheduledFuture<?> previous = scheduled.remove(schema + "." + name);
    if (previous != null) {
      previous.cancel(false);
    }
  }

  private void tick(StreamTableEngine engine, String schema, String name) {
    try {
      RefreshOutcome outcome = engine.refresh(schema, name);
      listener.refreshed(schema, name, outcome);
    } catch (EngineException e) {
      LOG.warn("refresh of {}.{} failed ({}): {}", schema, name, e.reason(), e.getMessage());
      listener.failed(schema, name, e);
    } catch (RuntimeException e) {
      LOG.error("refresh of {}.{} failed unexpectedly", schema, name, e);
      listener.failed(
          schema, name, new EngineException(Reason.RefreshFailed, String.valueOf(e), e));
    }
  }

  @Override
  public void close() {
    executor.shutdownNow();
    try {
      executor.awaitTermination(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
