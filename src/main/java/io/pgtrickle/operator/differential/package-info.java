/**
 * The differential engine: a stream table's query, as PostgreSQL deparsed it, is read into a model
 * ({@code model}), the model is turned into a delta plan and its storage layout ({@code plan}), and
 * the plan into the SQL a refresh runs ({@code sql}). Every expression in that SQL is a slice of
 * PostgreSQL's own text; nothing is re-typed or re-printed by another engine.
 */
package io.pgtrickle.operator.differential;
