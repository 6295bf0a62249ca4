package io.pgtrickle.operator.differential.model;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/** A piece of the deparsed text replaced: the rewrites before modelling are made of these. */
record TextEdit(Span span, String text) {
  /**
   * The text of {@code within} with {@code edits} made (each inside it, none overlapping another),
   * the rest as PostgreSQL printed it.
   */
  static String apply(String text, Span within, List<TextEdit> edits)
      throws NotDifferentialException {
    List<TextEdit> sorted = new ArrayList<>(edits);
    sorted.sort(Comparator.comparingInt((TextEdit e) -> e.span().begin()).reversed());
    StringBuilder out = new StringBuilder(text.substring(within.begin(), within.end()));
    for (TextEdit edit : sorted) {
      if (!within.contains(edit.span())) {
        throw new NotDifferentialException("a piece of the query it cannot place");
      }
      out.replace(
          edit.span().begin() - within.begin(), edit.span().end() - within.begin(), edit.text());
    }
    return out.toString();
  }
}
