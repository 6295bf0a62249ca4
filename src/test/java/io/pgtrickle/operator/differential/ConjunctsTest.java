package io.pgtrickle.operator.differential;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgtrickle.operator.differential.model.Conjuncts;
import io.pgtrickle.operator.differential.model.Span;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Conditions split as PostgreSQL prints them (every nested boolean parenthesized). */
class ConjunctsTest {
  private static List<String> split(String where) {
    return Conjuncts.of(where, new Span(0, where.length())).stream()
        .map(s -> where.substring(s.begin(), s.end()))
        .toList();
  }

  @Test
  void aConjunctionSplitsAtItsOwnAndsOnly() {
    assertThat(
            split(
                "((a.x = b.y) AND (a.s = 'p AND q'::text) AND (\"odd AND name\".z > 1)"
                    + " AND ((c.k >= 1) AND (c.k <= 3)) AND (EXISTS ( SELECT 1 FROM t WHERE"
                    + " ((t.u = a.x) AND t.v))))"))
        .containsExactly(
            "(a.x = b.y)",
            "(a.s = 'p AND q'::text)",
            "(\"odd AND name\".z > 1)",
            "((c.k >= 1) AND (c.k <= 3))",
            "(EXISTS ( SELECT 1 FROM t WHERE ((t.u = a.x) AND t.v)))");
  }

  @Test
  void anythingButAConjunctionIsOnePiece() {
    assertThat(split("((a.x = 1) OR (a.y = 2))")).containsExactly("((a.x = 1) OR (a.y = 2))");
    assertThat(split("(a.x = 1) AND (a.y = 2)")).containsExactly("(a.x = 1) AND (a.y = 2)");
    assertThat(split("a.flag")).containsExactly("a.flag");
  }

  @Test
  void aConjunctIsRecognisedThroughItsParentheses() {
    String where = "((o.k IN ( SELECT l.k FROM l GROUP BY l.k)) AND (NOT (o.j IN ( SELECT 1))))";
    int in = where.indexOf("o.k IN");
    Span sublink = new Span(in, where.indexOf("l.k)") + 4);
    assertThat(where.substring(sublink.begin(), sublink.end()))
        .isEqualTo("o.k IN ( SELECT l.k FROM l GROUP BY l.k)");
    assertThat(Conjuncts.isConjunct(where, new Span(0, where.length()), sublink)).isTrue();
    int notIn = where.indexOf("o.j IN");
    Span negated = new Span(notIn, where.indexOf("SELECT 1)") + 9);
    assertThat(Conjuncts.isConjunct(where, new Span(0, where.length()), negated)).isFalse();
  }
}
