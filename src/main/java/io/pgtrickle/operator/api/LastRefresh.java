package io.pgtrickle.operator.api;

import com.fasterxml.jackson.annotation.JsonInclude;

/** The most recent refresh that applied changes. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class LastRefresh {
  private String time;
  private String mode;
  private Long durationMillis;
  private Long rowsChanged;

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

  public Long getRowsChanged() {
    return rowsChanged;
  }

  public void setRowsChanged(Long rowsChanged) {
    this.rowsChanged = rowsChanged;
  }
}
