package io.pgtrickle.operator.api;

import com.fasterxml.jackson.annotation.JsonProperty;

/** How changes to the sources are captured: auto picks per source placement. */
public enum CdcModeSpec {
  @JsonProperty("auto")
  AUTO,
  @JsonProperty("trigger")
  TRIGGER,
  @JsonProperty("wal")
  WAL
}
