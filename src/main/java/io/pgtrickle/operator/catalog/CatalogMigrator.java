package io.pgtrickle.operator.catalog;

import io.pgtrickle.operator.naming.ObjectNames;
import java.sql.Connection;
import java.sql.SQLException;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.output.MigrateResult;

/**
 * Creates and upgrades the operator's schemas ({@code pgtrickle}, {@code pgtrickle_changes}) with
 * Flyway's versioned migrations under {@code db/migration}. Idempotent, and safe when two operators
 * connect at once: Flyway serialises migrations with a PostgreSQL advisory lock. A database that
 * holds the upstream pg_trickle extension (same schema names, another catalog) is refused before
 * Flyway runs, so nothing of it is touched, unless it was adopted ({@code adopt}), which parks the
 * upstream catalog out of our schema first.
 */
public final class CatalogMigrator {
  /** Flyway's history table, kept inside our catalog schema rather than in public. */
  static final String HISTORY_TABLE = "pgt_schema_history";

  private CatalogMigrator() {}

  /**
   * The primary keys of catalog tables that exist without one: a restore's post-data section (which
   * holds every constraint, index and trigger) was left out, and without them the engine would fail
   * half-way (ON CONFLICT, foreign keys) or capture nothing.
   */
  static java.util.List<String> missingConstraints(Connection connection) throws SQLException {
    java.util.List<String> missing = new java.util.ArrayList<>();
    try (java.sql.Statement statement = connection.createStatement();
        java.sql.ResultSet rs =
            statement.executeQuery(
                "SELECT 'primary key of pgtrickle.' || c.relname FROM pg_catalog.pg_class c"
                    + " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
                    + " WHERE n.nspname = 'pgtrickle' AND c.relkind = 'r' AND c.relname IN"
                    + " ('pgt_stream_tables', 'pgt_change_tracking', 'pgt_dependencies',"
                    + " 'pgt_server') AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_constraint k"
                    + " WHERE k.conrelid = c.oid AND k.contype = 'p') ORDER BY 1")) {
      while (rs.next()) {
        missing.add(rs.getString(1));
      }
    }
    return missing;
  }

  /**
   * Brings the catalog to the newest version; returns how many migrations ran (0 if current).
   *
   * @throws UpstreamInstallException when the database holds the upstream extension or its
   *     OID-named objects; nothing was changed
   * @throws IncompleteCatalogException when the catalog lacks its constraints (a partial restore);
   *     nothing was changed
   */
  public static int migrate(DataSource dataSource) throws SQLException {
    try (Connection connection = dataSource.getConnection()) {
      java.util.Optional<UpstreamInstall> upstream = UpstreamInstall.detect(connection);
      if (upstream.isPresent() && !upstream.get().adopted()) {
        throw new UpstreamInstallException(upstream.get());
      }
      java.util.List<String> missing = missingConstraints(connection);
      if (!missing.isEmpty()) {
        throw new IncompleteCatalogException(missing);
      }
    }
    MigrateResult result =
        Flyway.configure(CatalogMigrator.class.getClassLoader())
            .dataSource(dataSource)
            .schemas(ObjectNames.CATALOG_SCHEMA)
            .defaultSchema(ObjectNames.CATALOG_SCHEMA)
            .createSchemas(true)
            .table(HISTORY_TABLE)
            .locations("classpath:db/migration")
            .load()
            .migrate();
    return result.migrationsExecuted;
  }
}
