package io.pgtrickle.operator.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * A database laid out as the upstream pg_trickle extension up to 0.31 leaves it, built from the
 * shapes its published catalog script and capture code describe (written here, nothing copied):
 *
 * <ul>
 *   <li>the extension {@code pg_trickle} 0.31.0 in pg_extension, owning the schemas {@code
 *       pgtrickle} and {@code pgtrickle_changes} and its catalog tables ({@code pgt_stream_tables}
 *       keyed by {@code pgt_id}, {@code pgt_dependencies}, {@code pgt_change_tracking} keyed by the
 *       source OID, {@code pgt_schema_version}). Its SQL needs no library, so a control file and a
 *       script in the server's extension directory make a real extension entry;
 *   <li>per trigger-captured source (OID {@code o}): the buffer {@code
 *       pgtrickle_changes.changes_<o>} (change_id, lsn, action, pk_hash, changed_cols, new_ and
 *       old_ columns), its index {@code idx_changes_<o>_lsn_pk_cid}, statement trigger functions
 *       {@code pgtrickle_changes.pg_trickle_cdc_{ins,upd,del}_fn_<o>} and {@code
 *       pg_trickle_cdc_truncate_fn_<o>}, triggers {@code
 *       pg_trickle_cdc_{ins,upd,del,truncate}_<o>};
 *   <li>per WAL-captured source: the publication {@code pgtrickle_cdc_<o>} and the pgoutput slot
 *       {@code pgtrickle_<o>};
 *   <li>a stream table row whose frontier is keyed by the OID string: {@code {"sources": {"<o>":
 *       {"lsn", "snapshot_ts"}}, "data_timestamp"}}, and {@code needs_reinit} (its scheduler's next
 *       cycle rebuilds a marked one in full: {@link #reinitializeLikeTheUpstream});
 *   <li>its storage table as the upstream creates it: the hidden row id {@code __pgt_row_id BIGINT}
 *       first (a hash of the row's key; of a fixed sentinel for a scalar aggregate: {@code
 *       pgtrickle.pg_trickle_hash}, here an SQL stand-in for its C function), the query's columns,
 *       then for an aggregate the hidden group count {@code __pgt_count BIGINT NOT NULL DEFAULT 0};
 *       a unique index on the row id, and the guard triggers {@code pgt_dml_guard} and {@code
 *       pgt_truncate_guard} that refuse writes unless {@code pg_trickle.internal_refresh} is {@code
 *       true}.
 * </ul>
 *
 * Changes written after {@link #build} wait in the buffer and the slot, as pending changes do.
 */
public final class UpstreamFixture {
  public static final String VERSION = "0.31.0";

  private static final String CATALOG =
      """
      CREATE SCHEMA pgtrickle;
      CREATE SCHEMA pgtrickle_changes;
      REVOKE ALL ON SCHEMA pgtrickle_changes FROM PUBLIC;
      CREATE TABLE pgtrickle.pgt_stream_tables (
        pgt_id BIGSERIAL PRIMARY KEY, pgt_relid OID NOT NULL UNIQUE,
        pgt_name TEXT NOT NULL, pgt_schema TEXT NOT NULL, defining_query TEXT NOT NULL,
        original_query TEXT, schedule TEXT,
        refresh_mode TEXT NOT NULL DEFAULT 'DIFFERENTIAL',
        status TEXT NOT NULL DEFAULT 'INITIALIZING',
        is_populated BOOLEAN NOT NULL DEFAULT FALSE, data_timestamp TIMESTAMPTZ,
        frontier JSONB, last_refresh_at TIMESTAMPTZ,
        consecutive_errors INT NOT NULL DEFAULT 0,
        needs_reinit BOOLEAN NOT NULL DEFAULT FALSE,
        requested_cdc_mode TEXT,
        created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        updated_at TIMESTAMPTZ NOT NULL DEFAULT now());
      CREATE UNIQUE INDEX idx_pgt_name ON pgtrickle.pgt_stream_tables (pgt_schema, pgt_name);
      CREATE TABLE pgtrickle.pgt_dependencies (
        pgt_id BIGINT NOT NULL REFERENCES pgtrickle.pgt_stream_tables(pgt_id) ON DELETE CASCADE,
        source_relid OID NOT NULL, source_type TEXT NOT NULL,
        cdc_mode TEXT NOT NULL DEFAULT 'TRIGGER', slot_name TEXT,
        decoder_confirmed_lsn PG_LSN,
        PRIMARY KEY (pgt_id, source_relid));
      CREATE TABLE pgtrickle.pgt_change_tracking (
        source_relid OID PRIMARY KEY, slot_name TEXT NOT NULL,
        last_consumed_lsn PG_LSN, tracked_by_pgt_ids BIGINT[]);
      CREATE TABLE pgtrickle.pgt_schema_version (
        version TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now(),
        description TEXT);
      INSERT INTO pgtrickle.pgt_schema_version (version, description)
        VALUES ('0.19.0', 'Initial schema version tracking');
      -- Stand-in for its C row-id hash (xxh64 with a fixed seed): same name and signature.
      CREATE FUNCTION pgtrickle.pg_trickle_hash(input TEXT) RETURNS BIGINT
        LANGUAGE sql IMMUTABLE PARALLEL SAFE
        AS $$ SELECT pg_catalog.hashtextextended(coalesce(input, 'NULL'), 5871781006564002453) $$;
      SELECT pg_catalog.pg_extension_config_dump('pgtrickle.pgt_stream_tables', '');
      SELECT pg_catalog.pg_extension_config_dump('pgtrickle.pgt_dependencies', '');
      """;

  private final TestDatabase db;
  private final List<Long> triggerSources = new ArrayList<>();
  private final List<Long> walSources = new ArrayList<>();
  private final Map<String, String> storageFills = new LinkedHashMap<>();

  private UpstreamFixture(TestDatabase db) {
    this.db = db;
  }

  /**
   * In {@code db}: the extension, {@code public.orders} captured by triggers and {@code
   * public.events} by WAL, a stream table over each, and one change pending in each.
   */
  public static UpstreamFixture build(TestDatabase db) throws SQLException {
    installExtensionFiles(db);
    UpstreamFixture fixture = new UpstreamFixture(db);
    db.execute(
        "CREATE EXTENSION pg_trickle VERSION '" + VERSION + "'",
        "CREATE TABLE public.orders (id int PRIMARY KEY, amount int)",
        "INSERT INTO public.orders SELECT g, g * 10 FROM generate_series(1, 5) g",
        "CREATE TABLE public.events (id int PRIMARY KEY, kind text)",
        "INSERT INTO public.events SELECT g, 'k' || g FROM generate_series(1, 3) g");
    long orders = db.queryLong("SELECT 'public.orders'::regclass::oid");
    long events = db.queryLong("SELECT 'public.events'::regclass::oid");
    fixture.captureByTriggers(orders);
    fixture.captureByWal(events);
    fixture.aggregateStreamTable(
        1,
        "orders_total",
        "total",
        "SELECT sum(amount) AS total FROM public.orders",
        "SELECT sum(amount) AS total, count(*) AS __pgt_count FROM public.orders",
        orders);
    fixture.aggregateStreamTable(
        2,
        "event_count",
        "n",
        "SELECT count(*) AS n FROM public.events",
        "SELECT count(*) AS n, count(*) AS __pgt_count FROM public.events",
        events);
    db.execute(
        "INSERT INTO public.orders VALUES (6, 60)", "INSERT INTO public.events VALUES (4, 'k4')");
    return fixture;
  }

  /**
   * Everything a refusal must leave alone: schemas, relations, functions, triggers, slots with
   * their positions, publications, the extension, and the rows of its catalog and buffers.
   */
  public String snapshot() throws SQLException {
    StringBuilder all = new StringBuilder();
    DatabaseObjects.of(db).forEach(o -> all.append(o).append('\n'));
    for (String sql :
        List.of(
            "SELECT string_agg(nspname, ',' ORDER BY nspname) FROM pg_namespace",
            "SELECT string_agg(extname || ' ' || extversion, ',' ORDER BY extname)"
                + " FROM pg_extension",
            "SELECT string_agg(slot_name || ' ' || confirmed_flush_lsn, ',' ORDER BY slot_name)"
                + " FROM pg_replication_slots",
            "SELECT string_agg(pubname, ',' ORDER BY pubname) FROM pg_publication",
            "SELECT string_agg(t::text, ',' ORDER BY t::text) FROM pgtrickle.pgt_stream_tables t",
            "SELECT string_agg(t::text, ',' ORDER BY t::text) FROM pgtrickle.pgt_change_tracking t",
            "SELECT string_agg(t::text, ',' ORDER BY t::text) FROM pgtrickle.pgt_dependencies t")) {
      all.append(db.queryString(sql)).append('\n');
    }
    for (long oid : triggerSources) {
      all.append(
              db.queryString(
                  "SELECT string_agg(t::text, ',' ORDER BY change_id) FROM"
                      + " pgtrickle_changes.changes_"
                      + oid
                      + " t"))
          .append('\n');
    }
    return all.toString();
  }

  public List<Long> triggerSources() {
    return List.copyOf(triggerSources);
  }

  public List<Long> walSources() {
    return List.copyOf(walSources);
  }

  /** A real extension entry needs its control file and script where the server looks. */
  private static void installExtensionFiles(TestDatabase db) throws SQLException {
    Path extensions =
        Path.of(db.queryString("SELECT setting FROM pg_catalog.pg_config WHERE name = 'SHAREDIR'"))
            .resolve("extension");
    try {
      Files.writeString(
          extensions.resolve("pg_trickle.control"),
          String.join(
              "\n",
              "comment = 'test fixture: the upstream pg_trickle catalog of " + VERSION + "'",
              "default_version = '" + VERSION + "'",
              "relocatable = false",
              "superuser = true",
              ""),
          StandardCharsets.UTF_8);
      Files.writeString(
          extensions.resolve("pg_trickle--" + VERSION + ".sql"), CATALOG, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the fixture extension into " + extensions, e);
    }
  }

  private void captureByTriggers(long oid) throws SQLException {
    String buffer = "pgtrickle_changes.changes_" + oid;
    String columns = "new_id, new_amount";
    List<String> sql = new ArrayList<>();
    sql.add(
        "CREATE TABLE "
            + buffer
            + " (change_id BIGSERIAL, lsn PG_LSN NOT NULL, action CHAR(1) NOT NULL,"
            + " pk_hash BIGINT, changed_cols VARBIT,"
            + " new_id int, old_id int, new_amount int, old_amount int)");
    sql.add(
        "CREATE INDEX idx_changes_"
            + oid
            + "_lsn_pk_cid ON "
            + buffer
            + " (lsn, pk_hash, change_id) INCLUDE (action)");
    sql.add(
        statementFunction(
            oid,
            "ins",
            "INSERT INTO "
                + buffer
                + " (lsn, action, pk_hash, "
                + columns
                + ") SELECT pg_current_wal_insert_lsn(), 'I', hashtext(n.id::text), n.id,"
                + " n.amount FROM __pgt_new n"));
    sql.add(
        statementFunction(
            oid,
            "upd",
            "INSERT INTO "
                + buffer
                + " (lsn, action, pk_hash, new_id, new_amount, old_id, old_amount)"
                + " SELECT pg_current_wal_insert_lsn(), 'U', hashtext(n.id::text), n.id, n.amount,"
                + " o.id, o.amount FROM __pgt_new n JOIN __pgt_old o USING (id)"));
    sql.add(
        statementFunction(
            oid,
            "del",
            "INSERT INTO "
                + buffer
                + " (lsn, action, pk_hash, old_id, old_amount) SELECT pg_current_wal_insert_lsn(),"
                + " 'D', hashtext(o.id::text), o.id, o.amount FROM __pgt_old o"));
    sql.add(
        statementFunction(
            oid,
            "truncate",
            "INSERT INTO " + buffer + " (lsn, action) VALUES (pg_current_wal_lsn(), 'T')"));
    sql.add(trigger(oid, "ins", "INSERT", "REFERENCING NEW TABLE AS __pgt_new FOR EACH STATEMENT"));
    sql.add(
        trigger(
            oid,
            "upd",
            "UPDATE",
            "REFERENCING NEW TABLE AS __pgt_new OLD TABLE AS __pgt_old FOR EACH STATEMENT"));
    sql.add(trigger(oid, "del", "DELETE", "REFERENCING OLD TABLE AS __pgt_old FOR EACH STATEMENT"));
    sql.add(trigger(oid, "truncate", "TRUNCATE", "FOR EACH STATEMENT"));
    sql.add(
        "INSERT INTO pgtrickle.pgt_change_tracking VALUES ("
            + oid
            + ", 'pgtrickle_"
            + oid
            + "', pg_current_wal_insert_lsn(), '{}')");
    db.execute(sql.toArray(String[]::new));
    triggerSources.add(oid);
  }

  private static String statementFunction(long oid, String op, String body) {
    return String.format(
        Locale.ROOT,
        "CREATE FUNCTION pgtrickle_changes.pg_trickle_cdc_%s_fn_%d() RETURNS trigger"
            + " LANGUAGE plpgsql SECURITY DEFINER AS $f$ BEGIN %s; RETURN NULL; END $f$",
        op,
        oid,
        body);
  }

  private static String trigger(long oid, String op, String event, String how) {
    return String.format(
        Locale.ROOT,
        "CREATE TRIGGER pg_trickle_cdc_%s_%d AFTER %s ON %s %s"
            + " EXECUTE FUNCTION pgtrickle_changes.pg_trickle_cdc_%s_fn_%d()",
        op,
        oid,
        event,
        "public.orders",
        how,
        op,
        oid);
  }

  private void captureByWal(long oid) throws SQLException {
    db.execute(
        "CREATE TABLE pgtrickle_changes.changes_"
            + oid
            + " (change_id BIGSERIAL, lsn PG_LSN NOT NULL, action CHAR(1) NOT NULL,"
            + " pk_hash BIGINT, changed_cols VARBIT,"
            + " new_id int, old_id int, new_kind text, old_kind text)",
        // Its WAL decoder fills the old_ columns of updates and deletes: the whole old row.
        "ALTER TABLE public.events REPLICA IDENTITY FULL",
        "CREATE PUBLICATION pgtrickle_cdc_" + oid + " FOR TABLE public.events",
        "SELECT pg_create_logical_replication_slot('pgtrickle_" + oid + "', 'pgoutput')",
        "INSERT INTO pgtrickle.pgt_change_tracking VALUES ("
            + oid
            + ", 'pgtrickle_"
            + oid
            + "', pg_current_wal_insert_lsn(), '{}')");
    walSources.add(oid);
  }

  /**
   * A stream table over one source, as the upstream creates a scalar aggregate's: its storage holds
   * the hidden row id (first), the query's columns, and the hidden group count {@code __pgt_count};
   * a unique index on the row id, and its guard triggers against direct writes.
   */
  private void aggregateStreamTable(
      long id, String name, String column, String query, String countedQuery, long source)
      throws SQLException {
    String storage = "public." + name;
    // A scalar aggregate's row id is the hash of one sentinel (its single group).
    String fill =
        "SELECT pgtrickle.pg_trickle_hash('__singleton_group') AS __pgt_row_id, sub.* FROM ("
            + countedQuery
            + ") sub";
    storageFills.put(name, fill);
    String frontier =
        "jsonb_build_object('sources', jsonb_build_object('"
            + source
            + "', jsonb_build_object('lsn', pg_current_wal_insert_lsn()::text, 'snapshot_ts',"
            + " now()::text)), 'data_timestamp', now()::text)";
    db.execute(
        "CREATE TABLE " + storage + " AS " + fill + " WITH NO DATA",
        "ALTER TABLE "
            + storage
            + " ALTER __pgt_count SET DEFAULT 0, ALTER __pgt_count SET NOT NULL",
        // Its row-id index covers the query's columns when they are few (its default).
        "CREATE UNIQUE INDEX ON " + storage + " (__pgt_row_id) INCLUDE (" + column + ")",
        "CREATE FUNCTION public._pgt_guard_"
            + name
            + "() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN"
            + " IF current_setting('pg_trickle.internal_refresh', true) IS DISTINCT FROM 'true'"
            + " THEN RAISE EXCEPTION 'Direct DML on stream table % is not allowed', TG_TABLE_NAME;"
            + " END IF; IF TG_OP = 'DELETE' THEN RETURN OLD; ELSE RETURN NEW; END IF; END $f$",
        "CREATE TRIGGER pgt_dml_guard BEFORE INSERT OR UPDATE OR DELETE ON "
            + storage
            + " FOR EACH ROW EXECUTE FUNCTION public._pgt_guard_"
            + name
            + "()",
        "CREATE TRIGGER pgt_truncate_guard BEFORE TRUNCATE ON "
            + storage
            + " FOR EACH STATEMENT EXECUTE FUNCTION public._pgt_guard_"
            + name
            + "()",
        "BEGIN",
        "SET LOCAL pg_trickle.internal_refresh = 'true'",
        "INSERT INTO " + storage + " " + fill,
        "COMMIT",
        "INSERT INTO pgtrickle.pgt_stream_tables (pgt_id, pgt_relid, pgt_name, pgt_schema,"
            + " defining_query, schedule, status, is_populated, frontier) VALUES ("
            + id
            + ", '"
            + storage
            + "'::regclass, '"
            + name
            + "', 'public', '"
            + query.replace("'", "''")
            + "', '1m', 'ACTIVE', true, "
            + frontier
            + ")",
        "INSERT INTO pgtrickle.pgt_dependencies (pgt_id, source_relid, source_type, cdc_mode,"
            + " slot_name) VALUES ("
            + id
            + ", "
            + source
            + ", 'TABLE', '"
            + (walSources.contains(source) ? "WAL" : "TRIGGER")
            + "', 'pgtrickle_"
            + source
            + "')",
        "UPDATE pgtrickle.pgt_change_tracking SET tracked_by_pgt_ids = ARRAY["
            + id
            + "::bigint] WHERE source_relid = "
            + source);
  }

  /**
   * What the upstream writes into the storage of {@code name} on a full refresh, hidden columns
   * included: a storage equal to it is as the upstream would leave it.
   */
  public String storageContent(String name) {
    return Objects.requireNonNull(storageFills.get(name), name);
  }

  /**
   * Does what the upstream's scheduler does on its next cycle for each stream table marked {@code
   * needs_reinit}: a full refresh (truncate, refill with its hidden columns), then clears the mark.
   * Returns the names it rebuilt.
   */
  public List<String> reinitializeLikeTheUpstream() throws SQLException {
    List<String> rebuilt = new ArrayList<>();
    for (Map.Entry<String, String> storage : storageFills.entrySet()) {
      String name = storage.getKey();
      if (db.queryLong(
              "SELECT count(*) FROM pgtrickle.pgt_stream_tables WHERE pgt_name = '"
                  + name
                  + "' AND needs_reinit")
          == 0) {
        continue;
      }
      db.execute(
          "BEGIN",
          "SET LOCAL pg_trickle.internal_refresh = 'true'",
          "TRUNCATE public." + name,
          "INSERT INTO public." + name + " " + storage.getValue(),
          "UPDATE pgtrickle.pgt_stream_tables SET needs_reinit = false WHERE pgt_name = '"
              + name
              + "'",
          "COMMIT");
      rebuilt.add(name);
    }
    return rebuilt;
  }
}
