package io.pgtrickle.operator.corpus;

import java.util.OptionalInt;

/**
 * The knobs of the corpus harnesses, read from system properties ({@code -Dcorpus.seed=...} on the
 * Maven command line reaches the test JVM). Defaults give the slice {@code ./mvnw verify} runs;
 * {@code -Pcorpus} sets the sample sizes to {@code all}. See docs/testing.md, "Query corpora".
 */
final class CorpusSettings {
  /** The seed used when none is given: the default run is the same run every time. */
  static final long DEFAULT_SEED = 20_240_601L;

  private CorpusSettings() {}

  /** The seed every random choice of both harnesses derives from. */
  static long seed() {
    return Long.getLong("corpus.seed", DEFAULT_SEED);
  }

  static String string(String name, String fallback) {
    String value = System.getProperty(name);
    return value == null || value.isBlank() ? fallback : value.strip();
  }

  static int integer(String name, int fallback) {
    return Integer.parseInt(string(name, Integer.toString(fallback)));
  }

  static double decimal(String name, double fallback) {
    return Double.parseDouble(string(name, Double.toString(fallback)));
  }

  /** A sample size: a number, or {@code all} (empty). */
  static OptionalInt sampleSize(String name, int fallback) {
    String value = string(name, Integer.toString(fallback));
    return value.equalsIgnoreCase("all")
        ? OptionalInt.empty()
        : OptionalInt.of(Integer.parseInt(value));
  }

  /** A seed for one part of a run (a file, a round), from the run's seed and the part's name. */
  static long derive(long seed, String part) {
    long h = seed ^ 0xcbf29ce484222325L;
    for (int i = 0; i < part.length(); i++) {
      h ^= part.charAt(i);
      h *= 0x100000001b3L;
    }
    return h;
  }
}
