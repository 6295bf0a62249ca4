package io.pgtrickle.operator.operator;

import java.time.Duration;
import java.util.Set;

/**
 * How the operator runs: which namespaces it watches (empty: all), leader election, how often
 * frontier progress may be written to status, how often resources are re-checked, and the port of
 * the health and metrics endpoints.
 */
public record OperatorSettings(
    Set<String> namespaces,
    boolean leaderElection,
    String leaderElectionNamespace,
    Duration statusInterval,
    Duration resyncInterval,
    int httpPort) {
  public static final String LEASE_NAME = "pg-trickle-operator-leader";

  public OperatorSettings {
    namespaces = Set.copyOf(namespaces);
  }
}
