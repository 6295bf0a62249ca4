package io.pgtrickle.operator.operator;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgtrickle.operator.api.NodeFrontier;
import io.pgtrickle.operator.api.SourceStatus;
import io.pgtrickle.operator.api.StreamTableStatus;
import io.pgtrickle.operator.status.Conditions;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class StatusRecorderTest {
  private final AtomicReference<Instant> now =
      new AtomicReference<>(Instant.parse("2026-11-24T10:00:00Z"));
  private final Clock clock =
      new Clock() {
        @Override
        public ZoneOffset getZone() {
          return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
          return this;
        }

        @Override
        public Instant instant() {
          return now.get();
        }
      };
  private final StatusRecorder recorder =
      new StatusRecorder(
          Duration.ofSeconds(10),
          clock,
          List.of("conditions[].lastTransitionTime", "sources[].frontier[].lsn", "maxLagBytes"));

  @Test
  void progressAloneIsWrittenAtMostOncePerInterval() {
    StreamTableStatus written = status("0/100", true);
    assertThat(recorder.shouldWrite("uid", null, written)).isTrue();

    now.set(now.get().plusSeconds(1));
    assertThat(recorder.shouldWrite("uid", written, status("0/200", true))).isFalse();
    now.set(now.get().plusSeconds(5));
    assertThat(recorder.shouldWrite("uid", written, status("0/300", true))).isFalse();
    now.set(now.get().plusSeconds(4));
    assertThat(recorder.shouldWrite("uid", written, status("0/400", true))).isTrue();
  }

  @Test
  void aConditionChangeIsWrittenAtOnce() {
    StreamTableStatus written = status("0/100", true);
    recorder.shouldWrite("uid", null, written);
    now.set(now.get().plusMillis(10));

    assertThat(recorder.shouldWrite("uid", written, status("0/100", false))).isTrue();
  }

  @Test
  void anUnchangedStatusIsNeverWritten() {
    StreamTableStatus written = status("0/100", true);
    StreamTableStatus same = status("0/100", true);
    now.set(now.get().plusSeconds(3600));
    assertThat(recorder.shouldWrite("uid", written, same)).isFalse();
  }

  private StreamTableStatus status(String lsn, boolean ready) {
    StreamTableStatus status = new StreamTableStatus();
    status.setObservedGeneration(1L);
    status.setConditions(
        List.of(
            Conditions.of(
                Conditions.READY, ready, ready ? "Ready" : "RefreshFailed", "m", 1, now.get())));
    SourceStatus source = new SourceStatus();
    source.setTable("public.orders");
    source.setFrontier(List.of(new NodeFrontier(0, "coordinator", lsn, 0L)));
    status.setSources(List.of(source));
    return status;
  }
}
