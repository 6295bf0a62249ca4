package io.pgtrickle.operator.differential.model;

import java.util.Optional;

/**
 * An aggregate call in a grouped block's select list.
 *
 * @param kind what state maintains it
 * @param call the call's text, replaced by a value computed from that state
 * @param argument the argument's text ({@code count(*)} has none)
 */
public record Aggregate(Kind kind, Span call, Optional<Span> argument) {
  /** Aggregates with an algebraic state, and one kind for all that are recomputed per group. */
  public enum Kind {
    COUNT_STAR,
    COUNT,
    SUM,
    AVG,
    MIN,
    MAX,
    BOOL_AND,
    BOOL_OR,
    /** count(DISTINCT x), string_agg, FILTER, ...: the affected groups are recomputed. */
    OTHER
  }
}
