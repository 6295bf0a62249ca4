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

    /** {@code key} is the caller's name for the scheduled table, as given to schedule. */
    default void refreshed(String key, RefreshOutcome outcome) {}

    default void failed(String key, EngineException failure) {}
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

  /**
   * Schedules (or reschedules) the stream table's refresh every {@code interval}. {@code key} names
   * it uniquely across databases (two databases may both have public.orders_summary).
   */
  public void schedule(
      String key, StreamTableEngine engine, String schema, String name, Duration interval) {
    cancel(key);
    scheduled.put(
        key,
        executor.scheduleWithFixedDelay(
            () -> tick(key, engine, schema, name),
            interval.toMillis(),
            interval.toMillis(),
            TimeUnit.MILLISECONDS));
  }

  public void cancel(String key) {
    ScheduledFuture<?> previous = scheduled.remove(key);
    if (previous != null) {
      previous.cancel(false);
    }
  }

  private void tick(String key, StreamTableEngine engine, String schema, String name) {
    try {
      RefreshOutcome outcome = engine.refresh(schema, name);
      listener.refreshed(key, outcome);
    } catch (EngineException e) {
      LOG.warn(
          "refresh of {} ({}.{}) failed ({}): {}", key, schema, name, e.reason(), e.getMessage());
      listener.failed(key, e);
    } catch (RuntimeException e) {
      LOG.error("refresh of {} ({}.{}) failed unexpectedly", key, schema, name, e);
      listener.failed(key, new EngineException(Reason.RefreshFailed, String.valueOf(e), e));
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
