package io.pgtrickle.operator.adopt;

import io.pgtrickle.operator.cdc.ChangeBuffer;
import io.pgtrickle.operator.cdc.wal.SlotReader;
import io.pgtrickle.operator.naming.ObjectNames;
import io.pgtrickle.operator.naming.StableName;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import org.postgresql.replication.LogSequenceNumber;

/**
 * Hands a WAL source's slot over after the adoption committed. PostgreSQL cannot rename a slot, and
 * a new slot would start at its creation and miss what is written between the commit and then; so
 * the upstream slot {@code pgtrickle_<oid>} is copied to {@code pgtrickle_<stable name>}, the copy
 * moved to the adoption point (what came before was converted in the adoption; pgoutput could not
 * decode it anyway, as our publication did not exist at that WAL), and only then is the old slot
 * dropped. Each step checks what exists, so a run that stopped anywhere is completed by the next.
 */
final class SlotHandover {
  private SlotHandover() {}

  /** Where a handover stops in tests. */
  enum Step {
    COPIED,
    ADVANCED
  }

  /** Returns whether the slot had to be re-made empty (both were gone: the source is re-synced). */
  static boolean handOver(
      Connection connection,
      long oid,
      StableName stableName,
      String adoptionLsn,
      Adoption.StepHook hook)
      throws SQLException {
    String old = "pgtrickle_" + oid;
    ObjectNames names = new ObjectNames(stableName);
    boolean resynced = false;
    if (!SourceTakeover.slotExists(connection, names.replicationSlot())) {
      if (SourceTakeover.slotExists(connection, old)) {
        try (PreparedStatement copy =
            connection.prepareStatement(
                "SELECT pg_catalog.pg_copy_logical_replication_slot(?, ?)")) {
          copy.setString(1, old);
          copy.setString(2, names.replicationSlot());
          copy.execute();
        }
      } else {
        // Nothing to copy from (dropped by hand): a new slot, and a full read of the source
        // for every consumer, since what was written meanwhile is not in any slot.
        try (PreparedStatement create =
            connection.prepareStatement(
                "SELECT pg_catalog.pg_create_logical_replication_slot(?, 'pgoutput')")) {
          create.setString(1, names.replicationSlot());
          create.execute();
        }
        ChangeBuffer.markResync(connection, names, 0);
        resynced = true;
      }
    }
    hook.at(Step.COPIED.name());
    // A slot advances no further than the WAL flushed; the adoption's commit may not be yet
    // (synchronous_commit off), and the copy would stay behind the adoption point.
    io.pgtrickle.operator.capture.WalCapture.flushWal(connection);
    SlotReader.advance(connection, names, LogSequenceNumber.valueOf(adoptionLsn).asLong());
    hook.at(Step.ADVANCED.name());
    if (SourceTakeover.slotExists(connection, old)) {
      try (PreparedStatement drop =
          connection.prepareStatement("SELECT pg_catalog.pg_drop_replication_slot(?)")) {
        drop.setString(1, old);
        drop.execute();
      }
    }
    AdoptionLedger.slotHandedOver(connection, oid);
    return resynced;
  }
}
