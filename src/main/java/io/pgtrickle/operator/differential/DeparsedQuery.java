package io.pgtrickle.operator.differential;

import io.pgtrickle.operator.differential.model.DatabaseFacts;
import io.pgtrickle.operator.differential.model.NotDifferentialException;
import io.pgtrickle.operator.differential.model.QueryModel;
import io.pgtrickle.operator.differential.model.QueryModeler;
import io.pgtrickle.operator.naming.SqlIdentifiers;
import io.pgtrickle.operator.naming.StableName;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Reads a query view's definition as PostgreSQL prints it and models it. The text is printed with
 * {@code search_path} set to {@code pg_catalog} alone, so every table is schema-qualified, and the
 * SQL built from it must run under that same path ({@link #pinSearchPath}) to mean what the view
 * means.
 */
public final class DeparsedQuery {
  private DeparsedQuery() {}

  /**
   * The model of {@code view}'s query.
   *
   * @param sources the captured source tables, by raw {@code [schema, table]}
   */
  public static QueryModel model(
      Connection connection, String view, Map<List<String>, StableName> sources)
      throws SQLException, NotDifferentialException {
    String text;
    String previous = pinSearchPath(connection);
    try (PreparedStatement statement =
        connection.prepareStatement("SELECT pg_catalog.pg_get_viewdef(?::regclass)")) {
      statement.setString(1, view);
      try (ResultSet rs = statement.executeQuery()) {
        rs.next();
        text = rs.getString(1).strip();
      }
    } finally {
      restoreSearchPath(connection, previous);
    }
    return modelOfText(connection, text, sources);
  }

  /**
   * The model of a query view's text as {@code pg_get_viewdef} printed it under {@link
   * #PIN_SEARCH_PATH} (read by the caller, e.g. together with other facts in one statement).
   */
  public static QueryModel modelOfText(
      Connection connection, String printed, Map<List<String>, StableName> sources)
      throws NotDifferentialException {
    String text = printed.strip();
    if (text.endsWith(";")) {
      text = text.substring(0, text.length() - 1);
    }
    text = withoutIntervalFields(text);
    // Parsing is the costly part of a small refresh; a model depends only on the text and the
    // sources (and the catalog's aggregates, which a view's text pins: a function it calls cannot
    // change kind while the view depends on it).
    String key = sources + "\n" + text;
    QueryModel cached = MODELS.get(key);
    if (cached != null) {
      return cached;
    }
    QueryModel model =
        QueryModeler.model(
            text,
            sources,
            name -> isAggregate(connection, name),
            new DatabaseFacts() {
              @Override
              public Optional<String> typeOf(String query) {
                return DeparsedQuery.typeOf(connection, query);
              }

              @Override
              public boolean returnsSet(String function) {
                return DeparsedQuery.returnsSet(connection, function);
              }

              @Override
              public Optional<List<String>> columnsOf(String table) {
                return DeparsedQuery.columnsOf(connection, table);
              }
            });
    if (MODELS.size() >= MAX_CACHED) {
      MODELS.clear();
    }
    MODELS.put(key, model);
    return model;
  }

  private static final int MAX_CACHED = 512;
  private static final java.util.concurrent.ConcurrentHashMap<String, QueryModel> MODELS =
      new java.util.concurrent.ConcurrentHashMap<>();

  // PostgreSQL prints INTERVAL '3' MONTH as '3 mons'::interval month, a form JSqlParser cannot
  // read. For a literal the field changes nothing: the printed value is already the one the
  // field allowed. Casts of anything but a literal keep their field (and are not differential).
  private static final java.util.regex.Pattern INTERVAL_FIELD =
      java.util.regex.Pattern.compile(
          "('(?:[^']|'')*'::interval)\\s+(?:year|month|day|hour|minute|second)(?![a-z_])"
              + "(?:\\s+to\\s+(?:month|hour|minute|second)(?![a-z_]))?(?:\\(\\d+\\))?");

  static String withoutIntervalFields(String text) {
    return INTERVAL_FIELD.matcher(text).replaceAll("$1");
  }

  /** {@link #pinSearchPath} as a statement, to send together with others. */
  public static final String PIN_SEARCH_PATH = "SET LOCAL search_path = pg_catalog";

  /**
   * Sets {@code search_path} to {@code pg_catalog} for the rest of the transaction; returns the
   * previous value for {@link #restoreSearchPath}.
   */
  public static String pinSearchPath(Connection connection) throws SQLException {
    try (Statement statement = connection.createStatement();
        ResultSet rs =
            statement.executeQuery(
                "SELECT pg_catalog.current_setting('search_path'),"
                    + " pg_catalog.set_config('search_path', 'pg_catalog', true)")) {
      rs.next();
      return rs.getString(1);
    }
  }

  public static void restoreSearchPath(Connection connection, String previous) throws SQLException {
    try (PreparedStatement statement =
        connection.prepareStatement("SELECT pg_catalog.set_config('search_path', ?, true)")) {
      statement.setString(1, previous);
      statement.execute();
    }
  }

  /**
   * The type of the one column {@code query} (a slice of the deparsed text) returns, read from its
   * result's metadata without running it; empty if it fails, which the savepoint confines.
   */
  private static Optional<String> typeOf(Connection connection, String query) {
    try {
      boolean inTransaction = !connection.getAutoCommit();
      java.sql.Savepoint savepoint = inTransaction ? connection.setSavepoint() : null;
      String previous = pinSearchPath(connection);
      try (Statement statement = connection.createStatement();
          ResultSet rs = statement.executeQuery("SELECT * FROM (" + query + ") q LIMIT 0")) {
        return Optional.ofNullable(rs.getMetaData().getColumnTypeName(1));
      } catch (SQLException e) {
        if (savepoint != null) {
          connection.rollback(savepoint);
        }
        return Optional.empty();
      } finally {
        if (savepoint != null && !connection.isClosed()) {
          restoreSearchPath(connection, previous);
        }
      }
    } catch (SQLException e) {
      return Optional.empty();
    }
  }

  /**
   * The columns of a table named as printed (schema-qualified, quoted where needed), in order;
   * empty when it is not a table the catalog knows.
   */
  private static Optional<List<String>> columnsOf(Connection connection, String table) {
    try {
      boolean inTransaction = !connection.getAutoCommit();
      java.sql.Savepoint savepoint = inTransaction ? connection.setSavepoint() : null;
      try {
        return readColumns(connection, table);
      } catch (SQLException e) {
        if (savepoint != null) {
          connection.rollback(savepoint); // a refresh's transaction goes on
        }
        return Optional.empty();
      }
    } catch (SQLException e) {
      return Optional.empty();
    }
  }

  private static Optional<List<String>> readColumns(Connection connection, String table)
      throws SQLException {
    try (PreparedStatement statement =
        connection.prepareStatement(
            "SELECT a.attname FROM pg_catalog.pg_attribute a"
                + " WHERE a.attrelid = pg_catalog.to_regclass(?) AND a.attnum > 0"
                + " AND NOT a.attisdropped ORDER BY a.attnum")) {
      statement.setString(1, table);
      List<String> columns = new java.util.ArrayList<>();
      try (ResultSet rs = statement.executeQuery()) {
        while (rs.next()) {
          columns.add(rs.getString(1));
        }
      }
      return columns.isEmpty() ? Optional.empty() : Optional.of(columns);
    }
  }

  /** Whether a function name, as printed (maybe schema-qualified), names an aggregate. */
  private static boolean isAggregate(Connection connection, String name) {
    // Unknown is treated as an aggregate: its groups are then recomputed, never miscounted.
    return anyFunction(connection, name, "prokind IN ('a', 'w')");
  }

  /** Whether a function of that name may return a set (unknown: yes, so nothing is miscounted). */
  private static boolean returnsSet(Connection connection, String name) {
    return anyFunction(connection, name, "proretset");
  }

  /**
   * Whether some function named as printed (maybe schema-qualified) satisfies {@code condition}, a
   * constant condition on pg_proc; true when the catalog cannot be asked.
   */
  private static boolean anyFunction(Connection connection, String name, String condition) {
    List<String> parts = SqlIdentifiers.splitQualified(name);
    try (PreparedStatement statement =
        connection.prepareStatement(
            "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_proc WHERE proname = ? AND "
                + condition
                + ")")) {
      statement.setString(1, parts.get(parts.size() - 1));
      try (ResultSet rs = statement.executeQuery()) {
        rs.next();
        return rs.getBoolean(1);
      }
    } catch (SQLException e) {
      return true;
    }
  }
}
