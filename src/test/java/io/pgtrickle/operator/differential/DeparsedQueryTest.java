package io.pgtrickle.operator.differential;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The interval fields PostgreSQL prints after literals, which JSqlParser cannot read. */
class DeparsedQueryTest {
  @Test
  void aLiteralsIntervalFieldIsDropped() {
    assertThat(
            DeparsedQuery.withoutIntervalFields(
                "WHERE (o.d < ('1995-01-01'::date + '3 mons'::interval month))"))
        .isEqualTo("WHERE (o.d < ('1995-01-01'::date + '3 mons'::interval))");
    assertThat(
            DeparsedQuery.withoutIntervalFields(
                "'1 year 2 mons'::interval year to month, '1.5'::interval second(3) AS s"))
        .isEqualTo("'1 year 2 mons'::interval, '1.5'::interval AS s");
  }

  @Test
  void anythingElseIsLeftAlone() {
    String text = "(o.gap)::interval month, 'it''s'::text AS monthly, '1'::interval monthly";
    assertThat(DeparsedQuery.withoutIntervalFields(text)).isEqualTo(text);
  }
}
