package io.pgtrickle.operator.catalog;

/** The database holds the upstream extension; the catalog was not touched. */
public final class UpstreamInstallException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final transient UpstreamInstall found;

  public UpstreamInstallException(UpstreamInstall found) {
    super(
        "the database holds "
            + found.describe()
            + ". It uses the schemas pgtrickle and pgtrickle_changes as this operator does, so"
            + " nothing was created or changed. Adopt it on purpose (the command"
            + " 'pg-trickle-operator adopt', or spec.adoptUpstream: true on the CitusCluster),"
            + " use another database, or remove the extension and its objects first (DROP"
            + " EXTENSION pg_trickle CASCADE; its replication slots pgtrickle_<oid> are dropped"
            + " with pg_drop_replication_slot); see docs/upgrade.md");
    this.found = found;
  }

  public UpstreamInstall found() {
    return found;
  }
}
