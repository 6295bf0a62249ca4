package io.pgtrickle.operator.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.ArrayList;
import java.util.List;

/** What the operator observed of the database. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class CitusClusterStatus {
  private Long observedGeneration;
  private List<Condition> conditions = new ArrayList<>();
  private String postgresVersion;
  private String citusVersion;

  public Long getObservedGeneration() {
    return observedGeneration;
  }

  public void setObservedGeneration(Long observedGeneration) {
    this.observedGeneration = observedGeneration;
  }

  public List<Condition> getConditions() {
    return conditions;
  }

  public void setConditions(List<Condition> conditions) {
    this.conditions = conditions;
  }

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
