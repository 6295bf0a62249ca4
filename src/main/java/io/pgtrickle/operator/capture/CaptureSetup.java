package io.pgtrickle.operator.capture;

import io.pgtrickle.operator.catalog.CdcMode;
import io.pgtrickle.operator.catalog.ChangeTrackingRegistry;
import io.pgtrickle.operator.catalog.SourceRegistration;
import io.pgtrickle.operator.catalog.StableNameCollisionException;
import io.pgtrickle.operator.catalog.TrackedSource;
import io.pgtrickle.operator.cdc.ChangeBuffer;
import io.pgtrickle.operator.cdc.TriggerCapture;
import io.pgtrickle.operator.engine.EngineException;
import io.pgtrickle.operator.engine.Reason;
import io.pgtrickle.operator.engine.SourceTable;
import io.pgtrickle.operator.engine.StreamTableCatalog;
import io.pgtrickle.operator.naming.ObjectNames;
import io.pgtrickle.operator.naming.StableName;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/** Sets up and tears down capture of a stream table's sources, inside the caller's transaction. */
public final class CaptureSetup {
  private final ChangeTrackingRegistry registry;

  public CaptureSetup(ChangeTrackingRegistry registry) {
    this.registry = registry;
  }

  /**
   * Blocks writers of the sources until the transaction ends, and waits for writers in flight. From
   * here on no source change can commit unseen: it is either visible to this transaction's later
   * statements or fires the capture triggers after we commit. Sorted, so two creations never
   * deadlock.
   */
  public static void lockSources(Connection connection, List<SourceTable> sources)
      throws SQLException {
    List<String> tables =
        sources.stream()
            .sorted(Comparator.comparing(s -> s.table().stableName().value()))
            .map(SourceTable::qualifiedName)
            .toList();
    try (Statement statement = connection.createStatement()) {
      statement.execute("LOCK TABLE " + String.join(", ", tables) + " IN SHARE ROW EXCLUSIVE MODE");
    }
  }

  /**
   * Registers each source, installs its capture if missing (triggers; for WAL the buffer, the slot
   * being prepared outside the transaction), and records the consumer.
   */
  public void attach(Connection connection, long streamTableId, List<CapturePlan> plans)
      throws SQLException, EngineException {
    for (CapturePlan plan : plans) {
      SourceTable source = plan.source();
      CdcMode mode = plan.mode();
      StableName stableName;
      try {
        stableName =
            registry.register(
                connection, new SourceRegistration(source.table(), plan.placement(), mode));
      } catch (StableNameCollisionException e) {
        throw new EngineException(Reason.Conflict, e.getMessage(), e);
      }
      TrackedSource registered = registry.find(connection, stableName).orElseThrow();
      if (registered.placement() != plan.placement()) {
        // Its capture was made for where its data lived then (triggers, or slots on the nodes of
        // that placement), and cannot follow it to another kind of table.
        throw new EngineException(
            Reason.NotSupported,
            "source "
                + source.qualifiedName()
                + " was captured as a "
                + registered.placement().catalogValue()
                + " table and is a "
                + plan.placement().catalogValue()
                + " table now (a Citus dump restored without distributing its tables again, or"
                + " the table distributed or undistributed since); make it a "
                + registered.placement().catalogValue()
                + " table again, or delete and re-create the stream tables that read it");
      }
      CdcMode tracked = registered.cdcMode();
      if (tracked != mode) {
        throw new EngineException(
            Reason.InvalidSpec,
            "source "
                + source.qualifiedName()
                + " is already captured by "
                + (tracked == CdcMode.WAL ? "WAL" : "triggers")
                + " for other stream tables; use cdcMode: "
                + tracked.catalogValue()
                + " for this one too");
      }
      try {
        if (mode == CdcMode.WAL) {
          ChangeBuffer.create(connection, source.names());
        } else {
          TriggerCapture.install(
              connection,
              source.table().name().schema(),
              source.table().name().table(),
              source.names());
        }
      } catch (SQLException e) {
        throw captureError(source, e);
      }
      registry.addConsumer(connection, stableName, streamTableId);
      StreamTableCatalog.addDependency(
          connection, streamTableId, source.table().oid(), stableName, plan.placement());
    }
  }

  /**
   * Removes the consumer; the last consumer takes the capture objects with it (a WAL source's slot
   * and publication are dropped after the commit).
   */
  public void detach(
      Connection connection, long streamTableId, StableName source, WalCapture.AfterCommit after)
      throws SQLException {
    StreamTableCatalog.removeDependency(connection, streamTableId, source);
    boolean wal =
        registry.find(connection, source).map(t -> t.cdcMode() == CdcMode.WAL).orElse(false);
    if (registry.removeConsumer(connection, source, streamTableId)) {
      ObjectNames names = new ObjectNames(source);
      if (wal) {
        try (Statement statement = connection.createStatement()) {
          statement.execute("DROP TABLE IF EXISTS " + names.changeBufferQualified());
        }
        after.drop(names);
      } else {
        TriggerCapture.uninstall(connection, names);
      }
    }
  }

  private static EngineException captureError(SourceTable source, SQLException e) {
    String state = e.getSQLState() == null ? "" : e.getSQLState();
    String message =
        "could not set up change capture on " + source.qualifiedName() + ": " + e.getMessage();
    return switch (state) {
      case "42501" ->
          new EngineException(
              Reason.PrerequisitesMissing,
              message + " (the operator's role must own the source table)",
              e);
      case "42809", "0A000" ->
          new EngineException(
              Reason.NotSupported,
              message.toLowerCase(Locale.ROOT).contains("partition")
                  ? message + " (capture the partitioned parent instead)"
                  : message,
              e);
      default -> new EngineException(Reason.InvalidQuery, message, e);
    };
  }
}
