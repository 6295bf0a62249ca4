package io.pgtrickle.operator.operator;

import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.pgtrickle.operator.api.CitusCluster;
import io.pgtrickle.operator.api.CitusClusterStatus;
import io.pgtrickle.operator.api.NodeStatus;
import io.pgtrickle.operator.engine.EngineException;
import io.pgtrickle.operator.engine.Reason;
import io.pgtrickle.operator.status.Conditions;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Thin controller for CitusClusters: connects (which also migrates the catalog), inspects the nodes
 * and records what it found. Runs again every resync interval, so a node that becomes unreachable
 * or loses a prerequisite shows up without any change to the resource.
 */
@ControllerConfiguration(name = "cituscluster")
public final class CitusClusterReconciler implements Reconciler<CitusCluster> {
  static final String PREREQUISITES = "PrerequisitesMet";
  static final String ADOPTED = "UpstreamAdopted";

  private final ClusterConnections connections;
  private final ClusterInspector inspector;
  private final StatusRecorder recorder;
  private final Events events;
  private final OperatorSettings settings;
  private final Clock clock;

  public CitusClusterReconciler(
      ClusterConnections connections,
      ClusterInspector inspector,
      StatusRecorder recorder,
      Events events,
      OperatorSettings settings,
      Clock clock) {
    this.connections = connections;
    this.inspector = inspector;
    this.recorder = recorder;
    this.events = events;
    this.settings = settings;
    this.clock = clock;
  }

  @Override
  public UpdateControl<CitusCluster> reconcile(
      CitusCluster resource, Context<CitusCluster> context) {
    CitusClusterStatus previous = resource.getStatus();
    long generation = Objects.requireNonNullElse(resource.getMetadata().getGeneration(), 1L);
    CitusClusterStatus next = new CitusClusterStatus();
    next.setObservedGeneration(generation);
    try {
      ClusterConnections.Handle handle = connections.handle(resource);
      ClusterInspector.Inspection inspection = inspector.inspect(resource, handle);
      next.setPostgresVersion(inspection.postgresVersion());
      next.setCitusVersion(inspection.citusVersion());
      next.setNodes(inspection.nodes());
      next.setNodeCount(inspection.nodes().size());
      next.setConditions(
          Conditions.merge(
              Conditions.merge(
                  previous == null ? null : previous.getConditions(),
                  Conditions.of(
                      Conditions.READY,
                      true,
                      "Ready",
                      "connected to the coordinator; the pgtrickle catalog is current",
                      generation,
                      clock.instant())),
              prerequisites(inspection.nodes(), generation)));
      handle
          .adoption()
          .ifPresent(report -> recordAdoption(resource, previous, next, report, generation));
    } catch (EngineException e) {
      next.setConditions(
          Conditions.merge(
              previous == null ? null : previous.getConditions(),
              Conditions.of(
                  Conditions.READY,
                  false,
                  e.reason().name(),
                  e.getMessage(),
                  generation,
                  clock.instant())));
      if (previous == null
          || Conditions.isTrue(previous.getConditions(), Conditions.READY)
          || previous.getConditions().isEmpty()) {
        events.warning(resource, e.reason().name(), e.getMessage());
      }
    }
    UpdateControl<CitusCluster> control;
    if (recorder.shouldWrite(resource.getMetadata().getUid(), previous, next)) {
      resource.setStatus(next);
      control = UpdateControl.patchStatus(resource);
    } else {
      control = UpdateControl.noUpdate();
    }
    return control.rescheduleAfter(settings.resyncInterval());
  }

  /**
   * spec.adoptUpstream took the upstream install over (or had earlier): a condition says so for
   * good, an event when it first does.
   */
  private void recordAdoption(
      CitusCluster resource,
      CitusClusterStatus previous,
      CitusClusterStatus next,
      io.pgtrickle.operator.adopt.AdoptionReport report,
      long generation) {
    boolean didSomething =
        !report.sources().isEmpty()
            || report.slotsHandedOver() > 0
            || !report.streamTables().isEmpty();
    String message =
        didSomething
            ? String.join("; ", report.lines())
            : "the upstream pg_trickle install was adopted earlier (ledger in schema"
                + " pgtrickle_upstream)";
    next.setConditions(
        Conditions.merge(
            next.getConditions(),
            Conditions.of(ADOPTED, true, ADOPTED, message, generation, clock.instant())));
    if (previous == null || !Conditions.isTrue(previous.getConditions(), ADOPTED)) {
      events.normal(resource, ADOPTED, message);
    }
  }

  private io.fabric8.kubernetes.api.model.Condition prerequisites(
      Map<String, NodeStatus> nodes, long generation) {
    List<String> problems = new ArrayList<>();
    nodes.forEach(
        (name, node) -> {
          if (!Boolean.TRUE.equals(node.getReachable())) {
            problems.add(name + ": unreachable");
          } else if (!node.getMissing().isEmpty()) {
            problems.add(name + ": " + String.join(", ", node.getMissing()));
          }
        });
    return problems.isEmpty()
        ? Conditions.of(
            PREREQUISITES,
            true,
            "PrerequisitesMet",
            "every node is reachable and ready for WAL capture",
            generation,
            clock.instant())
        : Conditions.of(
            PREREQUISITES,
            false,
            Reason.PrerequisitesMissing.name(),
            String.join("; ", problems),
            generation,
            clock.instant());
  }
}
