package io.pgtrickle.operator.naming;

import java.util.Objects;

/**
 * A table by its raw catalog names: pg_database.datname, pg_namespace.nspname and pg_class.relname,
 * exactly as stored (unquoted, case kept). These three names, unlike an OID, are the same on every
 * Citus node and survive dump/restore and major-version upgrades.
 */
public record QualifiedTable(String database, String schema, String table) {
  public QualifiedTable {
    requireName(database, "database");
    requireName(schema, "schema");
    requireName(table, "table");
  }

  private static void requireName(String value, String what) {
    Objects.requireNonNull(value, what);
    if (value.isEmpty()) {
      throw new IllegalArgumentException(what + " name must not be empty");
    }
  }

  /** The text that is hashed into the stable name: {@code database/schema.table}. */
  public String hashInput() {
    return database + "/" + schema + "." + table;
  }

  /** {@code schema.table}, each part quoted as PostgreSQL would print it with quote_ident. */
  public String sqlName() {
    return SqlIdentifiers.quote(schema) + "." + SqlIdentifiers.quote(table);
  }

  @Override
  public String toString() {
    return database + ":" + sqlName();
  }
}
