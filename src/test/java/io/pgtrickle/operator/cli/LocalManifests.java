package io.pgtrickle.operator.cli;

/** YAML resources as a user writes them for local mode. */
final class LocalManifests {
  private LocalManifests() {}

  /** A StreamTable named {@code resource} keeping {@code public.<table>} equal to the query. */
  static String streamTable(String resource, String table, String query) {
    return """
        apiVersion: pgtrickle.io/v1alpha1
        kind: StreamTable
        metadata:
          name: %s
        spec:
          name: %s
          query: "%s"
          schedule: 1s
        """
        .formatted(resource, table, query);
  }

  /** A Secret and a CitusCluster "local-db" naming {@code db} (trust authentication). */
  static String cluster(io.pgtrickle.operator.testing.TestDatabase db) {
    return """
        apiVersion: v1
        kind: Secret
        metadata: {name: creds}
        stringData: {username: postgres, password: not-checked}
        ---
        apiVersion: pgtrickle.io/v1alpha1
        kind: CitusCluster
        metadata: {name: local-db}
        spec:
          coordinator: {host: 127.0.0.1, port: %d, database: %s, sslMode: disable}
          credentials: {secretName: creds}
        """
        .formatted(db.server().port(), db.name());
  }
}
