package io.pgtrickle.operator.naming;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class Fnv1a64Test {
  /** The reference vectors published with FNV (Fowler/Noll/Vo test suite). */
  @ParameterizedTest
  @CsvSource({"'', cbf29ce484222325", "a, af63dc4c8601ec8c", "foobar, 85944171f73967e8"})
  void matchesPublishedVectors(String input, String expected) {
    assertThat(Fnv1a64.hex(input.getBytes(StandardCharsets.UTF_8))).isEqualTo(expected);
  }

  @ParameterizedTest
  @CsvSource({"'', -3750763034362895579", "a, -5808556873153909620"})
  void hashIsTheSignedViewOfTheSameBits(String input, long expected) {
    assertThat(Fnv1a64.hash(input.getBytes(StandardCharsets.UTF_8))).isEqualTo(expected);
  }
}
