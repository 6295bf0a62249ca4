package io.pgtrickle.operator.differential.model;

import io.pgtrickle.operator.naming.SqlIdentifiers;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import net.sf.jsqlparser.expression.Expression;
import net.sf.jsqlparser.expression.ExpressionVisitorAdapter;
import net.sf.jsqlparser.schema.Column;
import net.sf.jsqlparser.schema.Table;
import net.sf.jsqlparser.statement.select.FromItem;
import net.sf.jsqlparser.statement.select.Join;
import net.sf.jsqlparser.statement.select.ParenthesedFromItem;
import net.sf.jsqlparser.statement.select.PlainSelect;
import net.sf.jsqlparser.statement.select.Select;
import net.sf.jsqlparser.statement.select.SelectItem;

/**
 * Writes {@code A EXCEPT B} ({@code A INTERSECT B}) as {@code SELECT DISTINCT <A's list> FROM …
 * WHERE <A's condition> AND NOT EXISTS (SELECT 1 FROM <B's tables> WHERE <B's condition> AND b1 IS
 * NOT DISTINCT FROM a1 …)} ({@code EXISTS}), when B reads one table or an inner join of tables
 * (comma joins, {@code JOIN … ON}, {@code CROSS JOIN}; filters): the engine then keeps B's tables
 * as an EXISTS sublink's, differential when they change, where read as a subquery it would freeze
 * them. The set operations compare rows as IS NOT DISTINCT FROM does (NULLs equal).
 *
 * <p>Every piece is PostgreSQL's text; only qualifiers change. B's tables are renamed {@code
 * pgt_b}, {@code pgt_b2}, … (A may read the same tables under the same names), every column of B's
 * select list, ON and WHERE qualified by its table's new name (an unqualified one by the one table
 * of B the catalog gives that column, else the rewrite is not made); an unqualified column of A's
 * list gets the qualifier of A's table that has it, so that inside the sublink it still means A's.
 */
final class SetFilterAsExists {
  private static final String ALIAS = "pgt_b";

  private final String text;
  private final DatabaseFacts facts;

  /** A table of a FROM clause and the name its columns are qualified with. */
  private record Leaf(Table table, String qualifier) {}

  /** What a FROM clause was found to hold. */
  private static final class From {
    final List<Leaf> tables = new ArrayList<>();
    final List<Expression> conditions = new ArrayList<>();

    /** Whether every relation of it is a schema-qualified table without column aliases. */
    boolean onlyTables = true;

    /** Whether every join of it is inner, ON a condition or none (comma, CROSS JOIN). */
    boolean innerOn = true;
  }

  private SetFilterAsExists(String text, DatabaseFacts facts) {
    this.text = text;
    this.facts = facts;
  }

  /**
   * The rewritten query, or empty when B is not an inner join of tables or a piece cannot be
   * placed.
   */
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
        || b.getFromItem() == null
        || b.getDistinct() != null
        || b.getGroupBy() != null
        || b.getHaving() != null
        || b.getWithItemsList() != null
        || b.getLimit() != null
        || b.getOffset() != null
        || b.getFetch() != null
        || b.getForMode() != null
        || b.getWindowDefinitions() != null
        || a.getSelectItems().size() != b.getSelectItems().size()
        || text.contains(ALIAS)
        || subqueries(text.substring(Span.of(b).begin(), Span.of(b).end())) > 0) {
      return Optional.empty();
    }
    From bFrom = new From();
    walk(b.getFromItem(), b.getJoins(), bFrom);
    if (!bFrom.onlyTables || !bFrom.innerOn || bFrom.tables.isEmpty()) {
      return Optional.empty();
    }
    Map<String, String> names = new LinkedHashMap<>();
    for (Leaf leaf : bFrom.tables) {
      String name = names.isEmpty() ? ALIAS : ALIAS + (names.size() + 1);
      if (names.put(leaf.qualifier(), name) != null) {
        return Optional.empty(); // two of B's tables under one name: PostgreSQL prints no such
      }
    }
    From aFrom = new From();
    walk(a.getFromItem(), a.getJoins(), aFrom);
    List<String> equal = new ArrayList<>();
    for (int i = 0; i < a.getSelectItems().size(); i++) {
      SelectItem<?> aItem = a.getSelectItems().get(i);
      SelectItem<?> bItem = b.getSelectItems().get(i);
      Span aSpan = Span.ofExpression(text, aItem);
      Span bSpan = Span.ofExpression(text, bItem);
      if (subqueries(text.substring(aSpan.begin(), aSpan.end())) > 0) {
        return Optional.empty();
      }
      equal.add(
          "("
              + allRenamed(
                  TextEdit.apply(text, bSpan, renamed(bItem.getExpression(), bFrom, names)), names)
              + ") IS NOT DISTINCT FROM ("
              + TextEdit.apply(text, aSpan, qualified(aItem.getExpression(), aFrom))
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
        .append(allRenamed(bFromClause(b, bFrom, names), names))
        .append(" WHERE ");
    if (b.getWhere() != null) {
      Span where = Span.of(b.getWhere());
      out.append('(')
          .append(
              allRenamed(TextEdit.apply(text, where, renamed(b.getWhere(), bFrom, names)), names))
          .append(") AND ");
    }
    out.append(String.join(" AND ", equal)).append(')');
    String rewritten = out.toString();
    // PostgreSQL has the last word: a text it cannot run is not used.
    return facts.typeOf(rewritten).isPresent() ? Optional.of(rewritten) : Optional.empty();
  }

  /**
   * B's FROM clause as written (its parentheses, joins and ON conditions), each table renamed and
   * every column of the ON conditions qualified by the new names.
   */
  private String bFromClause(PlainSelect b, From from, Map<String, String> names)
      throws NotDifferentialException {
    int itemsEnd = Span.of(b.getSelectItems().get(b.getSelectItems().size() - 1)).end();
    int keyword = text.lastIndexOf("FROM", Span.of(b.getFromItem()).begin());
    if (keyword < itemsEnd) {
      throw new NotDifferentialException("a FROM it cannot locate");
    }
    int end = b.getWhere() == null ? Span.of(b).end() : whereKeyword(b);
    List<TextEdit> edits = new ArrayList<>();
    for (Leaf leaf : from.tables) {
      edits.add(
          new TextEdit(
              Span.of(leaf.table()),
              leaf.table().getFullyQualifiedName() + " " + names.get(leaf.qualifier())));
    }
    for (Expression condition : from.conditions) {
      edits.addAll(renamed(condition, from, names));
    }
    return TextEdit.apply(text, new Span(keyword + 4, end), edits).strip();
  }

  /**
   * {@code piece} of B, once no qualifier of B's tables is left in it: a column JSqlParser did not
   * show would otherwise keep its old qualifier, which inside the sublink may name A's table.
   */
  private static String allRenamed(String piece, Map<String, String> names)
      throws NotDifferentialException {
    String bare = ExpressionScan.withoutLiterals(piece);
    for (String qualifier : names.keySet()) {
      String pattern =
          qualifier.startsWith("\"")
              ? "(?<![\\w$.])" + Pattern.quote(qualifier) + "\\s*\\."
              : "(?i)(?<![\\w$.\"])" + Pattern.quote(qualifier) + "\\s*\\.";
      if (Pattern.compile(pattern).matcher(bare).find()) {
        throw new NotDifferentialException("a qualifier of B it could not rename: " + qualifier);
      }
    }
    return piece;
  }

  /** Where a block's WHERE keyword starts (its FROM clause ends there). */
  private int whereKeyword(PlainSelect block) throws NotDifferentialException {
    int where = text.lastIndexOf("WHERE", Span.of(block.getWhere()).begin());
    if (where < 0) {
      throw new NotDifferentialException("a WHERE it cannot locate");
    }
    return where;
  }

  /** Collects a FROM item's tables and join conditions, noting what is not a plain inner join. */
  private static void walk(FromItem item, List<Join> joins, From from) {
    leaf(item, from);
    if (joins == null) {
      return;
    }
    for (Join join : joins) {
      boolean inner =
          !join.isLeft()
              && !join.isRight()
              && !join.isFull()
              && !join.isOuter()
              && !join.isNatural()
              && !join.isSemi()
              && !join.isApply()
              && !join.isStraight()
              && (join.getUsingColumns() == null || join.getUsingColumns().isEmpty());
      from.innerOn &= inner;
      leaf(join.getRightItem(), from);
      if (join.getOnExpressions() != null) {
        from.conditions.addAll(join.getOnExpressions());
      }
    }
  }

  private static void leaf(FromItem item, From from) {
    if (item instanceof ParenthesedFromItem parenthesed && parenthesed.getAlias() == null) {
      walk(parenthesed.getFromItem(), parenthesed.getJoins(), from);
    } else if (item instanceof Table table
        && table.getSchemaName() != null // else a WITH query's name
        && (table.getAlias() == null || table.getAlias().getAliasColumns() == null)) {
      from.tables.add(
          new Leaf(table, table.getAlias() == null ? table.getName() : table.getAlias().getName()));
    } else {
      from.onlyTables = false;
    }
  }

  /**
   * The edits that qualify every column of B's {@code expression} by its table's new name: a
   * qualified one by its qualifier's, an unqualified one by the one table of B that has it.
   */
  private List<TextEdit> renamed(Expression expression, From from, Map<String, String> names)
      throws NotDifferentialException {
    List<TextEdit> edits = new ArrayList<>();
    for (Column column : columns(expression)) {
      Table table = column.getTable();
      String qualifier;
      if (table == null || table.getName() == null) {
        if (literal(column)) {
          continue;
        }
        qualifier = owner(column, from);
      } else if (table.getSchemaName() == null && names.containsKey(table.getName())) {
        qualifier = table.getName();
      } else {
        throw new NotDifferentialException("a column of no table of B: " + column);
      }
      edits.add(new TextEdit(Span.of(column), names.get(qualifier) + "." + column.getColumnName()));
    }
    return edits;
  }

  /** The edits that qualify every unqualified column of A's {@code expression} by its table. */
  private List<TextEdit> qualified(Expression expression, From from)
      throws NotDifferentialException {
    List<TextEdit> edits = new ArrayList<>();
    for (Column column : columns(expression)) {
      if ((column.getTable() == null || column.getTable().getName() == null) && !literal(column)) {
        edits.add(
            new TextEdit(Span.of(column), owner(column, from) + "." + column.getColumnName()));
      }
    }
    return edits;
  }

  /**
   * The qualifier of the one table of {@code from} that has the unqualified {@code column}: the
   * only table, or the only one whose columns (as the catalog lists them) include it.
   */
  private String owner(Column column, From from) throws NotDifferentialException {
    if (!from.onlyTables) {
      throw new NotDifferentialException("an unqualified column beside a subquery: " + column);
    }
    if (from.tables.size() == 1) {
      return from.tables.get(0).qualifier();
    }
    String name = catalogName(column.getColumnName());
    List<String> owners = new ArrayList<>();
    for (Leaf leaf : from.tables) {
      Optional<List<String>> columns = facts.columnsOf(leaf.table().getFullyQualifiedName());
      if (columns.isEmpty()) {
        throw new NotDifferentialException("a table whose columns are not known: " + leaf);
      }
      if (columns.get().contains(name)) {
        owners.add(leaf.qualifier());
      }
    }
    if (owners.size() != 1) {
      throw new NotDifferentialException("an unqualified column of no one table: " + column);
    }
    return owners.get(0);
  }

  /** A column name as the catalog stores it: unquoted, or folded to lower case when not quoted. */
  private static String catalogName(String printed) throws NotDifferentialException {
    try {
      String name = SqlIdentifiers.splitQualified(printed).get(0);
      return printed.startsWith("\"") ? name : name.toLowerCase(Locale.ROOT);
    } catch (IllegalArgumentException e) {
      throw new NotDifferentialException("a column name it cannot read: " + printed);
    }
  }

  /** Whether JSqlParser read a boolean literal as an unqualified column. */
  private static boolean literal(Column column) {
    String name = column.getColumnName();
    return name.equalsIgnoreCase("true") || name.equalsIgnoreCase("false");
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
