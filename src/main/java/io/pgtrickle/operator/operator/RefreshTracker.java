package io.pgtrickle.operator.operator;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.pgtrickle.operator.engine.EngineException;
import io.pgtrickle.operator.engine.RefreshOutcome;
import io.pgtrickle.operator.engine.RefreshScheduler;
import io.pgtrickle.operator.engine.StreamTableReport;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Hears every refresh tick: records metrics (duration, rows applied, failures, lag per source and
 * node) and remembers each table's latest failure for the Degraded condition. Touches no API.
 */
public final class RefreshTracker implements RefreshScheduler.Listener {
  private final MeterRegistry registry;
  private final Map<String, EngineException> lastFailure = new ConcurrentHashMap<>();
  private final Map<String, AtomicLong> lags = new ConcurrentHashMap<>();

  public RefreshTracker(MeterRegistry registry) {
    this.registry = registry;
  }

  /** Forgets a deleted resource (keyed namespace/name, as scheduled). */
  public void untrack(String key) {
    lastFailure.remove(key);
  }

  public Optional<EngineException> lastFailure(String key) {
    return Optional.ofNullable(lastFailure.get(key));
  }

  @Override
  public void refreshed(String key, RefreshOutcome outcome) {
    if (outcome.kind() == RefreshOutcome.Kind.APPLIED) {
      lastFailure.remove(key);
      Tags tags = tags(key);
      Timer.builder("pgtrickle.refresh.duration")
          .description("Time to apply captured changes to a stream table")
          .tags(tags)
          .register(registry)
          .record(Duration.ofMillis(outcome.durationMillis()));
      Counter.builder("pgtrickle.refresh.rows")
          .description("Rows inserted or deleted in stream tables by refreshes")
          .tags(tags)
          .register(registry)
          .increment((double) outcome.rowsChanged());
    } else if (outcome.kind() == RefreshOutcome.Kind.NO_CHANGES) {
      lastFailure.remove(key);
    }
  }

  @Override
  public void failed(String key, EngineException failure) {
    lastFailure.put(key, failure);
    Counter.builder("pgtrickle.refresh.failures")
        .description("Refreshes that failed")
        .tags(tags(key).and("reason", failure.reason().name()))
        .register(registry)
        .increment();
  }

  /** Publishes the lag of every source on every node of a report as gauges. */
  public void recordLag(String key, StreamTableReport report) {
    for (StreamTableReport.SourceReport source : report.sources()) {
      for (StreamTableReport.NodeReport node : source.nodes()) {
        String id = key + "|" + source.stableName() + "|" + node.nodeId();
        AtomicLong value =
            lags.computeIfAbsent(
                id,
                k -> {
                  AtomicLong holder = new AtomicLong();
                  registry.gauge(
                      "pgtrickle.source.lag.bytes",
                      tags(key).and("source", source.table()).and("node", node.node()),
                      holder);
                  return holder;
                });
        value.set(node.lagBytes());
      }
    }
  }

  private static Tags tags(String key) {
    return Tags.of("streamtable", key);
  }
}
