package io.pgtrickle.operator.corpus;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Counts of what became of a corpus's queries and checks, printed as the harness's report. */
final class CorpusTally {
  private final String corpus;
  private final Map<Admission.Verdict, Integer> verdicts = new EnumMap<>(Admission.Verdict.class);
  private final Map<String, Group> groups = new TreeMap<>();
  private final Map<String, Integer> events = new LinkedHashMap<>();
  private final List<String> knownIssuesSkipped = new ArrayList<>();
  private final Map<String, Integer> excludedByCorpus = new TreeMap<>();

  private record Group(String example, int count) {}

  CorpusTally(String corpus) {
    this.corpus = corpus;
    for (Admission.Verdict verdict : Admission.Verdict.values()) {
      verdicts.put(verdict, 0);
    }
  }

  synchronized void admitted(String id, Admission admission) {
    verdicts.merge(admission.verdict(), 1, Integer::sum);
    if (!admission.verdict().accepted()) {
      String key = admission.verdict() + " | " + admission.category() + " | " + admission.detail();
      Group group = groups.get(key);
      groups.put(
          key,
          group == null
              ? new Group(id + ": " + oneLine(admission.query()), 1)
              : new Group(group.example(), group.count() + 1));
    }
  }

  /** Counts something that happened: a check passed, a refresh that failed as its query does. */
  synchronized void count(String event) {
    count(event, 1);
  }

  synchronized void count(String event, int times) {
    events.merge(event, times, Integer::sum);
  }

  /** Queries the corpus itself excludes from a PostgreSQL run, by why. */
  synchronized void excludedByCorpus(Map<String, Integer> counts) {
    counts.forEach((why, n) -> excludedByCorpus.merge(why, n, Integer::sum));
  }

  synchronized void knownIssueSkipped(String line) {
    knownIssuesSkipped.add(line);
  }

  synchronized int verdictCount(Admission.Verdict verdict) {
    return verdicts.get(verdict);
  }

  synchronized int total() {
    return verdicts.values().stream().mapToInt(Integer::intValue).sum();
  }

  synchronized String report() {
    StringBuilder out = new StringBuilder();
    out.append("== ").append(corpus).append(": ").append(total()).append(" queries\n");
    verdicts.forEach((v, n) -> out.append(String.format("  %-20s %7d%n", v, n)));
    if (!groups.isEmpty()) {
      out.append("  refusals by category (verdict | SQLSTATE or reason | message):\n");
      groups.entrySet().stream()
          .sorted((a, b) -> Integer.compare(b.getValue().count(), a.getValue().count()))
          .forEach(
              e ->
                  out.append(String.format("  %7d  %s%n", e.getValue().count(), e.getKey()))
                      .append("           e.g. ")
                      .append(e.getValue().example())
                      .append('\n'));
    }
    if (!events.isEmpty()) {
      out.append("  checks:\n");
      events.forEach((e, n) -> out.append(String.format("  %7d  %s%n", n, e)));
    }
    if (!excludedByCorpus.isEmpty()) {
      out.append("  queries the files themselves exclude from PostgreSQL runs (whole files):\n");
      excludedByCorpus.entrySet().stream()
          .sorted((a, b) -> Integer.compare(b.getValue(), a.getValue()))
          .forEach(e -> out.append(String.format("  %7d  %s%n", e.getValue(), e.getKey())));
    }
    if (!knownIssuesSkipped.isEmpty()) {
      out.append("  skipped as known issues:\n");
      knownIssuesSkipped.forEach(line -> out.append("    ").append(line).append('\n'));
    }
    return out.toString();
  }

  static String oneLine(String query) {
    String line = query.replaceAll("\\s+", " ").strip();
    return line.length() > 300 ? line.substring(0, 300) + " ..." : line;
  }
}
