package io.pgtrickle.operator.naming;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class SqlIdentifiersTest {
  @Test
  void quotesAlwaysAndDoublesEmbeddedQuotes() {
    assertThat(SqlIdentifiers.quote("orders")).isEqualTo("\"orders\"");
    assertThat(SqlIdentifiers.quote("Or\"ders")).isEqualTo("\"Or\"\"ders\"");
    assertThat(SqlIdentifiers.qualified("my.schema", "T")).isEqualTo("\"my.schema\".\"T\"");
  }

  @Test
  void rejectsNulCharacters() {
    assertThatThrownBy(() -> SqlIdentifiers.quote("a\0b"))
        .isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void splitsPlainAndQuotedParts() {
    assertThat(SqlIdentifiers.splitQualified("public.Orders")).containsExactly("public", "Orders");
    assertThat(SqlIdentifiers.splitQualified("\"my.schema\".\"t\""))
        .containsExactly("my.schema", "t");
    assertThat(SqlIdentifiers.splitQualified("\"a\"\"b\".c")).containsExactly("a\"b", "c");
  }

  @Test
  void rejectsMalformedNames() {
    assertThatThrownBy(() -> SqlIdentifiers.splitQualified("\"open.t"))
        .hasMessageContaining("unterminated quote");
    assertThatThrownBy(() -> SqlIdentifiers.splitQualified("a..b"))
        .hasMessageContaining("empty name part");
    assertThatThrownBy(() -> SqlIdentifiers.splitQualified("\"a\"x.b"))
        .hasMessageContaining("after a closing quote");
    assertThatThrownBy(() -> SqlIdentifiers.splitQualified("\"\".b"))
        .hasMessageContaining("quoted name part is empty");
  }
}
