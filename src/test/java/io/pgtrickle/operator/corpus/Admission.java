package io.pgtrickle.operator.corpus;

import io.pgtrickle.operator.engine.EngineException;
import java.sql.SQLException;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * What became of one corpus query: a stream table, or refused, by whom and why. {@code category}
 * groups refusals for the report: the SQLSTATE and its condition for PostgreSQL, the reason for the
 * engine; {@code detail} is the message with names and numbers blanked, so alike refusals group.
 */
record Admission(Verdict verdict, String query, String category, String detail) {
  enum Verdict {
    /** A stream table, equal to its query when created. */
    ACCEPTED,
    /** A stream table over the query with its output columns renamed (duplicate names). */
    ACCEPTED_RENAMED,
    /** PostgreSQL does not run the query: syntax, types, names (SQLSTATE classes 42, 0A). */
    POSTGRES_REFUSES,
    /** PostgreSQL runs the query but CREATE VIEW refuses it. */
    CREATE_VIEW_REFUSES,
    /** PostgreSQL plans the query but it fails on this data (division by zero, overflow, ...). */
    FAILS_WHEN_RUN,
    /** PostgreSQL runs it and CREATE VIEW takes it, but the engine refuses it. */
    ENGINE_REFUSES;

    boolean accepted() {
      return this == ACCEPTED || this == ACCEPTED_RENAMED;
    }
  }

  /**
   * Engine refusals that are the engine's documented rules (docs/design/refresh-and-frontiers.md),
   * not bugs: a query that reads no table has nothing to capture, and a volatile function would
   * make the table differ from its query on every read. Any other refusal of a query PostgreSQL
   * runs fails the harness.
   */
  private static final List<Pattern> REFUSED_BY_DESIGN =
      List.of(
          Pattern.compile("the query reads no table"),
          Pattern.compile("the query calls volatile function"));

  static Admission accepted(Verdict verdict, String query) {
    return new Admission(verdict, query, "", "");
  }

  static Admission refused(Verdict verdict, String query, SQLException e) {
    String state = e.getSQLState() == null ? "?????" : e.getSQLState();
    return new Admission(verdict, query, state + " " + condition(state), normalize(e.getMessage()));
  }

  static Admission engineRefused(String query, EngineException e) {
    return new Admission(
        Verdict.ENGINE_REFUSES, query, e.reason().name(), normalize(e.getMessage()));
  }

  /** An engine refusal that is not one of its documented rules: a bug to report. */
  boolean unexpectedEngineRefusal() {
    return verdict == Verdict.ENGINE_REFUSES
        && REFUSED_BY_DESIGN.stream().noneMatch(p -> p.matcher(detail).find());
  }

  /** Errors PostgreSQL raises before running anything: syntax, names, types, features. */
  static boolean refusedAtParse(String sqlState) {
    return sqlState != null && (sqlState.startsWith("42") || sqlState.startsWith("0A"));
  }

  /** The message with quoted names, literals and numbers blanked, so alike messages group. */
  static String normalize(String message) {
    if (message == null) {
      return "";
    }
    String first = message.lines().findFirst().orElse("");
    if (first.startsWith("ERROR: ")) {
      first = first.substring("ERROR: ".length());
    }
    return first
        .replaceAll("\"[^\"]*\"", "\"…\"")
        .replaceAll("'[^']*'", "'…'")
        .replaceAll("\\b\\d+\\b", "N")
        .replaceAll("\\s+", " ")
        .strip();
  }

  private static String condition(String state) {
    return switch (state) {
      case "42601" -> "syntax_error";
      case "42703" -> "undefined_column";
      case "42803" -> "grouping_error";
      case "42804" -> "datatype_mismatch";
      case "42883" -> "undefined_function";
      case "42725" -> "ambiguous_function";
      case "42702" -> "ambiguous_column";
      case "42701" -> "duplicate_column";
      case "42P01" -> "undefined_table";
      case "42704" -> "undefined_object";
      case "42P10" -> "invalid_column_reference";
      case "42P16" -> "invalid_table_definition";
      case "42P18" -> "indeterminate_datatype";
      case "42846" -> "cannot_coerce";
      case "42P20" -> "windowing_error";
      case "0A000" -> "feature_not_supported";
      case "22012" -> "division_by_zero";
      case "22003" -> "numeric_value_out_of_range";
      case "22P02" -> "invalid_text_representation";
      case "21000" -> "cardinality_violation";
      case "2201E" -> "invalid_argument_for_logarithm";
      case "2201F" -> "invalid_argument_for_power_function";
      default -> "sqlstate " + state.toLowerCase(Locale.ROOT);
    };
  }
}
