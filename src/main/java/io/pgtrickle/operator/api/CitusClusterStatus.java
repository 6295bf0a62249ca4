package io.pgtrickle.operator.api;

import com.fasterxml.jackson.annotation.JsonInclude;

/** What the operator observed of the database. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class CitusClusterStatus extends ResourceStatus {
  private String postgresVersion;
  private String citusVersion;

  public String getPostgresVersion() {
    return postgresVersion;
  }

  public void setPostgresVersion(String postgresVersion) {
    this.postgresVersion = postgresVersion;
  }

  public String getCitusVersion() {
    return citusVersion;
  }

  public void setCitusVersion(String citusVersion) {
    this.citusVersion = citusVersion;
  }
}
