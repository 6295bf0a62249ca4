package io.pgtrickle.operator.cdc.wal;

import io.pgtrickle.operator.cdc.wal.PgOutputMessage.Value;
import java.util.List;

/**
 * Builds PostgreSQL's record text form, {@code (a,"b c",)}, from column values, as record_out
 * writes it: so rows captured from WAL look exactly like rows captured by triggers ({@code
 * row::text}). NULL is empty; a value is quoted when empty or when it holds a quote, backslash,
 * comma, parenthesis or white space, doubling quotes and backslashes inside.
 */
final class RecordText {
  private RecordText() {}

  static String of(List<Value> values) {
    StringBuilder text = new StringBuilder("(");
    for (int i = 0; i < values.size(); i++) {
      if (i > 0) {
        text.append(',');
      }
      Value value = values.get(i);
      if (value.kind() == Value.Kind.TEXT) {
        append(text, value.text());
      }
    }
    return text.append(')').toString();
  }

  private static void append(StringBuilder text, String value) {
    boolean quote = value.isEmpty();
    for (int i = 0; i < value.length() && !quote; i++) {
      char c = value.charAt(i);
      quote =
          c == '"' || c == '\\' || c == ',' || c == '(' || c == ')' || Character.isWhitespace(c);
    }
    if (!quote) {
      text.append(value);
      return;
    }
    text.append('"');
    for (int i = 0; i < value.length(); i++) {
      char c = value.charAt(i);
      if (c == '"' || c == '\\') {
        text.append(c);
      }
      text.append(c);
    }
    text.append('"');
  }
}
