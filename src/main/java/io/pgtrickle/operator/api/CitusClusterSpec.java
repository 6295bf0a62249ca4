package io.pgtrickle.operator.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.generator.annotation.Required;
import io.fabric8.generator.annotation.Size;
import java.util.LinkedHashMap;
import java.util.Map;

/** How to reach a database's coordinator, and with which credentials. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class CitusClusterSpec {
  @Required private Coordinator coordinator = new Coordinator();

  @JsonPropertyDescription("The Secret with the database user and password.")
  private Credentials credentials;

  @JsonPropertyDescription(
      "Node name (as in pg_dist_node) -> host:port, for nodes the operator cannot reach by the"
          + " names Citus uses.")
  private Map<String, String> endpoints = new LinkedHashMap<>();

  @JsonPropertyDescription(
      "A database role that owns the stream tables' query views: PostgreSQL checks a view's"
          + " tables with its owner's privileges, so stream tables read only what this role may"
          + " read. The operator's role must be a member of it. Unset: the operator's own role.")
  @Size(min = 1, max = 63)
  private String queryRole;

  @JsonPropertyDescription(
      "Adopt an install of the upstream pg_trickle extension (<= 0.31, objects named after OIDs)"
          + " found in the database instead of refusing it: its catalog is parked in schema"
          + " pgtrickle_upstream, its sources' capture moves to stable names with their pending"
          + " changes, its slots are handed over and its stream tables registered (re-synced once"
          + " in full). See docs/upgrade.md. Unset or false: such a database is refused"
          + " (Ready=False, reason UpstreamInstall) and left untouched.")
  private Boolean adoptUpstream;

  public Boolean getAdoptUpstream() {
    return adoptUpstream;
  }

  public void setAdoptUpstream(Boolean adoptUpstream) {
    this.adoptUpstream = adoptUpstream;
  }

  public String getQueryRole() {
    return queryRole;
  }

  public void setQueryRole(String queryRole) {
    this.queryRole = queryRole;
  }

  public Coordinator getCoordinator() {
    return coordinator;
  }

  public void setCoordinator(Coordinator coordinator) {
    this.coordinator = coordinator;
  }

  public Credentials getCredentials() {
    return credentials;
  }

  public void setCredentials(Credentials credentials) {
    this.credentials = credentials;
  }

  public Map<String, String> getEndpoints() {
    return endpoints;
  }

  public void setEndpoints(Map<String, String> endpoints) {
    this.endpoints = endpoints;
  }

  /** Where the coordinator (or the only server, without Citus) listens. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Coordinator {
    private String host;
    private int port = 5432;
    private String database;

    @JsonPropertyDescription(
        "libpq sslmode: disable, allow, prefer, require, verify-ca, verify-full")
    private String sslMode = "prefer";

    public String getHost() {
      return host;
    }

    public void setHost(String host) {
      this.host = host;
    }

    public int getPort() {
      return port;
    }

    public void setPort(int port) {
      this.port = port;
    }

    public String getDatabase() {
      return database;
    }

    public void setDatabase(String database) {
      this.database = database;
    }

    public String getSslMode() {
      return sslMode;
    }

    public void setSslMode(String sslMode) {
      this.sslMode = sslMode;
    }
  }

  /** A Secret in the same namespace holding the database user and password. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public static class Credentials {
    @Required
    @Size(min = 1, max = 253)
    private String secretName;

    private String usernameKey = "username";
    private String passwordKey = "password";

    public String getSecretName() {
      return secretName;
    }

    public void setSecretName(String secretName) {
      this.secretName = secretName;
    }

    public String getUsernameKey() {
      return usernameKey;
    }

    public void setUsernameKey(String usernameKey) {
      this.usernameKey = usernameKey;
    }

    public String getPasswordKey() {
      return passwordKey;
    }

    public void setPasswordKey(String passwordKey) {
      this.passwordKey = passwordKey;
    }
  }
}
