package io.pgtrickle.operator.engine;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * Which stream tables read which: a stream table whose query reads another's storage table is
 * downstream of it. Stream tables are created, refreshed and dropped along this graph, so a change
 * reaches the top of a chain in one pass, and no storage table is dropped while another stream
 * table's query still reads it. Cycles cannot be created (apply refuses them).
 */
public final class StreamTableGraph {
  private static final String EDGES =
      "SELECT a.st_schema || '.' || a.st_name, b.st_schema || '.' || b.st_name"
          + " FROM pgtrickle.pgt_stream_tables a"
          + " JOIN pgtrickle.pgt_dependencies d ON d.stream_table_id = a.id"
          + " JOIN pgtrickle.pgt_stream_tables b ON d.source_relid ="
          + "  to_regclass(format('%I.%I', b.st_schema, b.st_name))::oid";

  /** reader → the stream tables it reads, by "schema.name". */
  private final Map<String, Set<String>> upstream;

  StreamTableGraph(Map<String, Set<String>> upstream) {
    this.upstream = upstream;
  }

  static StreamTableGraph load(Connection connection) throws SQLException {
    Map<String, Set<String>> upstream = new HashMap<>();
    try (Statement statement = connection.createStatement();
        ResultSet rs = statement.executeQuery(EDGES)) {
      while (rs.next()) {
        upstream.computeIfAbsent(rs.getString(1), k -> new TreeSet<>()).add(rs.getString(2));
      }
    }
    return new StreamTableGraph(upstream);
  }

  /** The stream tables {@code schema.name} reads directly, sorted. */
  public List<String> upstreamOf(String schema, String name) {
    return List.copyOf(upstream.getOrDefault(schema + "." + name, Set.of()));
  }

  /** The stream tables that read {@code schema.name} directly, sorted. */
  public List<String> downstreamOf(String schema, String name) {
    String key = schema + "." + name;
    return upstream.entrySet().stream()
        .filter(e -> e.getValue().contains(key))
        .map(Map.Entry::getKey)
        .sorted()
        .toList();
  }

  /**
   * {@code items} with every stream table after those it reads (among the items); otherwise in the
   * given order. {@code nameOf} gives an item's "schema.name".
   */
  public <T> List<T> upstreamFirst(List<T> items, Function<T, String> nameOf) {
    List<T> ordered = new ArrayList<>();
    Set<String> placed = new LinkedHashSet<>();
    Set<String> present = new LinkedHashSet<>();
    items.forEach(item -> present.add(nameOf.apply(item)));
    List<T> pending = new ArrayList<>(items);
    while (!pending.isEmpty()) {
      boolean progress = false;
      for (var it = pending.iterator(); it.hasNext(); ) {
        T item = it.next();
        String name = nameOf.apply(item);
        boolean ready =
            upstream.getOrDefault(name, Set.of()).stream()
                .allMatch(u -> u.equals(name) || placed.contains(u) || !present.contains(u));
        if (ready) {
          ordered.add(item);
          placed.add(name);
          it.remove();
          progress = true;
        }
      }
      if (!progress) { // a cycle, which apply refuses to create: keep the given order
        ordered.addAll(pending);
        break;
      }
    }
    return ordered;
  }

  /** {@code items} with every stream table before those it reads: the order to drop them in. */
  public <T> List<T> downstreamFirst(List<T> items, Function<T, String> nameOf) {
    List<T> ordered = new ArrayList<>(upstreamFirst(items, nameOf));
    java.util.Collections.reverse(ordered);
    return ordered;
  }
}
