package io.pgtrickle.operator.differential.model;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import net.sf.jsqlparser.expression.Expression;
import net.sf.jsqlparser.expression.ExpressionVisitorAdapter;
import net.sf.jsqlparser.schema.Column;
import net.sf.jsqlparser.schema.Table;
import net.sf.jsqlparser.statement.select.PlainSelect;
import net.sf.jsqlparser.statement.select.Select;
import net.sf.jsqlparser.statement.select.SelectItem;

/**
 * Writes {@code A EXCEPT B} ({@code A INTERSECT B}) as {@code SELECT DISTINCT <A's list> FROM …
 * WHERE <A's condition> AND NOT EXISTS (SELECT 1 FROM <B's table> pgt_b WHERE <B's condition> AND
 * b1 IS NOT DISTINCT FROM a1 …)} ({@code EXISTS}), when B reads one table: the engine then keeps
 * B's table as an EXISTS sublink's, differential when it changes, where read as a subquery it would
 * freeze it. The set operations compare rows as IS NOT DISTINCT FROM does (NULLs equal).
 *
 * <p>Every piece is PostgreSQL's text; only qualifiers change. B's table is renamed {@code pgt_b}
 * (A may read the same table under the same name), and an unqualified column of A's list gets A's
 * table as its qualifier, so that inside the sublink it still means A's.
 */
final class SetFilterAsExists {
  private static final String ALIAS = "pgt_b";

  private final String text;
  private final DatabaseFacts facts;

  private SetFilterAsExists(String text, DatabaseFacts facts) {
    this.text = text;
    this.facts = facts;
  }

  /** The rewritten query, or empty when B is not one table or a piece cannot be placed. */
  static Optional<String> rewrite(
      String text, PlainSelect first, Select second, boolean except, DatabaseFacts facts) {
    try {
      return new SetFilterAsExists(text, facts).rewrite(first, second, except);
    } catch (NotDifferentialException e) {
      return Optional.empty();
    }
  }

  private Optional<String> rewrite(PlainSelect a, Select second, boolean except)
      throws NotDifferentialException {
    if (!(second instanceof PlainSelect b)
        || !(b.getFromItem() instanceof Table bTable)
        || (b.getJoins() != null && !b.getJoins().isEmpty())
        || bTable.getSchemaName() == null // a WITH query's name
        || (bTable.getAlias() != null && bTable.getAlias().getAliasColumns() != null)
        || b.getDistinct() != null
        || b.getGroupBy() != null
        || b.getHaving() != null
        || b.getWithItemsList() != null
        || b.getLimit() != null
        || b.getOffset() != null
        || b.getFetch() != null
        || a.getSelectItems().size() != b.getSelectItems().size()
        || text.contains(ALIAS)
        || subqueries(text.substring(Span.of(b).begin(), Span.of(b).end())) > 0) {
      return Optional.empty();
    }
    Optional<String> aQualifier = soleQualifier(a);
    String bQualifier = bTable.getAlias() == null ? bTable.getName() : bTable.getAlias().getName();
    List<String> equal = new ArrayList<>();
    for (int i = 0; i < a.getSelectItems().size(); i++) {
      SelectItem<?> aItem = a.getSelectItems().get(i);
      SelectItem<?> bItem = b.getSelectItems().get(i);
      Span aSpan = Span.ofExpression(text, aItem);
      Span bSpan = Span.ofExpression(text, bItem);
      if (subqueries(text.substring(aSpan.begin(), aSpan.end())) > 0) {
        return Optional.empty();
      }
      Optional<String> outer = qualified(aItem.getExpression(), aSpan, aQualifier);
      if (outer.isEmpty()) {
        return Optional.empty();
      }
      equal.add(
          "("
              + renamed(bItem.getExpression(), bSpan, bQualifier)
              + ") IS NOT DISTINCT FROM ("
              + outer.get()
              + ")");
    }
    StringBuilder out = new StringBuilder("SELECT DISTINCT ");
    Span items =
        new Span(
            Span.of(a.getSelectItems().get(0)).begin(),
            Span.of(a.getSelectItems().get(a.getSelectItems().size() - 1)).end());
    out.append(text, items.begin(), items.end());
    int fromBegin = text.lastIndexOf("FROM", Span.of(a.getFromItem()).begin());
    if (fromBegin < items.end()) {
      return Optional.empty();
    }
    int fromEnd = a.getWhere() == null ? Span.of(a).end() : whereKeyword(a);
    out.append(' ').append(text, fromBegin, fromEnd).append(" WHERE ");
    if (a.getWhere() != null) {
      Span where = Span.of(a.getWhere());
      out.append('(').append(text, where.begin(), where.end()).append(") AND ");
    }
    out.append(except ? "NOT " : "")
        .append("EXISTS ( SELECT 1 FROM ")
        .append(bTable.getFullyQualifiedName())
        .append(' ')
        .append(ALIAS)
        .append(" WHERE ");
    if (b.getWhere() != null) {
      Span where = Span.of(b.getWhere());
      out.append('(').append(renamed(b.getWhere(), where, bQualifier)).append(") AND ");
    }
    out.append(String.join(" AND ", equal)).append(')');
    String rewritten = out.toString();
    // PostgreSQL has the last word: a text it cannot run is not used.
    return facts.typeOf(rewritten).isPresent() ? Optional.of(rewritten) : Optional.empty();
  }

  /** Where A's WHERE keyword starts (its FROM clause ends there). */
  private int whereKeyword(PlainSelect a) throws NotDifferentialException {
    int where = text.lastIndexOf("WHERE", Span.of(a.getWhere()).begin());
    if (where < 0) {
      throw new NotDifferentialException("a WHERE it cannot locate");
    }
    return where;
  }

  /** The qualifier of A's one table, when A reads one table; empty otherwise. */
  private static Optional<String> soleQualifier(PlainSelect a) {
    if (a.getFromItem() instanceof Table table
        && (a.getJoins() == null || a.getJoins().isEmpty())) {
      return Optional.of(table.getAlias() == null ? table.getName() : table.getAlias().getName());
    }
    return Optional.empty();
  }

  /**
   * A's expression with its unqualified columns qualified by A's one table; empty when it has one
   * and A reads several.
   */
  private Optional<String> qualified(Expression expression, Span span, Optional<String> qualifier)
      throws NotDifferentialException {
    List<Column> bare = new ArrayList<>();
    for (Column column : columns(expression)) {
      if (column.getTable() == null || column.getTable().getName() == null) {
        bare.add(column);
      }
    }
    if (!bare.isEmpty() && qualifier.isEmpty()) {
      return Optional.empty();
    }
    return Optional.of(replaced(span, bare, c -> qualifier.get() + "." + c.getColumnName()));
  }

  /** B's text with its table's qualifier made {@link #ALIAS}. */
  private String renamed(Expression expression, Span span, String qualifier)
      throws NotDifferentialException {
    List<Column> named = new ArrayList<>();
    for (Column column : columns(expression)) {
      Table table = column.getTable();
      if (table != null
          && table.getName() != null
          && table.getSchemaName() == null
          && table.getName().equals(qualifier)) {
        named.add(column);
      }
    }
    return replaced(span, named, c -> ALIAS + "." + c.getColumnName());
  }

  /** The text of {@code span} with each of {@code columns} written as {@code by} says. */
  private String replaced(
      Span span, List<Column> columns, java.util.function.Function<Column, String> by)
      throws NotDifferentialException {
    List<TextEdit> edits = new ArrayList<>();
    for (Column column : columns) {
      edits.add(new TextEdit(Span.of(column), by.apply(column)));
    }
    return TextEdit.apply(text, span, edits);
  }

  private static List<Column> columns(Expression expression) {
    List<Column> found = new ArrayList<>();
    expression.accept(
        new ExpressionVisitorAdapter<Void>() {
          @Override
          public <S> Void visit(Column column, S context) {
            found.add(column);
            return null;
          }
        },
        null);
    return found;
  }

  /** How many SELECT keywords a piece of text holds outside its literals. */
  private static int subqueries(String piece) {
    String bare = ExpressionScan.withoutLiterals(piece);
    int count = 0;
    for (int i = bare.indexOf("SELECT"); i >= 0; i = bare.indexOf("SELECT", i + 1)) {
      count++;
    }
    return piece.strip().startsWith("SELECT") ? count - 1 : count;
  }
}
