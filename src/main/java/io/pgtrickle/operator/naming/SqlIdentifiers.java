package io.pgtrickle.operator.naming;

import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import org.postgresql.core.Utils;

/** Quoting and splitting of SQL identifiers. Every identifier we put into SQL goes through here. */
public final class SqlIdentifiers {
  /** PostgreSQL's NAMEDATALEN - 1: longer names are silently truncated by the server. */
  public static final int MAX_IDENTIFIER_BYTES = 63;

  private SqlIdentifiers() {}

  /** Always double-quotes, so case, dots and keywords survive; uses pgjdbc's own escaping. */
  public static String quote(String identifier) {
    try {
      return Utils.escapeIdentifier(null, identifier).toString();
    } catch (SQLException e) {
      throw new IllegalArgumentException("not a valid identifier: " + e.getMessage(), e);
    }
  }

  /** {@code "schema"."name"}. */
  public static String qualified(String schema, String name) {
    return quote(schema) + "." + quote(name);
  }

  /**
   * Splits a dotted name into its parts. A part in double quotes may contain dots, and {@code ""}
   * stands for one quote; an unquoted part is taken as written, case kept, because callers pass raw
   * catalog names. Hand-written because pgjdbc and the JDK have no public identifier parser.
   */
  public static List<String> splitQualified(String text) {
    List<String> parts = new ArrayList<>();
    StringBuilder part = new StringBuilder();
    boolean quoted = false;
    boolean partWasQuoted = false;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (quoted) {
        if (c == '"') {
          if (i + 1 < text.length() && text.charAt(i + 1) == '"') {
            part.append('"');
            i++;
          } else {
            quoted = false;
          }
        } else {
          part.append(c);
        }
      } else if (c == '"') {
        if (part.length() > 0) {
          throw new IllegalArgumentException("misplaced quote in name: " + text);
        }
        quoted = true;
        partWasQuoted = true;
      } else if (c == '.') {
        parts.add(finishPart(part, partWasQuoted, text));
        part.setLength(0);
        partWasQuoted = false;
      } else {
        if (partWasQuoted) {
          throw new IllegalArgumentException("text after a closing quote in name: " + text);
        }
        part.append(c);
      }
    }
    if (quoted) {
      throw new IllegalArgumentException("unterminated quote in name: " + text);
    }
    parts.add(finishPart(part, partWasQuoted, text));
    return parts;
  }

  private static String finishPart(StringBuilder part, boolean wasQuoted, String text) {
    if (part.length() == 0 && !wasQuoted) {
      throw new IllegalArgumentException("empty name part in: " + text);
    }
    if (part.length() == 0) {
      throw new IllegalArgumentException("a quoted name part is empty in: " + text);
    }
    return part.toString();
  }
}
