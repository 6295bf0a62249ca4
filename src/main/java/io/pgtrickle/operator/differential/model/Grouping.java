package io.pgtrickle.operator.differential.model;

import java.util.List;
import java.util.Optional;

/**
 * How the top of the query folds rows into groups: DISTINCT (and UNION) keep one row per distinct
 * row, GROUP BY per key; an aggregate without GROUP BY is one group that always has a row.
 *
 * @param keys the grouping expressions of the (single) branch; for DISTINCT and UNION each branch's
 *     select-list expressions are the keys
 * @param groupBy the GROUP BY list's text
 * @param aggregates the aggregate calls of the select list, in text order
 * @param items per select-list item, the parts replaced when its value is computed from state
 * @param having the HAVING condition
 */
public record Grouping(
    Kind kind,
    List<Span> keys,
    Optional<Span> groupBy,
    List<Aggregate> aggregates,
    List<ItemParts> items,
    Optional<Span> having) {
  public Grouping {
    keys = List.copyOf(keys);
    aggregates = List.copyOf(aggregates);
    items = List.copyOf(items);
  }

  public enum Kind {
    NONE,
    DISTINCT,
    GROUP_BY,
    /** Aggregates without GROUP BY: exactly one row, also over no input. */
    SINGLE_GROUP
  }

  static Grouping none() {
    return new Grouping(
        Kind.NONE, List.of(), Optional.empty(), List.of(), List.of(), Optional.empty());
  }

  /**
   * Whether every group can be kept by adding the change to its state. Otherwise (HAVING, or an
   * aggregate without such a state) each group the change touches is recomputed from the sources.
   */
  public boolean algebraic() {
    return having.isEmpty() && aggregates.stream().noneMatch(a -> a.kind() == Aggregate.Kind.OTHER);
  }

  /**
   * An item of a grouped select list: its expression's span and, inside it, the parts that name a
   * group key ({@code key} is its index) or an aggregate call ({@code aggregate} is its index).
   */
  public record ItemParts(Span expression, List<Part> parts) {
    public ItemParts {
      parts = List.copyOf(parts);
    }
  }

  /** One replaced part: either a key or an aggregate, by index. */
  public record Part(Span span, int key, int aggregate) {
    static Part key(Span span, int index) {
      return new Part(span, index, -1);
    }

    static Part aggregate(Span span, int index) {
      return new Part(span, -1, index);
    }
  }
}
