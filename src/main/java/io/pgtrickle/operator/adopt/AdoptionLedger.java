package io.pgtrickle.operator.adopt;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * What an adoption did, kept next to the parked upstream catalog (schema {@code
 * pgtrickle_upstream}) rather than in ours: it belongs to the upstream install, a re-run reads it
 * to finish what a crash interrupted, and a release needs it. Its presence is what tells {@code
 * UpstreamInstall} that the install was adopted on purpose.
 */
final class AdoptionLedger {
  static final String SCHEMA = Adoption.PARKED_SCHEMA;

  private AdoptionLedger() {}

  /** A source as adopted; {@code stableName} empty: left under its OID (it did not resolve). */
  record AdoptedSource(
      long oid,
      Optional<String> stableName,
      boolean wal,
      String adoptionLsn,
      boolean slotHandedOver,
      long convertedRows) {}

  /** An upstream stream table and where its storage was parked. */
  record AdoptedStreamTable(
      long upstreamId, String schema, String name, String parkedStorage, boolean registered) {}

  static boolean exists(Connection connection) throws SQLException {
    try (Statement statement = connection.createStatement();
        ResultSet rs =
            statement.executeQuery(
                "SELECT to_regclass('" + SCHEMA + "." + Adoption.LEDGER_TABLE + "') IS NOT NULL")) {
      rs.next();
      return rs.getBoolean(1);
    }
  }

  static void create(Connection connection, Optional<String> extensionVersion, boolean detached)
      throws SQLException {
    try (Statement statement = connection.createStatement()) {
      statement.execute(
          "CREATE TABLE "
              + SCHEMA
              + "."
              + Adoption.LEDGER_TABLE
              + " (id int PRIMARY KEY DEFAULT 1 CHECK (id = 1), extension_version text,"
              + " changes_schema_detached boolean NOT NULL,"
              + " adopted_at timestamptz NOT NULL DEFAULT now())");
      statement.execute(
          "CREATE TABLE "
              + SCHEMA
              + ".pgt_adopted_source (source_oid oid PRIMARY KEY, source_stable_name text,"
              + " cdc_mode text NOT NULL, adoption_lsn pg_lsn,"
              + " slot_handed_over boolean NOT NULL DEFAULT false,"
              + " converted_rows bigint NOT NULL DEFAULT 0, disabled_triggers text[])");
      statement.execute(
          "CREATE TABLE "
              + SCHEMA
              + ".pgt_adopted_stream_table (upstream_id bigint PRIMARY KEY,"
              + " st_schema text NOT NULL, st_name text NOT NULL, parked_storage text,"
              + " registered boolean NOT NULL DEFAULT false)");
    }
    try (PreparedStatement insert =
        connection.prepareStatement(
            "INSERT INTO "
                + SCHEMA
                + "."
                + Adoption.LEDGER_TABLE
                + " (extension_version, changes_schema_detached) VALUES (?, ?)")) {
      insert.setString(1, extensionVersion.orElse(null));
      insert.setBoolean(2, detached);
      insert.executeUpdate();
    }
  }

  static List<AdoptedSource> sources(Connection connection) throws SQLException {
    List<AdoptedSource> sources = new ArrayList<>();
    try (Statement statement = connection.createStatement();
        ResultSet rs =
            statement.executeQuery(
                "SELECT source_oid, source_stable_name, cdc_mode, adoption_lsn::text,"
                    + " slot_handed_over, converted_rows FROM "
                    + SCHEMA
                    + ".pgt_adopted_source ORDER BY source_oid")) {
      while (rs.next()) {
        sources.add(
            new AdoptedSource(
                rs.getLong(1),
                Optional.ofNullable(rs.getString(2)),
                "wal".equals(rs.getString(3)),
                rs.getString(4),
                rs.getBoolean(5),
                rs.getLong(6)));
      }
    }
    return sources;
  }

  /** Records a source; a row left under its OID by an earlier run is replaced. */
  static void recordSource(
      Connection connection,
      long oid,
      Optional<String> stableName,
      boolean wal,
      String adoptionLsn,
      long convertedRows,
      List<String> disabledTriggers)
      throws SQLException {
    try (PreparedStatement upsert =
        connection.prepareStatement(
            "INSERT INTO "
                + SCHEMA
                + ".pgt_adopted_source (source_oid, source_stable_name, cdc_mode, adoption_lsn,"
                + " slot_handed_over, converted_rows, disabled_triggers)"
                + " VALUES (?, ?, ?, ?::pg_lsn, ?, ?, ?) ON CONFLICT (source_oid) DO UPDATE SET"
                + " source_stable_name = EXCLUDED.source_stable_name,"
                + " adoption_lsn = EXCLUDED.adoption_lsn,"
                + " slot_handed_over = EXCLUDED.slot_handed_over,"
                + " converted_rows = EXCLUDED.converted_rows,"
                + " disabled_triggers = EXCLUDED.disabled_triggers")) {
      upsert.setLong(1, oid);
      upsert.setString(2, stableName.orElse(null));
      upsert.setString(3, wal ? "wal" : "trigger");
      upsert.setString(4, adoptionLsn);
      // Trigger capture has no slot to hand over.
      upsert.setBoolean(5, !wal || stableName.isEmpty());
      upsert.setLong(6, convertedRows);
      upsert.setArray(7, connection.createArrayOf("text", disabledTriggers.toArray()));
      upsert.executeUpdate();
    }
  }

  static void slotHandedOver(Connection connection, long oid) throws SQLException {
    try (PreparedStatement update =
        connection.prepareStatement(
            "UPDATE "
                + SCHEMA
                + ".pgt_adopted_source SET slot_handed_over = true WHERE source_oid = ?")) {
      update.setLong(1, oid);
      update.executeUpdate();
    }
  }

  static List<AdoptedStreamTable> streamTables(Connection connection) throws SQLException {
    List<AdoptedStreamTable> tables = new ArrayList<>();
    try (Statement statement = connection.createStatement();
        ResultSet rs =
            statement.executeQuery(
                "SELECT upstream_id, st_schema, st_name, parked_storage, registered FROM "
                    + SCHEMA
                    + ".pgt_adopted_stream_table ORDER BY upstream_id")) {
      while (rs.next()) {
        tables.add(
            new AdoptedStreamTable(
                rs.getLong(1),
                rs.getString(2),
                rs.getString(3),
                rs.getString(4),
                rs.getBoolean(5)));
      }
    }
    return tables;
  }

  static void recordStreamTable(
      Connection connection, long upstreamId, String schema, String name, String parkedStorage)
      throws SQLException {
    try (PreparedStatement insert =
        connection.prepareStatement(
            "INSERT INTO "
                + SCHEMA
                + ".pgt_adopted_stream_table (upstream_id, st_schema, st_name, parked_storage)"
                + " VALUES (?, ?, ?, ?)")) {
      insert.setLong(1, upstreamId);
      insert.setString(2, schema);
      insert.setString(3, name);
      insert.setString(4, parkedStorage);
      insert.executeUpdate();
    }
  }

  static void registered(Connection connection, long upstreamId) throws SQLException {
    try (PreparedStatement update =
        connection.prepareStatement(
            "UPDATE "
                + SCHEMA
                + ".pgt_adopted_stream_table SET registered = true WHERE upstream_id = ?")) {
      update.setLong(1, upstreamId);
      update.executeUpdate();
    }
  }
}
