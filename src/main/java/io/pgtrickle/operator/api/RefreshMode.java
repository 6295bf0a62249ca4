package io.pgtrickle.operator.api;

/** How a stream table is refreshed. AUTO lets the engine choose (FULL until differential lands). */
public enum RefreshMode {
  AUTO,
  FULL,
  DIFFERENTIAL
}
