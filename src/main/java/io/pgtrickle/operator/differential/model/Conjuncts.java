package io.pgtrickle.operator.differential.model;

import java.util.ArrayList;
import java.util.List;

/** The top-level AND conjuncts of a condition in PostgreSQL's deparsed text. */
public final class Conjuncts {
  private Conjuncts() {}

  /**
   * The conjuncts of a WHERE condition: PostgreSQL prints {@code a AND b AND c} as {@code ((a) AND
   * (b) AND c)} (BETWEEN expanded, every nested boolean parenthesized), so they are what lies
   * between the ANDs outside any parentheses, literal or quoted name within the outer pair. One
   * span (the whole) when it is not such a conjunction. Hand-written: JSqlParser does not place
   * every parenthesized operand, and PostgreSQL's deparse is regular enough to split.
   */
  public static List<Span> of(String query, Span where) {
    String text = query.substring(where.begin(), where.end());
    int open = 0;
    int close = text.length();
    while (open < close && Character.isWhitespace(text.charAt(open))) {
      open++;
    }
    while (close > open && Character.isWhitespace(text.charAt(close - 1))) {
      close--;
    }
    if (open >= close || text.charAt(open) != '(' || matching(text, open) != close - 1) {
      return List.of(where);
    }
    List<Span> parts = new ArrayList<>();
    int depth = 0;
    int start = open + 1;
    char quote = 0;
    for (int i = open + 1; i < close - 1; i++) {
      char c = text.charAt(i);
      if (quote != 0) {
        quote = c == quote ? 0 : quote; // a doubled quote toggles twice: still inside
      } else if (c == '\'' || c == '"') {
        quote = c;
      } else if (c == '(') {
        depth++;
      } else if (c == ')') {
        depth--;
      } else if (depth == 0 && text.startsWith(" AND ", i)) {
        parts.add(new Span(where.begin() + start, where.begin() + i));
        start = i + 5;
        i += 4;
      }
    }
    if (parts.isEmpty()) {
      return List.of(where);
    }
    parts.add(new Span(where.begin() + start, where.begin() + close - 1));
    return parts;
  }

  /**
   * The index of the parenthesis closing the one at {@code open}, or -1; quoted literals and names
   * are skipped.
   */
  static int matching(String text, int open) {
    int depth = 0;
    char quote = 0;
    for (int i = open; i < text.length(); i++) {
      char c = text.charAt(i);
      if (quote != 0) {
        quote = c == quote ? 0 : quote;
      } else if (c == '\'' || c == '"') {
        quote = c;
      } else if (c == '(') {
        depth++;
      } else if (c == ')' && --depth == 0) {
        return i;
      }
    }
    return -1;
  }

  /** Whether {@code part} is one of the conjuncts of {@code where}, parentheses aside. */
  public static boolean isConjunct(String query, Span where, Span part) {
    for (Span conjunct : of(query, where)) {
      int begin = conjunct.begin();
      int end = conjunct.end();
      while (true) {
        while (begin < end && Character.isWhitespace(query.charAt(begin))) {
          begin++;
        }
        while (end > begin && Character.isWhitespace(query.charAt(end - 1))) {
          end--;
        }
        if (begin == part.begin() && end == part.end()) {
          return true;
        }
        if (begin < end
            && query.charAt(begin) == '('
            && matching(query.substring(0, end), begin) == end - 1) {
          begin++;
          end--;
        } else {
          break;
        }
      }
    }
    return false;
  }
}
