package io.pgtrickle.operator.corpus;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * TPC-H's 22 queries as {@code io.trino.tpch} ships them ({@code io/trino/tpch/queries/qN.sql}),
 * made stream-table queries with as few changes as possible, each listed in {@link
 * TpchQuery#adaptations()}:
 *
 * <ul>
 *   <li>every query: the final ORDER BY and LIMIT are removed (a stream table is a multiset; a
 *       top-N over it is a later feature), and the trailing semicolon;
 *   <li>q15: the query is a CREATE VIEW revenue followed by a SELECT over it; a stream table is one
 *       query, so the view becomes a WITH revenue AS (...) of the SELECT (the same rows).
 * </ul>
 *
 * PostgreSQL runs the rest as written: {@code DATE '1998-12-01' - INTERVAL '90' DAY}, {@code
 * decimal '0.06'}, {@code date('1994-01-01')}, {@code substr(c_phone, 1, 2)} and {@code AS c_orders
 * (c_custkey, c_count)} are all PostgreSQL too.
 */
final class TpchQueries {
  static final int COUNT = 22;

  private static final Pattern VIEW_THEN_SELECT =
      Pattern.compile(
          "(?is)CREATE\\s+OR\\s+REPLACE\\s+VIEW\\s+(\\w+)\\s+AS\\s+(.*?);\\s*(SELECT\\b.*)");
  private static final Pattern ORDER_BY = Pattern.compile("(?i)\\bORDER\\s+BY\\b");
  private static final Pattern LIMIT = Pattern.compile("(?i)\\bLIMIT\\s+\\d+\\s*$");

  /** One query: as shipped, as run, and what was changed. */
  record TpchQuery(int number, String original, String query, List<String> adaptations) {
    String id() {
      return "tpch:q" + number;
    }
  }

  private TpchQueries() {}

  static TpchQuery load(int number) {
    String resource = "io/trino/tpch/queries/q" + number + ".sql";
    String original;
    try (InputStream in =
        Thread.currentThread().getContextClassLoader().getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException(resource + " is not on the test class path");
      }
      original = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    List<String> adaptations = new ArrayList<>();
    String query = original.strip();
    Matcher view = VIEW_THEN_SELECT.matcher(query);
    if (view.find()) {
      query =
          query.substring(0, view.start())
              + "WITH "
              + view.group(1)
              + " AS ("
              + view.group(2).strip()
              + ")\n"
              + view.group(3);
      adaptations.add("CREATE VIEW " + view.group(1) + " + SELECT made one WITH query");
    }
    query = stripTrailingSemicolons(query);
    int orderBy = lastTopLevel(query, ORDER_BY);
    if (orderBy >= 0) {
      String removed = query.substring(orderBy).replaceAll("\\s+", " ").strip();
      query = query.substring(0, orderBy).stripTrailing();
      adaptations.add("removed: " + removed);
    } else {
      Matcher limit = LIMIT.matcher(query);
      if (limit.find() && depthAt(query, limit.start()) == 0) {
        adaptations.add("removed: " + limit.group().strip());
        query = query.substring(0, limit.start()).stripTrailing();
      }
    }
    return new TpchQuery(number, original, query, List.copyOf(adaptations));
  }

  private static String stripTrailingSemicolons(String query) {
    String result = query.strip();
    while (result.endsWith(";")) {
      result = result.substring(0, result.length() - 1).stripTrailing();
    }
    return result;
  }

  /** The start of the last match of {@code pattern} outside parentheses, quotes and comments. */
  private static int lastTopLevel(String query, Pattern pattern) {
    Matcher matcher = pattern.matcher(query);
    int last = -1;
    while (matcher.find()) {
      if (depthAt(query, matcher.start()) == 0) {
        last = matcher.start();
      }
    }
    return last;
  }

  /**
   * The parenthesis depth at {@code position}, or -1 inside a string literal, a quoted name or a
   * comment.
   */
  static int depthAt(String query, int position) {
    int depth = 0;
    int i = 0;
    while (i < position) {
      char c = query.charAt(i);
      if (c == '\'' || c == '"') {
        int end = query.indexOf(c, i + 1);
        if (end < 0 || end >= position) {
          return -1;
        }
        i = end + 1;
        continue;
      }
      if (query.startsWith("--", i)) {
        int end = query.indexOf('\n', i);
        if (end < 0 || end >= position) {
          return -1;
        }
        i = end + 1;
        continue;
      }
      if (c == '(') {
        depth++;
      } else if (c == ')') {
        depth--;
      }
      i++;
    }
    return depth;
  }

  static String describe(TpchQuery query) {
    return "q"
        + query.number()
        + (query.adaptations().isEmpty()
            ? " (as shipped)"
            : " (" + String.join("; ", query.adaptations()) + ")");
  }
}
