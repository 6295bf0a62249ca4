package io.pgtrickle.operator.operator;

import java.time.Duration;
import java.util.Set;

/**
 * How the operator runs: which namespaces it watches (empty: all), leader election (and whether
 * losing the lease ends the process, as it must in production so that two replicas never work at
 * once), how often frontier progress may be written to status, how often resources are re-checked,
 * and the port of the health and metrics endpoints.
 */
public record OperatorSettings(
    Set<String> namespaces,
    boolean leaderElection,
    String leaderElectionNamespace,
    boolean exitOnLostLeadership,
    Duration statusInterval,
    Duration resyncInterval,
    int httpPort,
    long slotLagLimitBytes) {
  public static final String LEASE_NAME = "pg-trickle-operator-leader";

  public OperatorSettings {
    namespaces = Set.copyOf(namespaces);
  }
}
