package io.pgtrickle.operator.corpus;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.pgtrickle.operator.api.CdcModeSpec;
import io.pgtrickle.operator.api.RefreshMode;
import io.pgtrickle.operator.api.StreamTableSpec;
import io.pgtrickle.operator.embedded.PostgresServer;
import io.pgtrickle.operator.engine.EngineException;
import io.pgtrickle.operator.engine.RefreshOutcome;
import io.pgtrickle.operator.engine.StreamTableDefinition;
import io.pgtrickle.operator.engine.StreamTableEngine;
import io.pgtrickle.operator.naming.SqlIdentifiers;
import io.pgtrickle.operator.testing.StreamTableAssertions;
import io.pgtrickle.operator.testing.TestDatabase;
import io.pgtrickle.operator.testing.TestPostgres;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * One fresh database under a corpus harness: an engine on a small connection pool, and one
 * connection of our own for set-up, changes and the oracle ({@link StreamTableAssertions}). It
 * admits queries as stream tables, telling apart what PostgreSQL refuses, what {@code CREATE VIEW}
 * refuses, what fails when run, and what the engine refuses.
 */
final class CorpusDatabase implements AutoCloseable {
  private static final String OWNER = "corpus/harness";

  private final TestDatabase db;
  private final HikariDataSource pool;
  private final StreamTableEngine engine;
  private final Connection connection;

  private CorpusDatabase(TestDatabase db) throws SQLException, EngineException {
    this.db = db;
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(db.jdbcUrl());
    config.setUsername(PostgresServer.SUPERUSER);
    config.setMaximumPoolSize(4);
    config.setMinimumIdle(0);
    config.setPoolName("corpus-" + db.name());
    this.pool = new HikariDataSource(config);
    this.engine = new StreamTableEngine(pool);
    engine.migrateCatalog();
    this.connection = db.connect();
  }

  static CorpusDatabase fresh() throws SQLException, EngineException {
    return new CorpusDatabase(TestPostgres.freshDatabase());
  }

  /** On a database of the caller's (a harness that starts its own server, with its settings). */
  static CorpusDatabase on(TestDatabase db) throws SQLException, EngineException {
    return new CorpusDatabase(db);
  }

  String name() {
    return db.name();
  }

  /** Runs one statement in autocommit on our connection. */
  void execute(String sql) throws SQLException {
    try (Statement statement = connection.createStatement()) {
      statement.setEscapeProcessing(false);
      statement.execute(sql);
    }
  }

  /** Runs statements in one transaction on our connection. */
  void transaction(List<String> statements) throws SQLException {
    connection.setAutoCommit(false);
    try (Statement statement = connection.createStatement()) {
      statement.setEscapeProcessing(false);
      for (String sql : statements) {
        statement.execute(sql);
      }
      connection.commit();
    } catch (SQLException e) {
      connection.rollback();
      throw e;
    } finally {
      connection.setAutoCommit(true);
    }
  }

  /** Our connection, for readers that need more than {@link #execute} (COPY, catalog reads). */
  Connection connection() {
    return connection;
  }

  /** The first column of every row of {@code sql}, as text. */
  List<String> column(String sql) throws SQLException {
    List<String> values = new ArrayList<>();
    try (Statement statement = connection.createStatement();
        ResultSet rs = statement.executeQuery(sql)) {
      while (rs.next()) {
        values.add(rs.getString(1));
      }
    }
    return values;
  }

  StreamTableEngine engine() {
    return engine;
  }

  /**
   * Makes {@code query} the stream table {@code public.<name>} if PostgreSQL runs it, {@code CREATE
   * VIEW} takes it and the engine accepts it; says which refused it otherwise. A query whose only
   * fault is that {@code CREATE VIEW} refuses duplicate output column names (SQLite names {@code
   * SELECT 1, 1} freely) is retried with its output columns renamed, {@code SELECT * FROM (query)
   * AS q(c1, ..., cn)}: the same rows.
   */
  Admission admit(String name, String query, CdcModeSpec cdcMode) throws SQLException {
    return admit(name, query, cdcMode, RefreshMode.AUTO);
  }

  /**
   * As above, made with {@code preferred}; with DIFFERENTIAL a query the engine refuses so is made
   * with AUTO.
   */
  Admission admit(String name, String query, CdcModeSpec cdcMode, RefreshMode preferred)
      throws SQLException {
    Optional<SQLException> runs = queryError(query);
    if (runs.isPresent()) {
      SQLException e = runs.get();
      Admission.Verdict verdict =
          Admission.refusedAtParse(e.getSQLState())
              ? Admission.Verdict.POSTGRES_REFUSES
              : Admission.Verdict.FAILS_WHEN_RUN;
      return Admission.refused(verdict, query, e);
    }
    Optional<SQLException> view = viewError(query);
    if (view.isPresent()) {
      if ("42701".equals(view.get().getSQLState())) {
        String renamed = renamedColumns(query);
        Admission retried = admit(name, renamed, cdcMode, preferred);
        return retried.verdict() == Admission.Verdict.ACCEPTED
            ? Admission.accepted(Admission.Verdict.ACCEPTED_RENAMED, renamed)
            : retried;
      }
      return Admission.refused(Admission.Verdict.CREATE_VIEW_REFUSES, query, view.get());
    }
    try {
      engine.apply(definition(name, query, cdcMode, preferred), OWNER);
    } catch (EngineException differentialRefused) {
      if (preferred != RefreshMode.DIFFERENTIAL
          || !String.valueOf(differentialRefused.getMessage())
              .contains("cannot be maintained differentially")) {
        return Admission.engineRefused(query, differentialRefused);
      }
      try {
        engine.apply(definition(name, query, cdcMode, RefreshMode.AUTO), OWNER);
      } catch (EngineException e) {
        return Admission.engineRefused(query, e);
      }
    }
    return Admission.accepted(Admission.Verdict.ACCEPTED, query);
  }

  static StreamTableDefinition definition(
      String name, String query, CdcModeSpec cdcMode, RefreshMode mode) throws EngineException {
    StreamTableSpec spec = new StreamTableSpec();
    spec.setName(name);
    spec.setQuery(query);
    spec.setSchedule("1s");
    spec.setCdcMode(cdcMode);
    spec.setRefreshMode(mode);
    return StreamTableDefinition.from(spec);
  }

  /** Runs the query to its end; the error, if it fails. */
  Optional<SQLException> queryError(String query) {
    try (Statement statement = connection.createStatement()) {
      statement.setEscapeProcessing(false);
      try (ResultSet rs = statement.executeQuery(query)) {
        int columns = rs.getMetaData().getColumnCount();
        while (rs.next()) {
          for (int i = 1; i <= columns; i++) {
            rs.getString(i);
          }
        }
      }
      return Optional.empty();
    } catch (SQLException e) {
      return Optional.of(e);
    }
  }

  /** Whether {@code CREATE VIEW} takes the query (tried in a transaction rolled back). */
  private Optional<SQLException> viewError(String query) throws SQLException {
    connection.setAutoCommit(false);
    try (Statement statement = connection.createStatement()) {
      statement.setEscapeProcessing(false);
      statement.execute("CREATE VIEW pg_temp.pgt_corpus_check AS " + query);
      return Optional.empty();
    } catch (SQLException e) {
      return Optional.of(e);
    } finally {
      connection.rollback();
      connection.setAutoCommit(true);
    }
  }

  private String renamedColumns(String query) throws SQLException {
    int columns;
    try (Statement statement = connection.createStatement()) {
      statement.setEscapeProcessing(false);
      try (ResultSet rs = statement.executeQuery("SELECT * FROM (" + query + ") q LIMIT 0")) {
        columns = rs.getMetaData().getColumnCount();
      }
    }
    List<String> names = new ArrayList<>();
    for (int i = 1; i <= columns; i++) {
      names.add("c" + i);
    }
    return "SELECT * FROM (" + query + ") AS q(" + String.join(", ", names) + ")";
  }

  /** Refreshes {@code public.<name>}. */
  RefreshOutcome refresh(String name) throws EngineException {
    return engine.refresh("public", name);
  }

  long rowCount(String name) throws SQLException {
    try (Statement statement = connection.createStatement();
        ResultSet rs =
            statement.executeQuery(
                "SELECT count(*) FROM " + SqlIdentifiers.qualified("public", name))) {
      rs.next();
      return rs.getLong(1);
    }
  }

  /** Rows in the stream table and not in its query or the other way round (the oracle). */
  long differences(String name, String query) throws SQLException {
    return StreamTableAssertions.differences(
        connection, SqlIdentifiers.qualified("public", name), query);
  }

  /** Drops the stream table, and with it its capture once no other stream table needs it. */
  void drop(String name) throws EngineException {
    engine.drop("public", name, OWNER);
  }

  /** The user tables of {@code public} that are not stream tables, by name. */
  List<String> sourceTables() throws SQLException {
    return column(
        "SELECT c.relname FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace"
            + " AND c.relkind IN ('r', 'p') AND NOT EXISTS (SELECT 1 FROM"
            + " pgtrickle.pgt_stream_tables s WHERE s.st_schema = 'public'"
            + " AND s.st_name = c.relname) ORDER BY c.relname COLLATE \"C\"");
  }

  /**
   * Closes connections and, when {@code dropDatabase}, drops the database (a long run makes many);
   * a failing run keeps it to look at. Replication slots go first: they would keep it alive.
   */
  void close(boolean dropDatabase) throws SQLException {
    try {
      execute(
          "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots"
              + " WHERE database = current_database()");
    } finally {
      connection.close();
      pool.close();
    }
    if (dropDatabase) {
      try (Connection admin = db.server().dataSource("postgres").getConnection();
          Statement statement = admin.createStatement()) {
        statement.execute("DROP DATABASE " + SqlIdentifiers.quote(db.name()) + " WITH (FORCE)");
      }
    }
  }

  @Override
  public void close() throws SQLException {
    close(false);
  }
}
