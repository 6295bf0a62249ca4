package io.pgtrickle.operator.engine;

import io.pgtrickle.operator.catalog.ResolvedTable;
import io.pgtrickle.operator.naming.ObjectNames;
import io.pgtrickle.operator.naming.QualifiedTable;
import io.pgtrickle.operator.naming.SqlIdentifiers;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.postgresql.util.PSQLException;
import org.postgresql.util.ServerErrorMessage;

/**
 * Turns a query into a view and learns from PostgreSQL what it reads: the source tables exactly as
 * the server resolved them (through views too), and any volatile function, which would make the
 * table's contents depend on when it was refreshed. Never parses SQL itself.
 */
final class QueryAnalyzer {
  /** The stored query tree of a view's _RETURN rule. */
  private static final String RULE_TREE =
      "SELECT ev_action::text FROM pg_catalog.pg_rewrite WHERE ev_class = ? AND rulename = '_RETURN'";

  private static final String RELATION =
      "SELECT c.relkind, current_database(), n.nspname, c.relname FROM pg_catalog.pg_class c"
          + " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = ?";
  // Relations in a stored query tree (range-table entries). Read from the tree rather than
  // pg_depend, which omits "pinned" system objects such as pg_class.
  private static final Pattern RELATION_REF = Pattern.compile(":relid (\\d+)");
  // Function references in a stored query tree. Built-in functions are "pinned" and so absent
  // from pg_depend; the tree itself names them.
  private static final Pattern FUNCTION_REF =
      Pattern.compile(":(?:funcid|opfuncid|aggfnoid|winfnoid) (\\d+)");
  private static final Pattern OPERATOR_REF = Pattern.compile(":opno (\\d+)");
  // CURRENT_DATE, CURRENT_TIMESTAMP, LOCALTIME, ... are not function calls in the tree but
  // SQL value functions; those of a date/time type read the clock.
  private static final Pattern SQL_VALUE_FUNCTION =
      Pattern.compile("\\{SQLVALUEFUNCTION :op \\d+ :type (\\d+)");
  private static final Set<Long> DATE_TIME_TYPES = Set.of(1082L, 1083L, 1266L, 1114L, 1184L);
  // Stable built-ins whose result is the transaction's clock: accepted (stable within a refresh),
  // but the table's contents then change with time alone. age(x) with one argument means
  // age(current_date, x).
  private static final String CLOCK_FUNCTIONS =
      "SELECT DISTINCT p.oid::regprocedure::text FROM pg_catalog.pg_proc p"
          + " WHERE p.oid = ANY (?::oid[]) AND p.pronamespace = 'pg_catalog'::regnamespace"
          + " AND (p.proname IN ('now', 'transaction_timestamp', 'statement_timestamp')"
          + " OR (p.proname = 'age' AND p.pronargs = 1))";
  private static final String VOLATILE_FUNCTIONS =
      "SELECT DISTINCT p.oid::regprocedure::text FROM pg_catalog.pg_proc p"
          + " WHERE p.provolatile = 'v' AND (p.oid = ANY (?::oid[]) OR p.oid IN"
          + " (SELECT o.oprcode FROM pg_catalog.pg_operator o WHERE o.oid = ANY (?::oid[])))";

  private QueryAnalyzer() {}

  /** {@code pgtrickle.pgt_query_<id>}: the view that holds a stream table's query. */
  static String viewName(long streamTableId) {
    return "pgt_query_" + streamTableId;
  }

  /**
   * Creates the view for the query, which must be one statement ({@link SingleQuery}). PostgreSQL's
   * own message and error position (relative to the query, not to our CREATE VIEW) become the
   * exception's message.
   */
  static long createView(
      Connection connection, long streamTableId, String query, StreamTableDefinition definition)
      throws SQLException, EngineException {
    SingleQuery.require(connection, query);
    String prefix =
        "CREATE VIEW "
            + SqlIdentifiers.qualified(ObjectNames.CATALOG_SCHEMA, viewName(streamTableId))
            + " AS ";
    try (Statement statement = connection.createStatement()) {
      // The text goes to PostgreSQL as written: no JDBC escapes ({fn ...}) rewritten.
      statement.setEscapeProcessing(false);
      statement.execute("SAVEPOINT pgt_define_query");
      statement.execute(prefix + query);
      statement.execute("RELEASE SAVEPOINT pgt_define_query");
    } catch (PSQLException e) {
      try (Statement statement = connection.createStatement()) {
        statement.execute("ROLLBACK TO SAVEPOINT pgt_define_query");
      }
      throw queryError(e, prefix.length(), query, definition);
    }
    try (PreparedStatement statement = connection.prepareStatement("SELECT to_regclass(?)::oid")) {
      statement.setString(
          1, SqlIdentifiers.qualified(ObjectNames.CATALOG_SCHEMA, viewName(streamTableId)));
      try (ResultSet rs = statement.executeQuery()) {
        rs.next();
        return rs.getLong(1);
      }
    }
  }

  /**
   * What a query reads: its source tables, and the clock functions that make its result change with
   * time alone (empty when it depends on its sources only).
   */
  record AnalyzedQuery(List<SourceTable> sources, List<String> clockReads) {}

  /**
   * The tables the view reads, through nested views, and a check that the query can be maintained:
   * no volatile function, at least one capturable table, none of our own objects.
   */
  static AnalyzedQuery analyze(Connection connection, long viewOid)
      throws SQLException, EngineException {
    List<SourceTable> sources = new ArrayList<>();
    Set<String> clockReads = new TreeSet<>();
    Set<Long> functionIds = new HashSet<>();
    Set<Long> operatorIds = new HashSet<>();
    Set<Long> seen = new HashSet<>();
    Deque<Long> views = new ArrayDeque<>(List.of(viewOid));
    seen.add(viewOid);
    while (!views.isEmpty()) {
      long view = views.pop();
      String tree = ruleTree(connection, view);
      collect(FUNCTION_REF, tree, functionIds);
      collect(OPERATOR_REF, tree, operatorIds);
      Set<Long> valueFunctionTypes = new HashSet<>();
      collect(SQL_VALUE_FUNCTION, tree, valueFunctionTypes);
      valueFunctionTypes.stream()
          .filter(DATE_TIME_TYPES::contains)
          .findAny()
          .ifPresent(t -> clockReads.add("CURRENT_DATE/CURRENT_TIME/LOCALTIMESTAMP"));
      Set<Long> relids = new TreeSet<>();
      collect(RELATION_REF, tree, relids);
      for (long relid : relids) {
        if (!seen.add(relid)) {
          continue;
        }
        Optional<SourceTable> relation = relation(connection, relid);
        if (relation.isEmpty()) {
          continue;
        }
        if (relation.get().relkind() == 'v') {
          views.push(relid);
        } else {
          sources.add(relation.get());
        }
      }
    }
    rejectVolatile(connection, functionIds, operatorIds);
    clockReads.addAll(clockFunctions(connection, functionIds));
    for (SourceTable source : sources) {
      rejectUncapturable(source);
    }
    if (sources.isEmpty()) {
      throw new EngineException(
          Reason.InvalidQuery,
          "the query reads no table, so there is nothing to capture; a stream table needs at"
              + " least one source table");
    }
    return new AnalyzedQuery(sources, List.copyOf(clockReads));
  }

  private static Set<String> clockFunctions(Connection connection, Set<Long> functions)
      throws SQLException {
    Set<String> found = new TreeSet<>();
    if (functions.isEmpty()) {
      return found;
    }
    try (PreparedStatement statement = connection.prepareStatement(CLOCK_FUNCTIONS)) {
      statement.setArray(1, connection.createArrayOf("oid", functions.toArray()));
      try (ResultSet rs = statement.executeQuery()) {
        while (rs.next()) {
          found.add(rs.getString(1));
        }
      }
    }
    return found;
  }

  private static String ruleTree(Connection connection, long view) throws SQLException {
    try (PreparedStatement statement = connection.prepareStatement(RULE_TREE)) {
      statement.setLong(1, view);
      try (ResultSet rs = statement.executeQuery()) {
        return rs.next() ? rs.getString(1) : "";
      }
    }
  }

  private static Optional<SourceTable> relation(Connection connection, long relid)
      throws SQLException {
    try (PreparedStatement statement = connection.prepareStatement(RELATION)) {
      statement.setLong(1, relid);
      try (ResultSet rs = statement.executeQuery()) {
        if (!rs.next()) {
          return Optional.empty();
        }
        return Optional.of(
            new SourceTable(
                new ResolvedTable(
                    relid, new QualifiedTable(rs.getString(2), rs.getString(3), rs.getString(4))),
                rs.getString(1).charAt(0)));
      }
    }
  }

  private static void rejectVolatile(Connection connection, Set<Long> functions, Set<Long> ops)
      throws SQLException, EngineException {
    if (functions.isEmpty() && ops.isEmpty()) {
      return;
    }
    Set<String> volatileOnes = new TreeSet<>();
    try (PreparedStatement statement = connection.prepareStatement(VOLATILE_FUNCTIONS)) {
      statement.setArray(1, connection.createArrayOf("oid", functions.toArray()));
      statement.setArray(2, connection.createArrayOf("oid", ops.toArray()));
      try (ResultSet rs = statement.executeQuery()) {
        while (rs.next()) {
          volatileOnes.add(rs.getString(1));
        }
      }
    }
    if (!volatileOnes.isEmpty()) {
      throw new EngineException(
          Reason.InvalidQuery,
          "the query calls volatile function(s) "
              + String.join(", ", volatileOnes)
              + ": their result changes from call to call, so the table could never equal its"
              + " query; use stable or immutable expressions");
    }
  }

  private static void rejectUncapturable(SourceTable source) throws EngineException {
    String schema = source.table().name().schema();
    String name = source.qualifiedName();
    if (schema.equals("pg_catalog") || schema.equals("information_schema")) {
      throw new EngineException(
          Reason.InvalidQuery,
          "the query reads system catalog " + name + ", whose changes cannot be captured");
    }
    if (schema.equals(ObjectNames.CATALOG_SCHEMA) || schema.equals(ObjectNames.CHANGES_SCHEMA)) {
      throw new EngineException(
          Reason.InvalidQuery, "the query reads the operator's own table " + name);
    }
    switch (source.relkind()) {
      case 'r', 'p' -> {}
      case 'm' ->
          throw new EngineException(
              Reason.InvalidQuery,
              "the query reads materialized view " + name + ", whose changes cannot be captured");
      case 'f' ->
          throw new EngineException(
              Reason.NotSupported,
              "the query reads foreign table " + name + "; foreign tables cannot be captured");
      default ->
          throw new EngineException(
              Reason.InvalidQuery,
              "the query reads " + name + " (relkind " + source.relkind() + "), not a table");
    }
  }

  private static EngineException queryError(
      PSQLException e, int prefixLength, String query, StreamTableDefinition definition) {
    ServerErrorMessage server = e.getServerErrorMessage();
    String state = e.getSQLState() == null ? "" : e.getSQLState();
    String message =
        server != null && server.getMessage() != null ? server.getMessage() : e.getMessage();
    StringBuilder text = new StringBuilder("PostgreSQL rejected the query: ").append(message);
    int position = server == null ? 0 : server.getPosition() - prefixLength;
    if (position > 0 && position <= query.length() + 1) {
      text.append(" (at position ").append(position).append(" of the query)");
    }
    if (server != null && server.getHint() != null) {
      text.append("; hint: ").append(server.getHint());
    }
    if ("42P01".equals(state) && readsItself(message, definition)) {
      return new EngineException(
          Reason.InvalidQuery,
          "the query reads the stream table itself ("
              + definition.schema()
              + "."
              + definition.name()
              + "); a stream table cannot be defined in terms of itself. "
              + text,
          e);
    }
    Reason reason =
        switch (state) {
          case "42P01", "3F000" -> Reason.SourceMissing;
          case "42501" -> Reason.PrerequisitesMissing;
          default -> Reason.InvalidQuery;
        };
    return new EngineException(reason, text.toString(), e);
  }

  private static boolean readsItself(String message, StreamTableDefinition definition) {
    Matcher missing = Pattern.compile("relation \"([^\"]+)\" does not exist").matcher(message);
    if (!missing.find()) {
      return false;
    }
    String relation = missing.group(1);
    return relation.equals(definition.name())
        || relation.equals(definition.schema() + "." + definition.name());
  }

  private static void collect(Pattern pattern, String tree, Set<Long> into) {
    if (tree == null) {
      return;
    }
    Matcher matcher = pattern.matcher(tree);
    while (matcher.find()) {
      into.add(Long.parseLong(matcher.group(1)));
    }
  }
}
