package io.pgtrickle.operator.adopt;

import io.pgtrickle.operator.catalog.ResolvedTable;
import io.pgtrickle.operator.catalog.TableLookup;
import io.pgtrickle.operator.cdc.TriggerCapture;
import io.pgtrickle.operator.naming.ObjectNames;
import io.pgtrickle.operator.naming.SqlIdentifiers;
import io.pgtrickle.operator.naming.StableName;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import javax.sql.DataSource;
import org.postgresql.replication.LogSequenceNumber;

/**
 * Undoes an adoption ({@link Adoption}): gives the database back to the upstream extension under
 * its old names. One transaction, with the sources locked:
 *
 * <ul>
 *   <li>refuses, changing nothing, when our catalog holds stream tables the adoption did not
 *       register (they would be lost), or an upstream storage table cannot be refilled ({@link
 *       UpstreamStorage#check});
 *   <li>drops our storage of each adopted stream table, puts the parked upstream one back under its
 *       name and refills its query's columns with the query's current result; its hidden columns
 *       stay empty and the stream table is marked {@code needs_reinit}, so that the upstream
 *       rebuilds it in full on its next cycle; sets its frontier to this transaction's WAL position
 *       (so the upstream applies only what comes after: what came while adopted is in the refill,
 *       nothing twice);
 *   <li>drops our capture of each source, re-enables the upstream triggers, moves the upstream
 *       buffers back to {@code pgtrickle_changes};
 *   <li>drops our catalog and the ledger, renames {@code pgtrickle_upstream} back to {@code
 *       pgtrickle}, gives {@code pgtrickle_changes} back to the extension.
 * </ul>
 *
 * After the commit, each WAL source's slot goes back: ours copied to {@code pgtrickle_<oid>},
 * advanced to the release position, then dropped; a re-run finishes it (the position is the
 * upstream frontier recorded in the transaction).
 */
public final class Release {
  private final DataSource dataSource;
  private final Adoption.StepHook hook;

  public Release(DataSource dataSource) {
    this(dataSource, Adoption.StepHook.NONE);
  }

  public Release(DataSource dataSource, Adoption.StepHook hook) {
    this.dataSource = dataSource;
    this.hook = hook;
  }

  /** Returns one line per fact, for people. */
  public List<String> release() throws AdoptionException {
    List<String> lines = new ArrayList<>();
    try {
      try (Connection connection = dataSource.getConnection()) {
        connection.setAutoCommit(false);
        connection.setTransactionIsolation(Connection.TRANSACTION_READ_COMMITTED);
        try {
          lines.addAll(releaseInTransaction(connection));
          hook.at("BEFORE_COMMIT");
          connection.commit();
        } catch (SQLException | RuntimeException | AdoptionException e) {
          connection.rollback();
          throw e;
        } finally {
          connection.setAutoCommit(true);
        }
      }
      hook.at("COMMITTED");
      int slots = 0;
      try (Connection connection = dataSource.getConnection()) {
        slots = giveSlotsBack(connection);
      }
      lines.add("handed " + slots + " slot(s) back to their OID names");
      return lines;
    } catch (SQLException e) {
      throw new AdoptionException("release failed: " + e.getMessage(), e);
    }
  }

  private List<String> releaseInTransaction(Connection connection)
      throws SQLException, AdoptionException {
    execute(connection, "SELECT pg_catalog.pg_advisory_xact_lock(hashtext('pgtrickle adopt'))");
    if (!AdoptionLedger.exists(connection)) {
      if (queryString(connection, "SELECT to_regclass('pgtrickle.pgt_schema_version')::text")
          != null) {
        return List.of("released earlier; finishing the slot handover");
      }
      throw new AdoptionException("nothing to release: this database holds no adoption ledger");
    }
    List<AdoptionLedger.AdoptedSource> sources = AdoptionLedger.sources(connection);
    List<AdoptionLedger.AdoptedStreamTable> tables = AdoptionLedger.streamTables(connection);
    UpstreamLayout layout = UpstreamLayout.read(connection, Adoption.PARKED_SCHEMA);
    Map<Long, UpstreamLayout.StreamTable> byId = new TreeMap<>();
    layout.streamTables().forEach(t -> byId.put(t.id(), t));
    requireOnlyAdoptedStreamTables(connection, tables);

    Map<Long, ResolvedTable> resolved = new TreeMap<>();
    for (AdoptionLedger.AdoptedSource source : sources) {
      if (source.stableName().isPresent()) {
        TableLookup.byOid(connection, source.oid()).ifPresent(t -> resolved.put(source.oid(), t));
      }
    }
    for (ResolvedTable table : resolved.values()) {
      execute(connection, "LOCK TABLE " + table.name().sqlName() + " IN SHARE ROW EXCLUSIVE MODE");
    }
    String releaseLsn = queryString(connection, "SELECT pg_catalog.pg_current_wal_insert_lsn()");

    Map<Long, UpstreamStorage> storages = new TreeMap<>();
    for (AdoptionLedger.AdoptedStreamTable table : tables) {
      if (table.parkedStorage() != null) {
        storages.put(
            table.upstreamId(),
            UpstreamStorage.check(
                connection,
                SqlIdentifiers.qualified(Adoption.PARKED_SCHEMA, "storage_" + table.upstreamId()),
                byId.get(table.upstreamId()).query(),
                SqlIdentifiers.qualified(table.schema(), table.name())));
      }
    }
    if (!storages.isEmpty()) {
      requireReinitFlag(connection);
    }
    boolean detached =
        queryString(
                connection,
                "SELECT 'yes' FROM "
                    + Adoption.PARKED_SCHEMA
                    + "."
                    + Adoption.LEDGER_TABLE
                    + " WHERE changes_schema_detached")
            != null;
    // Our catalog first: its views read our storage tables, and its trigger functions go with it.
    execute(connection, "DROP SCHEMA pgtrickle CASCADE");

    List<String> refilled = new ArrayList<>();
    for (AdoptionLedger.AdoptedStreamTable table : tables) {
      UpstreamLayout.StreamTable upstream = byId.get(table.upstreamId());
      String qualified = SqlIdentifiers.qualified(table.schema(), table.name());
      if (table.parkedStorage() != null) {
        String parked = "storage_" + table.upstreamId();
        execute(connection, "DROP TABLE IF EXISTS " + qualified);
        execute(
            connection,
            "ALTER TABLE "
                + SqlIdentifiers.qualified(Adoption.PARKED_SCHEMA, parked)
                + " RENAME TO "
                + SqlIdentifiers.quote(table.name()));
        execute(
            connection,
            "ALTER TABLE "
                + SqlIdentifiers.qualified(Adoption.PARKED_SCHEMA, table.name())
                + " SET SCHEMA "
                + SqlIdentifiers.quote(table.schema()));
        storages.get(table.upstreamId()).refill(connection, qualified, upstream.query());
        markForRebuild(connection, upstream.id());
        refilled.add(qualified);
      }
      recordUpstreamFrontier(connection, upstream, releaseLsn);
    }

    for (AdoptionLedger.AdoptedSource source : sources) {
      if (source.stableName().isEmpty()) {
        continue;
      }
      ObjectNames names = new ObjectNames(new StableName(source.stableName().get()));
      TriggerCapture.uninstall(connection, names);
      execute(
          connection, "DROP PUBLICATION IF EXISTS " + SqlIdentifiers.quote(names.publication()));
      ResolvedTable table = resolved.get(source.oid());
      if (table != null) {
        for (String trigger : disabledTriggers(connection, source.oid())) {
          execute(
              connection,
              "ALTER TABLE "
                  + table.name().sqlName()
                  + " ENABLE TRIGGER "
                  + SqlIdentifiers.quote(trigger));
        }
      }
      try (PreparedStatement update =
          connection.prepareStatement(
              "UPDATE "
                  + Adoption.PARKED_SCHEMA
                  + ".pgt_change_tracking SET last_consumed_lsn = ?::pg_lsn"
                  + " WHERE source_relid = ?")) {
        update.setString(1, releaseLsn);
        update.setLong(2, source.oid());
        update.executeUpdate();
      }
    }
    UpstreamLayout.moveBuffers(connection, Adoption.PARKED_SCHEMA, "pgtrickle_changes");
    for (String ledger :
        List.of(Adoption.LEDGER_TABLE, "pgt_adopted_source", "pgt_adopted_stream_table")) {
      execute(connection, "DROP TABLE " + Adoption.PARKED_SCHEMA + "." + ledger);
    }
    execute(connection, "ALTER SCHEMA " + Adoption.PARKED_SCHEMA + " RENAME TO pgtrickle");
    if (detached) {
      execute(connection, "ALTER EXTENSION pg_trickle ADD SCHEMA pgtrickle_changes");
    }
    List<String> lines = new ArrayList<>();
    lines.add(
        "released "
            + sources.stream().filter(s -> s.stableName().isPresent()).count()
            + " source(s) to the upstream extension; refilled "
            + (refilled.isEmpty() ? "no storage table" : String.join(", ", refilled))
            + " with its query's result"
            + (refilled.isEmpty()
                ? ""
                : ", marked needs_reinit (the upstream rebuilds its hidden columns on its next"
                    + " cycle)")
            + "; frontiers at "
            + releaseLsn);
    return lines;
  }

  /** Our catalog may hold only what the adoption registered: the rest would be lost. */
  private static void requireOnlyAdoptedStreamTables(
      Connection connection, List<AdoptionLedger.AdoptedStreamTable> adopted)
      throws SQLException, AdoptionException {
    List<String> others = new ArrayList<>();
    try (Statement statement = connection.createStatement();
        ResultSet rs =
            statement.executeQuery(
                "SELECT st_schema, st_name FROM pgtrickle.pgt_stream_tables ORDER BY 1, 2")) {
      while (rs.next()) {
        String schema = rs.getString(1);
        String name = rs.getString(2);
        if (adopted.stream().noneMatch(t -> t.schema().equals(schema) && t.name().equals(name))) {
          others.add(SqlIdentifiers.qualified(schema, name));
        }
      }
    }
    if (!others.isEmpty()) {
      throw new AdoptionException(
          "nothing was released: stream tables made since the adoption would be lost ("
              + String.join(", ", others)
              + "); delete them first");
    }
  }

  /**
   * Every upstream catalog up to 0.31 has {@code needs_reinit}; without it the upstream could not
   * be told to rebuild the hidden columns a release leaves empty.
   */
  private static void requireReinitFlag(Connection connection)
      throws SQLException, AdoptionException {
    if (queryString(
            connection,
            "SELECT 'yes' FROM pg_catalog.pg_attribute WHERE attrelid = to_regclass('"
                + Adoption.PARKED_SCHEMA
                + ".pgt_stream_tables') AND attname = 'needs_reinit' AND NOT attisdropped")
        == null) {
      throw new AdoptionException(
          "nothing was released: the upstream catalog has no needs_reinit column, so the"
              + " upstream could not be told to rebuild its storage tables' hidden columns");
    }
  }

  /**
   * The upstream's scheduler rebuilds a stream table marked {@code needs_reinit} in full on its
   * next cycle, hidden columns included, then clears the mark.
   */
  private static void markForRebuild(Connection connection, long upstreamId) throws SQLException {
    try (PreparedStatement update =
        connection.prepareStatement(
            "UPDATE "
                + Adoption.PARKED_SCHEMA
                + ".pgt_stream_tables SET needs_reinit = true, updated_at = now()"
                + " WHERE pgt_id = ?")) {
      update.setLong(1, upstreamId);
      update.executeUpdate();
    }
  }

  /** Each source the stream table reads: {"lsn": release position, "snapshot_ts": now}. */
  private static void recordUpstreamFrontier(
      Connection connection, UpstreamLayout.StreamTable upstream, String lsn) throws SQLException {
    for (long oid : upstream.sources()) {
      try (PreparedStatement update =
          connection.prepareStatement(
              "UPDATE "
                  + Adoption.PARKED_SCHEMA
                  + ".pgt_stream_tables SET frontier = jsonb_set(coalesce(frontier,"
                  + " '{}'::jsonb) || jsonb_build_object('sources', coalesce(frontier -> 'sources',"
                  + " '{}'::jsonb)), ARRAY['sources', ?], jsonb_build_object('lsn', ?::text,"
                  + " 'snapshot_ts', now()::text)) || jsonb_build_object('data_timestamp',"
                  + " now()::text), data_timestamp = now(), last_refresh_at = now()"
                  + " WHERE pgt_id = ?")) {
        update.setString(1, Long.toString(oid));
        update.setString(2, lsn);
        update.setLong(3, upstream.id());
        update.executeUpdate();
      }
    }
  }

  private static List<String> disabledTriggers(Connection connection, long oid)
      throws SQLException {
    List<String> triggers = new ArrayList<>();
    try (PreparedStatement select =
        connection.prepareStatement(
            "SELECT unnest(disabled_triggers) FROM "
                + Adoption.PARKED_SCHEMA
                + ".pgt_adopted_source WHERE source_oid = ?")) {
      select.setLong(1, oid);
      try (ResultSet rs = select.executeQuery()) {
        while (rs.next()) {
          triggers.add(rs.getString(1));
        }
      }
    }
    return triggers;
  }

  /**
   * After the commit: each WAL source's slot back to {@code pgtrickle_<oid>} (copy of ours,
   * advanced to the upstream frontier the release recorded, ours dropped). Idempotent.
   */
  private int giveSlotsBack(Connection connection) throws SQLException {
    if (queryString(connection, "SELECT to_regclass('pgtrickle.pgt_schema_version')::text")
        == null) {
      return 0; // not released (our catalog is in pgtrickle)
    }
    int moved = 0;
    UpstreamLayout layout = UpstreamLayout.read(connection, "pgtrickle");
    for (UpstreamLayout.Source source : layout.sources().values()) {
      if (!source.wal()) {
        continue;
      }
      Optional<ResolvedTable> table = TableLookup.byOid(connection, source.oid());
      if (table.isEmpty()) {
        continue;
      }
      String ours = new ObjectNames(table.get().stableName()).replicationSlot();
      if (!SourceTakeover.slotExists(connection, ours)) {
        continue;
      }
      if (!SourceTakeover.slotExists(connection, source.slot())) {
        try (PreparedStatement copy =
            connection.prepareStatement(
                "SELECT pg_catalog.pg_copy_logical_replication_slot(?, ?)")) {
          copy.setString(1, ours);
          copy.setString(2, source.slot());
          copy.execute();
        }
      }
      hook.at("SLOT_COPIED");
      String lsn;
      try (PreparedStatement select =
          connection.prepareStatement(
              "SELECT last_consumed_lsn::text FROM pgtrickle.pgt_change_tracking"
                  + " WHERE source_relid = ?")) {
        select.setLong(1, source.oid());
        try (ResultSet rs = select.executeQuery()) {
          lsn = rs.next() ? rs.getString(1) : null;
        }
      }
      if (lsn != null) {
        // A slot advances no further than the WAL flushed (see SlotHandover).
        io.pgtrickle.operator.capture.WalCapture.flushWal(connection);
        io.pgtrickle.operator.cdc.wal.SlotReader.advance(
            connection, source.slot(), LogSequenceNumber.valueOf(lsn).asLong());
      }
      try (PreparedStatement drop =
          connection.prepareStatement("SELECT pg_catalog.pg_drop_replication_slot(?)")) {
        drop.setString(1, ours);
        drop.execute();
      }
      moved++;
    }
    return moved;
  }

  private static void execute(Connection connection, String sql) throws SQLException {
    try (Statement statement = connection.createStatement()) {
      statement.execute(sql);
    }
  }

  private static String queryString(Connection connection, String sql) throws SQLException {
    try (Statement statement = connection.createStatement();
        ResultSet rs = statement.executeQuery(sql)) {
      return rs.next() ? rs.getString(1) : null;
    }
  }
}
