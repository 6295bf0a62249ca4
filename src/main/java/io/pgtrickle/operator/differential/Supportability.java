package io.pgtrickle.operator.differential;

import io.pgtrickle.operator.differential.model.Aggregate;
import io.pgtrickle.operator.differential.model.NotDifferentialException;
import io.pgtrickle.operator.differential.model.QueryModel;
import io.pgtrickle.operator.differential.plan.Layout;
import io.pgtrickle.operator.naming.StableName;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Decides once, when a stream table is created or rebuilt, whether its query is maintained
 * differentially, and if not, why (for status, and to refuse an explicit DIFFERENTIAL).
 */
public final class Supportability {
  private Supportability() {}

  /** The model when the query is differential; else the reason it is not. */
  public record Decision(Optional<QueryModel> model, Optional<String> blocker) {
    static Decision no(String reason) {
      return new Decision(Optional.empty(), Optional.of(reason));
    }
  }

  /** What the engine knows about the stream table besides its query. */
  public record Facts(
      Map<List<String>, StableName> sources,
      Set<StableName> walSources,
      boolean citusSources,
      List<String> clockReads) {}

  public static Decision decide(Connection connection, String queryView, Facts facts)
      throws SQLException {
    if (!facts.clockReads().isEmpty()) {
      return Decision.no("it reads the clock (" + String.join(", ", facts.clockReads()) + ")");
    }
    QueryModel model;
    try {
      model = DeparsedQuery.model(connection, queryView, facts.sources());
    } catch (NotDifferentialException e) {
      return Decision.no(e.getMessage());
    }
    // Citus sources are WAL-captured on every node holding their data, and Citus has no snapshot
    // across nodes: the same rule, and the reason says why in Citus's terms.
    if (!facts.walSources().isEmpty() || facts.citusSources()) {
      Optional<String> wal = walBlocker(model, facts.citusSources());
      if (wal.isPresent()) {
        return Decision.no(wal.get());
      }
    }
    return new Decision(Optional.of(model), Optional.empty());
  }

  /**
   * Sums kept by adding and subtracting are exact for integers and numerics only: a float sum
   * drifts with the order of its terms, and other types (interval, money) have no zero to start
   * from. Read from the state view's column types, once it exists.
   */
  public static Optional<String> stateTypeBlocker(Connection connection, String stateView)
      throws SQLException {
    try (java.sql.PreparedStatement statement =
        connection.prepareStatement(
            "SELECT string_agg(DISTINCT format_type(a.atttypid, a.atttypmod), ', ')"
                + " FROM pg_catalog.pg_attribute a WHERE a.attrelid = ?::regclass"
                + " AND a.attname LIKE 'pgt\\_a%\\_sum'"
                + " AND a.atttypid NOT IN ('bigint'::regtype, 'numeric'::regtype)")) {
      statement.setString(1, stateView);
      try (java.sql.ResultSet rs = statement.executeQuery()) {
        rs.next();
        String bad = rs.getString(1);
        return bad == null
            ? Optional.empty()
            : Optional.of("sum or avg over a type other than integers and numeric (" + bad + ")");
      }
    }
  }

  /**
   * Whether every delta term reads a change and nothing else: each UNION ALL branch reads one
   * table, linearly (no join, no sublink, no grouped block in FROM, whose change is its touched
   * groups now less as they were). Tables read only by frozen subqueries do not count: a change to
   * one of them runs FULL.
   */
  static boolean readsChangesAlone(QueryModel model) {
    return innerJoinsOnly(model)
        && model.branches().stream().allMatch(branch -> branch.allTables().size() == 1);
  }

  /**
   * Whether every branch reads its tables through inner joins and plain subqueries in FROM only: no
   * outer join, sublink or block that changes as a whole (grouped, or a LEFT JOIN's right side).
   * Over Citus sources such joins are differential behind the write barrier, held until the refresh
   * commits (no snapshot spans the nodes).
   */
  static boolean innerJoinsOnly(QueryModel model) {
    return model.branches().stream()
        .allMatch(
            branch ->
                branch.blocks().stream()
                    .allMatch(b -> b.nonLinear().isEmpty() && b.wholeBlocks().isEmpty()));
  }

  /**
   * Whether a differential refresh of the model reads a source's state besides the changes: a join,
   * a sublink, a grouped block in FROM, a set filter (all read a table as it is or as it was), or a
   * min/max state recomputed when its extreme goes. Over WAL-captured sources on one server such a
   * refresh runs behind the write barrier, so that the tables it reads hold exactly the changes the
   * slots delivered.
   */
  public static boolean readsState(QueryModel model) {
    return !readsChangesAlone(model) || minMaxKept(model);
  }

  private static boolean minMaxKept(QueryModel model) {
    return Layout.of(model) == Layout.GROUPS_ALGEBRAIC
        && model.grouping().aggregates().stream()
            .anyMatch(a -> a.kind() == Aggregate.Kind.MIN || a.kind() == Aggregate.Kind.MAX);
  }

  /**
   * WAL capture moves changes into the buffers before the refresh's snapshot, so the tables a
   * refresh reads may be ahead of the changes it applies. On one server a refresh that reads them
   * runs behind the write barrier instead ({@link #readsState}), which makes them exactly what was
   * delivered. Citus has no snapshot across nodes, so there the barrier is held until the refresh
   * commits: inner joins and min/max recomputed from the tables are exact behind it. Outer joins,
   * sublinks and grouped blocks are refused there: their differential SQL joins local change tables
   * into correlated subqueries over distributed ones, which Citus does not plan.
   */
  private static Optional<String> walBlocker(QueryModel model, boolean citus) {
    if (!citus) {
      return Optional.empty();
    }
    if (!innerJoinsOnly(model)) {
      return Optional.of(
          "outer joins, subqueries (EXISTS, IN, grouped in FROM) and EXCEPT/INTERSECT over Citus"
              + " distributed or reference tables are refreshed in full (their differential SQL"
              + " is not one Citus plans: it joins local change tables into correlated subqueries"
              + " over distributed ones)");
    }
    return Optional.empty();
  }
}
