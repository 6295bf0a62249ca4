package io.pgtrickle.operator.catalog;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * What a database holds of the upstream pg_trickle extension: the extension itself (it uses our
 * schema names {@code pgtrickle} and {@code pgtrickle_changes} and a different {@code
 * pgt_stream_tables}), its catalog without the extension, or the OID-named capture objects of
 * versions up to 0.31 ({@code pgtrickle_changes.changes_<oid>}, {@code pg_trickle_cdc_*_<oid>},
 * slots {@code pgtrickle_<oid>}, publications {@code pgtrickle_cdc_<oid>}). OIDs have at most 10
 * digits and our stable names exactly 16 hex digits, so our own objects never match. Read-only.
 *
 * <p>{@code adopted}: the install was taken over on purpose ({@code adopt}, package {@code adopt}):
 * its catalog was parked in {@value #PARKED_SCHEMA}, which holds the adoption's ledger. What is
 * left of it then (the extension entry, disabled triggers, old buffers kept for a release) is known
 * and no reason to refuse.
 */
public record UpstreamInstall(
    Optional<String> extensionVersion,
    boolean upstreamCatalog,
    List<String> oidNamedObjects,
    boolean adopted) {
  /** Where an adoption parks the upstream catalog (its schema {@code pgtrickle}, renamed). */
  public static final String PARKED_SCHEMA = "pgtrickle_upstream";

  /** The adoption's ledger in the parked schema: its presence means "adopted on purpose". */
  public static final String LEDGER_TABLE = "pgt_adoption";

  private static final String OID = "[0-9]{1,10}";

  private static final String OID_NAMED =
      "SELECT 'change buffer pgtrickle_changes.' || c.relname FROM pg_catalog.pg_class c"
          + " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
          + " WHERE n.nspname = 'pgtrickle_changes' AND c.relkind IN ('r', 'p')"
          + " AND c.relname ~ '^changes_(pgt_)?"
          + OID
          + "$'"
          + " UNION ALL SELECT 'function ' || n.nspname || '.' || p.proname"
          + " FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace"
          + " WHERE p.proname ~ '^pg_trickle_cdc_((ins|upd|del|truncate)_)?fn_"
          + OID
          + "$'"
          + " UNION ALL SELECT 'trigger ' || t.tgname || ' on ' || t.tgrelid::regclass::text"
          + " FROM pg_catalog.pg_trigger t WHERE NOT t.tgisinternal"
          + " AND t.tgname ~ '^pg_trickle_cdc_((ins|upd|del|truncate)_)?"
          + OID
          + "$'"
          + " UNION ALL SELECT 'replication slot ' || slot_name FROM pg_catalog.pg_replication_slots"
          + " WHERE database = current_database() AND slot_name ~ '^pgtrickle_"
          + OID
          + "$'"
          + " UNION ALL SELECT 'publication ' || pubname FROM pg_catalog.pg_publication"
          + " WHERE pubname ~ '^pgtrickle_cdc_"
          + OID
          + "$'"
          + " ORDER BY 1";

  /** The upstream install in the connected database, if there is any trace of one. */
  public static Optional<UpstreamInstall> detect(Connection connection) throws SQLException {
    Optional<String> version = Optional.empty();
    boolean catalog;
    boolean adopted;
    List<String> objects = new ArrayList<>();
    try (Statement statement = connection.createStatement()) {
      try (ResultSet rs =
          statement.executeQuery(
              "SELECT extversion FROM pg_catalog.pg_extension WHERE extname = 'pg_trickle'")) {
        if (rs.next()) {
          version = Optional.of(rs.getString(1));
        }
      }
      // Its pgt_stream_tables is keyed by pgt_id (ours by id); pgt_schema_version is its alone.
      try (ResultSet rs =
          statement.executeQuery(
              "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute"
                  + " WHERE attrelid = to_regclass('pgtrickle.pgt_stream_tables')"
                  + " AND attname = 'pgt_id' AND NOT attisdropped)"
                  + " OR to_regclass('pgtrickle.pgt_schema_version') IS NOT NULL")) {
        rs.next();
        catalog = rs.getBoolean(1);
      }
      try (ResultSet rs =
          statement.executeQuery(
              "SELECT to_regclass('" + PARKED_SCHEMA + "." + LEDGER_TABLE + "') IS NOT NULL")) {
        rs.next();
        adopted = rs.getBoolean(1);
      }
      try (ResultSet rs = statement.executeQuery(OID_NAMED)) {
        while (rs.next()) {
          objects.add(rs.getString(1));
        }
      }
    }
    if (version.isEmpty() && !catalog && objects.isEmpty()) {
      return Optional.empty();
    }
    return Optional.of(new UpstreamInstall(version, catalog, List.copyOf(objects), adopted));
  }

  /** For status and the command line: what was found, at most five object names. */
  public String describe() {
    List<String> parts = new ArrayList<>();
    extensionVersion.ifPresent(v -> parts.add("the upstream pg_trickle extension " + v));
    if (upstreamCatalog && extensionVersion.isEmpty()) {
      parts.add("the upstream pg_trickle catalog in schema pgtrickle (without its extension)");
    }
    if (!oidNamedObjects.isEmpty()) {
      List<String> shown = oidNamedObjects.subList(0, Math.min(5, oidNamedObjects.size()));
      parts.add(
          oidNamedObjects.size()
              + " OID-named capture object"
              + (oidNamedObjects.size() == 1 ? "" : "s")
              + " ("
              + String.join(", ", shown)
              + (oidNamedObjects.size() > shown.size() ? ", …" : "")
              + ")");
    }
    return String.join(" and ", parts);
  }
}
