package io.pgtrickle.operator.adopt;

import java.util.ArrayList;
import java.util.List;

/**
 * What an adoption run did, for the command line and the CitusCluster's status.
 *
 * @param sources sources now captured under their stable names, as {@code schema.table}
 * @param keptByOid upstream source OIDs left as they were (their table did not resolve)
 * @param convertedRows pending upstream rows written into our buffers
 * @param slotsHandedOver upstream slots copied to their stable names and dropped (this run)
 * @param streamTables stream tables registered with the engine and re-synced in full (this run)
 * @param notAdopted stream tables left in the parked upstream catalog, with the reason
 */
public record AdoptionReport(
    List<String> sources,
    List<Long> keptByOid,
    long convertedRows,
    int slotsHandedOver,
    List<String> streamTables,
    List<String> notAdopted) {

  public AdoptionReport {
    sources = List.copyOf(sources);
    keptByOid = List.copyOf(keptByOid);
    streamTables = List.copyOf(streamTables);
    notAdopted = List.copyOf(notAdopted);
  }

  /** One line per fact, for people. */
  public List<String> lines() {
    List<String> lines = new ArrayList<>();
    lines.add(
        "adopted "
            + sources.size()
            + " source(s)"
            + (sources.isEmpty() ? "" : " (" + String.join(", ", sources) + ")")
            + ", converted "
            + convertedRows
            + " pending change row(s), handed over "
            + slotsHandedOver
            + " slot(s)");
    if (!streamTables.isEmpty()) {
      lines.add("registered and re-synced in full: " + String.join(", ", streamTables));
    }
    if (!keptByOid.isEmpty()) {
      lines.add(
          "left under their OIDs (the table does not resolve; run adopt again once it does): "
              + keptByOid);
    }
    notAdopted.forEach(n -> lines.add("not adopted: " + n));
    return lines;
  }
}
