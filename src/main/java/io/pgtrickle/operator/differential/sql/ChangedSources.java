package io.pgtrickle.operator.differential.sql;

import io.pgtrickle.operator.naming.StableName;

/**
 * Where a refresh keeps each changed source's net change, and how it reads a source's old state.
 */
public interface ChangedSources {
  /** Whether the source has a net change in this refresh's window. */
  boolean changed(StableName source);

  /** A relation with the source's columns and {@code pgt__w}: its net change. */
  String delta(StableName source);

  /** A query with the source's columns and {@code pgt__w}: the source before the change. */
  String oldState(StableName source);

  /**
   * A query with the source's columns, each row once: the source before the change as a true bag
   * (what an outer join's or a sublink's table must be read as), when the source has a key that
   * tells its rows apart; empty without one.
   */
  java.util.Optional<String> oldBag(StableName source);

  /** The weight column every delta relation carries: +1 for a row added, -1 for one removed. */
  String WEIGHT = "pgt__w";

  /** The temp table holding a source's net change. */
  static String deltaTable(StableName source) {
    return "pg_temp.pgt_d_" + source.value();
  }
}
