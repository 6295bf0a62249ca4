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
 * Flyway runs, so nothing of it is touched.
 */
public final class CatalogMigrator {
  /** Flyway's history table, kept inside our catalog schema rather than in public. */
  static final String HISTORY_TABLE = "pgt_schema_history";

  private CatalogMigrator() {}

  /**
   * Brings the catalog to the newest version; returns how many migrations ran (0 if current).
   *
   * @throws UpstreamInstallException when the database holds the upstream extension or its
   *     OID-named objects; nothing was changed
   */
  public static int migrate(DataSource dataSource) throws SQLException {
    try (Connection connection = dataSource.getConnection()) {
      java.util.Optional<UpstreamInstall> upstream = UpstreamInstall.detect(connection);
      if (upstream.isPresent()) {
        throw new UpstreamInstallException(upstream.get());
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
