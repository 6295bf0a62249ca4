package io.pgtrickle.operator.api;

/**
 * How a stream table is refreshed. AUTO lets the engine choose per refresh: DIFFERENTIAL when the
 * query allows it and the change is small, FULL otherwise.
 */
public enum RefreshMode {
  AUTO,
  FULL,
  DIFFERENTIAL
}
