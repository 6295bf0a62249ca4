package io.pgtrickle.operator.differential.model;

import java.util.List;
import java.util.Optional;

/**
 * A SELECT ... FROM ... WHERE block that is linear in each table it reads: inner joins, filters and
 * projections over tables and over such blocks in FROM. Everything is a position in the deparsed
 * text, so the SQL a refresh runs is PostgreSQL's own text with table references swapped.
 *
 * @param items the select list, {@code expr [AS name]} each
 * @param itemExpressions each item's expression, without its alias
 * @param core from the end of the select list to the end of WHERE (or of FROM): {@code FROM ...
 *     WHERE ...}, without GROUP BY, HAVING or ORDER BY
 * @param where the WHERE condition, if any
 * @param tables tables read directly in this block's FROM, in text order
 * @param nested blocks in this block's FROM ({@code ( SELECT ... ) alias}), in text order
 */
public record Branch(
    Span items,
    List<Span> itemExpressions,
    Span core,
    Optional<Span> where,
    List<TableOccurrence> tables,
    List<Nested> nested) {
  public Branch {
    itemExpressions = List.copyOf(itemExpressions);
    tables = List.copyOf(tables);
    nested = List.copyOf(nested);
  }

  /** A block in FROM: its SELECT (inside the parentheses) and the alias the outer block uses. */
  public record Nested(Span select, String alias, Branch branch) {}

  /** Every table occurrence, nested ones included, in text order: the order of delta terms. */
  public List<TableOccurrence> allTables() {
    List<TableOccurrence> all = new java.util.ArrayList<>(tables);
    nested.forEach(n -> all.addAll(n.branch().allTables()));
    all.sort(java.util.Comparator.comparingInt(t -> t.span().begin()));
    return all;
  }
}
