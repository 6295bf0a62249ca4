package io.pgtrickle.operator.differential.model;

import java.util.Optional;

/** What the model asks the database: the type of the one column a query returns. */
@FunctionalInterface
public interface ColumnTypes {
  /**
   * The type name (as {@code pg_type.typname}) of the only column {@code query} returns, or empty
   * when the query fails or the type is not known.
   */
  Optional<String> typeOf(String query);

  /** Knows no type: nothing that depends on a type is modelled. */
  ColumnTypes NONE = query -> Optional.empty();
}
