package io.pgtrickle.operator.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;

/** The most recent refresh that applied changes. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class LastRefresh {
  private String time;
  private String mode;
  private Long durationMillis;
  private Long rowsChanged;

  @JsonPropertyDescription(
      "Why this refresh ran FULL although refreshMode is AUTO or DIFFERENTIAL: the query is not"
          + " maintained differentially (and which construct), a TRUNCATE or re-sync among the"
          + " changes, a change too large for AUTO, or a differential refresh that failed.")
  private String reason;

  public String getTime() {
    return time;
  }

  public void setTime(String time) {
    this.time = time;
  }

  public String getMode() {
    return mode;
  }

  public void setMode(String mode) {
    this.mode = mode;
  }

  public Long getDurationMillis() {
    return durationMillis;
  }

  public void setDurationMillis(Long durationMillis) {
    this.durationMillis = durationMillis;
  }

  public String getReason() {
    return reason;
  }

  public void setReason(String reason) {
    this.reason = reason;
  }

  public Long getRowsChanged() {
    return rowsChanged;
  }

  public void setRowsChanged(Long rowsChanged) {
    this.rowsChanged = rowsChanged;
  }
}
