package io.pgtrickle.operator.differential.model;

import io.pgtrickle.operator.naming.SqlIdentifiers;
import io.pgtrickle.operator.naming.StableName;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import net.sf.jsqlparser.JSQLParserException;

/**
 * Searches the text of an expression: its string literals blanked, group keys found on identifier
 * boundaries, and its subqueries, whose tables are recorded as frozen (a refresh in which one of
 * them changed runs FULL). Hand-written because JSqlParser does not place every node of an
 * expression, while PostgreSQL's deparse has a regular enough form to search.
 */
final class ExpressionScan {
  // A subquery anywhere in an expression (EXISTS, IN, scalar, ARRAY(...)): PostgreSQL prints each
  // as "( SELECT" (string literals are blanked before searching).
  private static final Pattern SUBQUERY = Pattern.compile("\\(\\s*(SELECT|VALUES|WITH)\\b");

  private final String text;
  private final Map<List<String>, StableName> sources;
  private final java.util.Set<StableName> frozen = new java.util.LinkedHashSet<>();

  ExpressionScan(String text, Map<List<String>, StableName> sources) {
    this.text = text;
    this.sources = sources;
  }

  /** The tables read only by subqueries of expressions, so far. */
  java.util.Set<StableName> frozen() {
    return frozen;
  }

  void requireNoSubquery(Span span) throws NotDifferentialException {
    requireNoSubquery(span, List.of());
  }

  /** As above, past the modelled EXISTS subqueries {@code allowed} inside the span. */
  void requireNoSubquery(Span span, List<Span> allowed) throws NotDifferentialException {
    StringBuilder blanked = new StringBuilder(text.substring(span.begin(), span.end()));
    for (Span sublink : allowed) {
      for (int i = sublink.begin(); i < sublink.end(); i++) {
        blanked.setCharAt(i - span.begin(), ' ');
      }
    }
    String expression = withoutLiterals(blanked.toString());
    if (expression.contains(".*")) {
      // A whole-row reference would carry the engine's weight column along with the row.
      throw new NotDifferentialException("a whole-row reference (alias.*)");
    }
    Matcher subquery = SUBQUERY.matcher(expression);
    int from = 0;
    while (subquery.find(from)) {
      int open = subquery.start();
      int close = closing(expression, open);
      freeze(text.substring(span.begin() + open + 1, span.begin() + close));
      from = close + 1;
    }
  }

  /**
   * A subquery in an expression (IN, NOT IN, a scalar subquery, an EXISTS not modelled as
   * non-linear): while the tables it reads do not change, it is a fixed function of the row it is
   * evaluated for, and the query stays linear around it. Its tables are recorded; a refresh in
   * which one of them changed runs FULL.
   */
  void freeze(String subquery) throws NotDifferentialException {
    java.util.Set<String> tables;
    try {
      tables = net.sf.jsqlparser.util.TablesNamesFinder.findTables(subquery);
    } catch (JSQLParserException | RuntimeException e) {
      throw new NotDifferentialException("a subquery it cannot read");
    }
    for (String table : tables) {
      List<String> name;
      try {
        name = SqlIdentifiers.splitQualified(table);
      } catch (IllegalArgumentException e) {
        throw new NotDifferentialException("a subquery reading " + table);
      }
      StableName source = name.size() == 2 ? sources.get(name) : null;
      if (source == null) {
        throw new NotDifferentialException(
            "a subquery reading " + table + ", which is not a captured table");
      }
      frozen.add(source);
    }
  }

  /** The index of the parenthesis closing the one at {@code open} (literals already blanked). */
  private static int closing(String expression, int open) throws NotDifferentialException {
    int depth = 0;
    for (int i = open; i < expression.length(); i++) {
      char c = expression.charAt(i);
      if (c == '(') {
        depth++;
      } else if (c == ')' && --depth == 0) {
        return i;
      }
    }
    throw new NotDifferentialException("an unbalanced subquery");
  }

  /** Occurrences of a key's text in an item, on identifier boundaries. */
  List<Span> matches(Span within, String key) {
    List<Span> found = new ArrayList<>();
    String region = text.substring(within.begin(), within.end());
    for (String candidate : List.of(key, "(" + key + ")")) {
      int from = 0;
      while (true) {
        int at = region.indexOf(candidate, from);
        if (at < 0) {
          break;
        }
        int begin = within.begin() + at;
        int end = begin + candidate.length();
        if (boundary(begin - 1) && boundary(end)) {
          found.add(new Span(begin, end));
        }
        from = at + 1;
      }
    }
    return found;
  }

  private boolean boundary(int index) {
    if (index < 0 || index >= text.length()) {
      return true;
    }
    char c = text.charAt(index);
    return !(Character.isLetterOrDigit(c) || c == '_' || c == '.' || c == '"' || c == '$');
  }

  /** A grouping expression as its item prints it: PostgreSQL wraps GROUP BY expressions in (). */
  static String normalized(String key) {
    String k = key.strip();
    while (k.startsWith("(") && k.endsWith(")") && balanced(k.substring(1, k.length() - 1))) {
      k = k.substring(1, k.length() - 1).strip();
    }
    return k;
  }

  /** The text with the insides of its string literals blanked, for searching its syntax. */
  static String withoutLiterals(String sql) {
    StringBuilder out = new StringBuilder(sql.length());
    boolean quoted = false;
    for (int i = 0; i < sql.length(); i++) {
      char c = sql.charAt(i);
      if (c == '\'') {
        quoted = !quoted; // '' inside a literal toggles twice: still inside
        out.append(c);
      } else {
        out.append(quoted ? ' ' : c);
      }
    }
    return out.toString();
  }

  private static boolean balanced(String s) {
    int depth = 0;
    boolean quoted = false;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '\'') {
        quoted = !quoted;
      } else if (!quoted && c == '(') {
        depth++;
      } else if (!quoted && c == ')' && --depth < 0) {
        return false;
      }
    }
    return depth == 0;
  }
}
