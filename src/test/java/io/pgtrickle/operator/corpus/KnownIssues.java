package io.pgtrickle.operator.corpus;

import java.util.Map;
import java.util.Optional;

/**
 * Corpus cases the harnesses skip because they expose an engine bug not fixed yet: each names the
 * case (its corpus id, as the harness prints it) and the bug. A skipped case is printed in the
 * report, never passed silently; remove the entry with the fix.
 */
final class KnownIssues {
  /** Corpus id (e.g. {@code tpch:q15}, {@code slt:test/select1.test#17}) → the bug. */
  private static final Map<String, String> ISSUES = Map.of();

  private KnownIssues() {}

  static Optional<String> of(String corpusId) {
    return Optional.ofNullable(ISSUES.get(corpusId));
  }
}
