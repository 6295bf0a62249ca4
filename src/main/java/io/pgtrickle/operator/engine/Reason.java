package io.pgtrickle.operator.engine;

/**
 * The closed list of reasons a stream table is not Ready (or is Degraded). Each becomes a condition
 * reason in status, so users can alert on them; add to it deliberately.
 */
public enum Reason {
  /** The spec itself is malformed: a name, a schedule, a missing schema. */
  InvalidSpec,
  /**
   * PostgreSQL rejected the query, or it is not maintainable (volatile, reads itself, no table).
   */
  InvalidQuery,
  /** A table or schema the query reads does not exist (or has gone). */
  SourceMissing,
  /** Another resource already claims the storage table, or a non-stream table holds its name. */
  Conflict,
  /** A valid request this version cannot do yet (differential refresh, Citus placement, WAL). */
  NotSupported,
  /** The database cannot be reached. */
  ClusterUnavailable,
  /** A node lacks a setting or privilege that capture needs. */
  PrerequisitesMissing,
  /** Applying changes failed; the table keeps its last good contents. */
  RefreshFailed,
  /**
   * Other stream tables read this one's storage table, so it cannot be dropped before them (or kept
   * with deletionPolicy Retain).
   */
  DependedOn,
  /**
   * The database holds the upstream pg_trickle extension (or its OID-named objects), which uses the
   * same schema names: nothing is touched there.
   */
  UpstreamInstall,
  /**
   * Adopting the upstream install (asked for with spec.adoptUpstream or the adopt command) failed
   * or left something behind; the message says what, and the next attempt goes on from there.
   */
  AdoptionIncomplete,
  /**
   * The catalog lacks parts a restore left out (its post-data section: constraints, indexes,
   * triggers): nothing is touched until it is restored in full.
   */
  CatalogIncomplete
}
