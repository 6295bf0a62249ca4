package io.pgtrickle.operator.differential.model;

import java.util.Optional;

/** What the model asks the database about a query's parts. */
public interface DatabaseFacts {
  /**
   * The type name (as {@code pg_type.typname}) of the only column {@code query} returns, or empty
   * when the query fails or the type is not known.
   */
  Optional<String> typeOf(String query);

  /**
   * Whether a function of that name (as printed, maybe schema-qualified) may return a set; true
   * when not known.
   */
  boolean returnsSet(String function);

  /**
   * The column names of a table (as printed in FROM, schema-qualified), in order; empty when not
   * known.
   */
  default Optional<java.util.List<String>> columnsOf(String table) {
    return Optional.empty();
  }

  /** Knows nothing: nothing that depends on a type or a function's kind is modelled. */
  DatabaseFacts NONE =
      new DatabaseFacts() {
        @Override
        public Optional<String> typeOf(String query) {
          return Optional.empty();
        }

        @Override
        public boolean returnsSet(String function) {
          return true;
        }
      };
}
