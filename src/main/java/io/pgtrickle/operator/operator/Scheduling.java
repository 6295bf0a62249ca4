package io.pgtrickle.operator.operator;

import io.pgtrickle.operator.engine.RefreshScheduler;
import io.pgtrickle.operator.engine.StreamTableDefinition;
import io.pgtrickle.operator.engine.StreamTableEngine;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Keeps one refresh schedule per StreamTable. Reconciles run often; a schedule is only replaced
 * when its engine (the cluster's connection) or its interval changed, so ticks keep their rhythm.
 */
public final class Scheduling {
  private final RefreshScheduler scheduler;
  private final Map<String, Scheduled> current = new ConcurrentHashMap<>();

  public Scheduling(RefreshScheduler scheduler) {
    this.scheduler = scheduler;
  }

  public void ensure(String key, StreamTableEngine engine, StreamTableDefinition definition) {
    Scheduled wanted =
        new Scheduled(
            engine, definition.schema(), definition.name(), definition.schedule().interval());
    Scheduled existing = current.get(key);
    if (wanted.equals(existing)) {
      return;
    }
    scheduler.schedule(key, engine, definition.schema(), definition.name(), wanted.interval());
    current.put(key, wanted);
  }

  public void cancel(String key) {
    scheduler.cancel(key);
    current.remove(key);
  }

  private record Scheduled(
      StreamTableEngine engine, String schema, String name, Duration interval) {}
}
