package io.pgtrickle.operator.adopt;

import io.pgtrickle.operator.api.CdcModeSpec;
import io.pgtrickle.operator.api.DeletionPolicy;
import io.pgtrickle.operator.api.PlacementMode;
import io.pgtrickle.operator.api.RefreshMode;
import io.pgtrickle.operator.capture.WalCapture;
import io.pgtrickle.operator.catalog.CatalogMigrator;
import io.pgtrickle.operator.catalog.ResolvedTable;
import io.pgtrickle.operator.catalog.TableLookup;
import io.pgtrickle.operator.catalog.UpstreamInstall;
import io.pgtrickle.operator.cdc.ChangeText;
import io.pgtrickle.operator.cdc.wal.SlotReader;
import io.pgtrickle.operator.cdc.wal.WalTransaction;
import io.pgtrickle.operator.engine.EngineException;
import io.pgtrickle.operator.engine.Schedule;
import io.pgtrickle.operator.engine.ServerMove;
import io.pgtrickle.operator.engine.StreamTableDefinition;
import io.pgtrickle.operator.engine.StreamTableEngine;
import io.pgtrickle.operator.naming.ObjectNames;
import io.pgtrickle.operator.naming.SqlIdentifiers;
import io.pgtrickle.operator.naming.StableName;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import javax.sql.DataSource;
import org.flywaydb.core.api.FlywayException;

/**
 * Adopts an install of the upstream pg_trickle extension (up to 0.31) on explicit request, in three
 * steps, each of which a re-run completes if a crash interrupted it:
 *
 * <ol>
 *   <li>Our publications of WAL sources, committed first ({@link #createPublicationsFirst}).
 *   <li>One transaction, holding the sources' locks (writers wait; nothing is in flight): read the
 *       changes still in the upstream slots (before anything is written, with the upstream
 *       publications, the only ones that exist for that WAL); rename the upstream schema {@code
 *       pgtrickle} to {@value #PARKED_SCHEMA} (its catalog table {@code pgt_stream_tables} has our
 *       table's name) and create our catalog there and then ({@link TransactionDataSource}); move
 *       each source's capture to its stable name ({@link SourceTakeover}) with its pending changes;
 *       park each upstream stream table's storage table next to the upstream catalog; record all of
 *       it in the ledger ({@link AdoptionLedger}).
 *   <li>After the commit: the slot handover ({@link SlotHandover}).
 *   <li>Register each upstream stream table with our engine, which creates its storage anew and
 *       loads it in full once: the upstream storage carries its own hidden columns and row ids,
 *       which ours cannot continue from. Its declaration has no owner until a StreamTable claims
 *       it.
 * </ol>
 *
 * A source whose table does not resolve any more (so no stable name can be computed) is left as it
 * was, under its OID, with the stream tables reading it; a later run takes it over once it does.
 */
public final class Adoption {
  public static final String PARKED_SCHEMA = UpstreamInstall.PARKED_SCHEMA;
  static final String LEDGER_TABLE = UpstreamInstall.LEDGER_TABLE;

  /** Test seam: called at named points (BEFORE_COMMIT, COMMITTED, COPIED, ADVANCED). */
  public interface StepHook {
    StepHook NONE = step -> {};

    void at(String step) throws SQLException;
  }

  private final DataSource dataSource;
  private final StreamTableEngine engine;
  private final StepHook hook;

  public Adoption(DataSource dataSource, StreamTableEngine engine) {
    this(dataSource, engine, StepHook.NONE);
  }

  public Adoption(DataSource dataSource, StreamTableEngine engine, StepHook hook) {
    this.dataSource = dataSource;
    this.engine = engine;
    this.hook = hook;
  }

  /** Whether an adoption began in this database (its ledger exists). */
  public static boolean began(DataSource dataSource) throws SQLException {
    try (Connection connection = dataSource.getConnection()) {
      return AdoptionLedger.exists(connection);
    }
  }

  /**
   * Adopts, or finishes an adoption a crash interrupted (then only what is left is done).
   *
   * @throws AdoptionException when there is nothing to adopt, or a step failed; the database is
   *     then as the last completed step left it, and a re-run goes on from there
   */
  public AdoptionReport adopt() throws AdoptionException {
    Taken taken;
    try {
      taken = takeOverInOneTransaction();
      hook.at("COMMITTED");
    } catch (SQLException e) {
      throw new AdoptionException("the adoption was rolled back: " + e.getMessage(), e);
    } catch (FlywayException e) {
      throw new AdoptionException("the adoption was rolled back: " + e.getMessage(), e);
    }
    int handedOver = 0;
    List<String> notAdopted = new ArrayList<>(taken.notAdopted());
    List<String> registered = new ArrayList<>();
    try (Connection connection = dataSource.getConnection()) {
      for (AdoptionLedger.AdoptedSource source : AdoptionLedger.sources(connection)) {
        if (source.stableName().isPresent() && !source.slotHandedOver()) {
          SlotHandover.handOver(
              connection,
              source.oid(),
              new StableName(source.stableName().get()),
              source.adoptionLsn(),
              hook);
          handedOver++;
        }
      }
      engine.migrateCatalog();
      UpstreamLayout layout = UpstreamLayout.read(connection, PARKED_SCHEMA);
      Map<Long, UpstreamLayout.StreamTable> byId = new TreeMap<>();
      layout.streamTables().forEach(t -> byId.put(t.id(), t));
      for (AdoptionLedger.AdoptedStreamTable table : AdoptionLedger.streamTables(connection)) {
        if (table.registered()) {
          continue;
        }
        UpstreamLayout.StreamTable upstream = byId.get(table.upstreamId());
        String qualified = SqlIdentifiers.qualified(table.schema(), table.name());
        try {
          engine.apply(definition(upstream, layout), null);
          AdoptionLedger.registered(connection, table.upstreamId());
          registered.add(qualified);
        } catch (EngineException e) {
          notAdopted.add(
              qualified
                  + ": our engine refused it ("
                  + e.reason()
                  + ": "
                  + e.getMessage()
                  + "); its storage stays parked as "
                  + table.parkedStorage()
                  + ", run adopt again after fixing it");
        }
      }
    } catch (SQLException e) {
      throw new AdoptionException(
          "the adoption committed, but a later step failed (run adopt again to finish it): "
              + e.getMessage(),
          e);
    } catch (EngineException e) {
      throw new AdoptionException(
          "the adoption committed, but our catalog could not be opened (run adopt again to"
              + " finish it): "
              + e.getMessage(),
          e);
    }
    return new AdoptionReport(
        taken.sources(),
        taken.keptByOid(),
        taken.convertedRows(),
        handedOver,
        registered,
        notAdopted);
  }

  private record Taken(
      List<String> sources, List<Long> keptByOid, long convertedRows, List<String> notAdopted) {}

  private Taken takeOverInOneTransaction() throws SQLException, AdoptionException {
    createPublicationsFirst();
    try (Connection connection = dataSource.getConnection()) {
      connection.setAutoCommit(false);
      connection.setTransactionIsolation(Connection.TRANSACTION_READ_COMMITTED);
      try {
        Taken taken = takeOver(connection);
        hook.at("BEFORE_COMMIT");
        connection.commit();
        return taken;
      } catch (SQLException | RuntimeException | AdoptionException e) {
        connection.rollback();
        throw e;
      } finally {
        connection.setAutoCommit(true);
      }
    }
  }

  /**
   * Our publications of the WAL sources, committed before the adoption's transaction begins.
   * pgoutput looks publications up by name, with the catalog as of the WAL it decodes, and fails on
   * one that did not exist there (PostgreSQL 17: "publication ... does not exist"), whatever table
   * the change is of. Our slot starts at a position read inside the adoption's transaction, and
   * every transaction committed after it (the adoption's own, and any other's) must find them. Made
   * alone they change nothing (nothing decodes them yet), and a re-run finds them.
   */
  private void createPublicationsFirst() throws SQLException {
    try (Connection connection = dataSource.getConnection()) {
      boolean began = AdoptionLedger.exists(connection);
      if (!began && !upstreamCatalogInOurSchema(connection)) {
        return; // the transaction says there is nothing to adopt
      }
      UpstreamLayout layout = UpstreamLayout.read(connection, began ? PARKED_SCHEMA : "pgtrickle");
      for (UpstreamLayout.Source source : layout.sources().values()) {
        if (!source.wal()) {
          continue;
        }
        Optional<ResolvedTable> table = TableLookup.byOid(connection, source.oid());
        if (table.isPresent()) {
          SlotReader.ensurePublication(
              connection,
              table.get().name().schema(),
              table.get().name().table(),
              new ObjectNames(table.get().stableName()));
        }
      }
    }
  }

  private Taken takeOver(Connection connection) throws SQLException, AdoptionException {
    execute(connection, "SELECT pg_catalog.pg_advisory_xact_lock(hashtext('pgtrickle adopt'))");
    boolean began = AdoptionLedger.exists(connection);
    if (!began && !upstreamCatalogInOurSchema(connection)) {
      throw new AdoptionException(
          "nothing to adopt: this database has no upstream pg_trickle catalog"
              + " (pgtrickle.pgt_stream_tables with pgt_id)");
    }
    UpstreamLayout layout = UpstreamLayout.read(connection, began ? PARKED_SCHEMA : "pgtrickle");
    Set<Long> adopted = new HashSet<>();
    if (began) {
      AdoptionLedger.sources(connection).stream()
          .filter(s -> s.stableName().isPresent())
          .forEach(s -> adopted.add(s.oid()));
    }
    Map<Long, ResolvedTable> resolved = new TreeMap<>();
    for (UpstreamLayout.Source source : layout.sources().values()) {
      if (!adopted.contains(source.oid())) {
        TableLookup.byOid(connection, source.oid()).ifPresent(t -> resolved.put(source.oid(), t));
      }
    }
    // Writers of the sources wait from here to the commit: the upstream buffers and slots hold
    // all there is, and what comes after the commit goes to our capture.
    for (ResolvedTable table : resolved.values()) {
      execute(connection, "LOCK TABLE " + table.name().sqlName() + " IN SHARE ROW EXCLUSIVE MODE");
    }
    // Decoding reads flushed WAL only: the sources' last commits (made before the locks were
    // granted, maybe with synchronous_commit off) are flushed by a commit of our own.
    try (Connection flusher = dataSource.getConnection()) {
      WalCapture.flushWal(flusher);
    }
    ChangeText.pinForTransaction(connection);
    Map<Long, List<WalTransaction>> slotChanges = new HashMap<>();
    for (long oid : resolved.keySet()) {
      UpstreamLayout.Source source = layout.sources().get(oid);
      if (source.wal()) {
        slotChanges.put(oid, SourceTakeover.peekUpstreamSlot(connection, source));
      }
    }
    String adoptionLsn = queryString(connection, "SELECT pg_catalog.pg_current_wal_insert_lsn()");
    if (!began) {
      Optional<String> version =
          Optional.ofNullable(
              queryString(
                  connection,
                  "SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'pg_trickle'"));
      execute(connection, "ALTER SCHEMA pgtrickle RENAME TO " + PARKED_SCHEMA);
      boolean detached = detachChangesSchema(connection);
      AdoptionLedger.create(connection, version, detached);
    }
    UpstreamLayout.moveBuffers(connection, "pgtrickle_changes", PARKED_SCHEMA);
    CatalogMigrator.migrate(new TransactionDataSource(connection));
    ServerMove.recordServerOfNewCatalog(connection);

    SourceTakeover takeover = new SourceTakeover();
    List<String> names = new ArrayList<>();
    List<Long> kept = new ArrayList<>();
    long rows = 0;
    for (UpstreamLayout.Source source : layout.sources().values()) {
      if (adopted.contains(source.oid())) {
        continue;
      }
      ResolvedTable table = resolved.get(source.oid());
      if (table == null) {
        AdoptionLedger.recordSource(
            connection, source.oid(), Optional.empty(), source.wal(), adoptionLsn, 0, List.of());
        kept.add(source.oid());
        continue;
      }
      SourceTakeover.Outcome outcome =
          takeover.take(
              connection,
              table,
              source,
              consumedUpTo(layout, source.oid()),
              slotChanges.getOrDefault(source.oid(), List.of()),
              adoptionLsn);
      AdoptionLedger.recordSource(
          connection,
          source.oid(),
          Optional.of(table.stableName().value()),
          source.wal(),
          adoptionLsn,
          outcome.convertedRows(),
          outcome.disabledTriggers());
      adopted.add(source.oid());
      names.add(table.name().schema() + "." + table.name().table());
      rows += outcome.convertedRows();
    }

    Set<Long> parked = new HashSet<>();
    AdoptionLedger.streamTables(connection).forEach(t -> parked.add(t.upstreamId()));
    List<String> notAdopted = new ArrayList<>();
    for (UpstreamLayout.StreamTable table : layout.streamTables()) {
      if (parked.contains(table.id())) {
        continue;
      }
      String qualified = SqlIdentifiers.qualified(table.schema(), table.name());
      if (!adopted.containsAll(table.sources())) {
        notAdopted.add(
            qualified + ": it reads a source left under its OID; it stays in the upstream catalog");
        continue;
      }
      AdoptionLedger.recordStreamTable(
          connection, table.id(), table.schema(), table.name(), parkStorage(connection, table));
    }
    return new Taken(names, kept, rows, notAdopted);
  }

  /**
   * Moves the upstream storage table next to the upstream catalog, as {@code storage_<id>}, kept
   * for a release; our engine creates its own under the name. Null when it no longer exists.
   */
  private static String parkStorage(Connection connection, UpstreamLayout.StreamTable table)
      throws SQLException {
    String qualified = SqlIdentifiers.qualified(table.schema(), table.name());
    if (queryString(connection, "SELECT to_regclass(" + literal(qualified) + ")::text") == null) {
      return null;
    }
    String parkedName = "storage_" + table.id();
    execute(connection, "ALTER TABLE " + qualified + " SET SCHEMA " + PARKED_SCHEMA);
    execute(
        connection,
        "ALTER TABLE "
            + SqlIdentifiers.qualified(PARKED_SCHEMA, table.name())
            + " RENAME TO "
            + SqlIdentifiers.quote(parkedName));
    return PARKED_SCHEMA + "." + parkedName;
  }

  /**
   * Moves the upstream buffers ({@code changes_<oid>}) out of {@code pgtrickle_changes}, which then
   * holds ours alone (our migrations treat every {@code changes_*} there as ours), next to the
   * upstream catalog; their triggers are disabled, a release moves them back.
   */

  /** The smallest frontier LSN of the source's readers; empty when one has none (all pending). */
  private static Optional<String> consumedUpTo(UpstreamLayout layout, long oid) {
    List<UpstreamLayout.StreamTable> readers = layout.readersOf(oid);
    if (readers.isEmpty() || readers.stream().anyMatch(r -> !r.frontierLsn().containsKey(oid))) {
      return Optional.empty();
    }
    String smallest = null;
    for (UpstreamLayout.StreamTable reader : readers) {
      String lsn = reader.frontierLsn().get(oid);
      if (smallest == null || Lsn.compare(lsn, smallest) < 0) {
        smallest = lsn;
      }
    }
    return Optional.ofNullable(smallest);
  }

  /**
   * Our definition of an upstream stream table. Upstream DIFFERENTIAL becomes AUTO (our engine
   * picks differential where it can and says why not); a schedule ours cannot read (cron) becomes
   * the default 1m, as the report says.
   */
  static StreamTableDefinition definition(UpstreamLayout.StreamTable table, UpstreamLayout layout) {
    Schedule schedule;
    try {
      schedule = Schedule.parse(table.schedule() == null ? "1m" : table.schedule());
    } catch (EngineException e) {
      schedule = defaultSchedule();
    }
    boolean wal = table.sources().stream().anyMatch(oid -> layout.sources().get(oid).wal());
    String query = table.query().strip();
    while (query.endsWith(";")) {
      query = query.substring(0, query.length() - 1).stripTrailing();
    }
    return new StreamTableDefinition(
        table.schema(),
        table.name(),
        query,
        schedule,
        "FULL".equalsIgnoreCase(table.refreshMode()) ? RefreshMode.FULL : RefreshMode.AUTO,
        PlacementMode.AUTO,
        wal ? CdcModeSpec.WAL : CdcModeSpec.TRIGGER,
        false,
        DeletionPolicy.Delete);
  }

  private static Schedule defaultSchedule() {
    try {
      return Schedule.parse("1m");
    } catch (EngineException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * The upstream extension owns {@code pgtrickle_changes}, where our buffers go too: it lets go of
   * it, so that dropping the extension later cannot take our buffers along. Returns whether it did
   * (a release gives it back).
   */
  private static boolean detachChangesSchema(Connection connection) throws SQLException {
    String member =
        queryString(
            connection,
            "SELECT 'yes' FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_extension e"
                + " ON e.oid = d.refobjid WHERE d.classid = 'pg_catalog.pg_namespace'::regclass"
                + " AND d.objid = to_regnamespace('pgtrickle_changes') AND d.deptype = 'e'"
                + " AND e.extname = 'pg_trickle'");
    if (member == null) {
      return false;
    }
    execute(connection, "ALTER EXTENSION pg_trickle DROP SCHEMA pgtrickle_changes");
    return true;
  }

  private static boolean upstreamCatalogInOurSchema(Connection connection) throws SQLException {
    return queryString(
            connection,
            "SELECT 'yes' FROM pg_catalog.pg_attribute WHERE attrelid ="
                + " to_regclass('pgtrickle.pgt_stream_tables') AND attname = 'pgt_id'"
                + " AND NOT attisdropped")
        != null;
  }

  private static String literal(String text) {
    return "'" + text.replace("'", "''") + "'";
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
