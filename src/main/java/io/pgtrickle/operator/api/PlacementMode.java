package io.pgtrickle.operator.api;

import com.fasterxml.jackson.annotation.JsonProperty;

/** Where the stream table's storage lives on Citus. */
public enum PlacementMode {
  @JsonProperty("auto")
  AUTO,
  @JsonProperty("local")
  LOCAL,
  @JsonProperty("reference")
  REFERENCE,
  @JsonProperty("distributed")
  DISTRIBUTED
}
