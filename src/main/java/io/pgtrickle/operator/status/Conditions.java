package io.pgtrickle.operator.status;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/** Kubernetes-style conditions; a condition keeps its transition time while its status holds. */
public final class Conditions {
  public static final String READY = "Ready";

  private Conditions() {}

  public static Condition of(
      String type, boolean status, String reason, String message, long generation, Instant now) {
    return new ConditionBuilder()
        .withType(type)
        .withStatus(status ? "True" : "False")
        .withReason(reason)
        .withMessage(message)
        .withObservedGeneration(generation)
        .withLastTransitionTime(now.truncatedTo(ChronoUnit.SECONDS).toString())
        .build();
  }

  /**
   * Puts {@code next} into the list, replacing the condition of the same type; if that one had the
   * same status, its lastTransitionTime is kept (the condition did not transition).
   */
  public static List<Condition> merge(List<Condition> previous, Condition next) {
    List<Condition> merged = new ArrayList<>();
    Optional<Condition> old =
        previous == null
            ? Optional.empty()
            : previous.stream().filter(c -> c.getType().equals(next.getType())).findFirst();
    if (old.isPresent() && Objects.equals(old.get().getStatus(), next.getStatus())) {
      next.setLastTransitionTime(old.get().getLastTransitionTime());
    }
    if (previous != null) {
      previous.stream().filter(c -> !c.getType().equals(next.getType())).forEach(merged::add);
    }
    merged.add(next);
    return merged;
  }

  public static Optional<Condition> find(List<Condition> conditions, String type) {
    return conditions == null
        ? Optional.empty()
        : conditions.stream().filter(c -> type.equals(c.getType())).findFirst();
  }

  public static boolean isTrue(List<Condition> conditions, String type) {
    return find(conditions, type).map(c -> "True".equals(c.getStatus())).orElse(false);
  }
}
