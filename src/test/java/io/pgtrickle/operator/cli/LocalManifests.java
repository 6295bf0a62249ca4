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
}
