package io.pgtrickle.operator.differential.model;

import io.pgtrickle.operator.naming.SqlIdentifiers;
import io.pgtrickle.operator.naming.StableName;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import net.sf.jsqlparser.JSQLParserException;
import net.sf.jsqlparser.expression.AnalyticExpression;
import net.sf.jsqlparser.expression.AnalyticType;
import net.sf.jsqlparser.expression.Expression;
import net.sf.jsqlparser.expression.ExpressionVisitorAdapter;
import net.sf.jsqlparser.expression.Function;
import net.sf.jsqlparser.expression.LongValue;
import net.sf.jsqlparser.expression.StringValue;
import net.sf.jsqlparser.expression.operators.relational.ExpressionList;
import net.sf.jsqlparser.parser.CCJSqlParserUtil;
import net.sf.jsqlparser.schema.Column;
import net.sf.jsqlparser.schema.Table;
import net.sf.jsqlparser.statement.Statement;
import net.sf.jsqlparser.statement.select.AllColumns;
import net.sf.jsqlparser.statement.select.FromItem;
import net.sf.jsqlparser.statement.select.Join;
import net.sf.jsqlparser.statement.select.ParenthesedFromItem;
import net.sf.jsqlparser.statement.select.ParenthesedSelect;
import net.sf.jsqlparser.statement.select.PlainSelect;
import net.sf.jsqlparser.statement.select.Select;
import net.sf.jsqlparser.statement.select.SelectItem;
import net.sf.jsqlparser.statement.select.SetOperation;
import net.sf.jsqlparser.statement.select.SetOperationList;
import net.sf.jsqlparser.statement.select.UnionOp;

/**
 * Reads PostgreSQL's deparse of a query ({@code pg_get_viewdef}) into a {@link QueryModel}, or says
 * which construct keeps it from being maintained differentially. JSqlParser gives the structure and
 * the positions; no expression is re-printed from its tree, every piece of SQL the engine runs is a
 * slice of PostgreSQL's text.
 */
public final class QueryModeler {
  // A subquery anywhere in an expression (EXISTS, IN, scalar, ARRAY(...)): PostgreSQL prints each
  // as "( SELECT". Its tables are not read linearly, so the query is not differential. A string
  // literal holding that text only makes us refuse a query we could have kept.
  private static final Pattern SUBQUERY = Pattern.compile("\\(\\s*(SELECT|VALUES|WITH)\\b");
  private static final Map<String, Aggregate.Kind> ALGEBRAIC =
      Map.of(
          "count", Aggregate.Kind.COUNT,
          "sum", Aggregate.Kind.SUM,
          "avg", Aggregate.Kind.AVG,
          "min", Aggregate.Kind.MIN,
          "max", Aggregate.Kind.MAX,
          "bool_and", Aggregate.Kind.BOOL_AND,
          "every", Aggregate.Kind.BOOL_AND,
          "bool_or", Aggregate.Kind.BOOL_OR);

  private final String text;
  private final Map<List<String>, StableName> sources;
  private final Predicate<String> isAggregate;

  /**
   * @param sources the captured source tables by raw {@code [schema, table]}
   * @param isAggregate whether a function name (as written, possibly qualified) names an aggregate,
   *     for the ones this class does not know
   */
  private QueryModeler(
      String text, Map<List<String>, StableName> sources, Predicate<String> isAggregate) {
    this.text = text;
    this.sources = sources;
    this.isAggregate = isAggregate;
  }

  public static QueryModel model(
      String deparsed, Map<List<String>, StableName> sources, Predicate<String> isAggregate)
      throws NotDifferentialException {
    return new QueryModeler(deparsed, sources, isAggregate).model();
  }

  private QueryModel model() throws NotDifferentialException {
    Statement statement;
    try {
      statement = CCJSqlParserUtil.parse(text);
    } catch (JSQLParserException e) {
      throw new NotDifferentialException(
          "the differential engine cannot read this query form ("
              + firstLine(e.getCause() == null ? e.getMessage() : e.getCause().getMessage())
              + ")");
    }
    if (!(statement instanceof Select select)) {
      throw new NotDifferentialException("not a query");
    }
    if (select.getWithItemsList() != null && !select.getWithItemsList().isEmpty()) {
      throw new NotDifferentialException("WITH (common table expressions)");
    }
    if (select instanceof SetOperationList setOperations) {
      return setOperation(setOperations);
    }
    if (!(select instanceof PlainSelect plain)) {
      throw new NotDifferentialException("a parenthesized query at the top");
    }
    requireNoLimits(plain);
    Branch branch = branch(plain);
    if (plain.getDistinct() != null) {
      if (plain.getDistinct().getOnSelectItems() != null) {
        throw new NotDifferentialException("DISTINCT ON");
      }
      if (plain.getGroupBy() != null || plain.getHaving() != null) {
        throw new NotDifferentialException("DISTINCT with GROUP BY");
      }
      requireNoAggregates(plain);
      return new QueryModel(text, List.of(branch), distinct(branch));
    }
    Grouping grouping = grouping(plain, branch);
    return new QueryModel(text, List.of(branch), grouping);
  }

  private QueryModel setOperation(SetOperationList list) throws NotDifferentialException {
    if (list.getOrderByElements() != null || list.getLimit() != null || list.getOffset() != null) {
      throw new NotDifferentialException("ORDER BY with LIMIT or OFFSET on a set operation");
    }
    boolean all = true;
    boolean distinct = true;
    for (SetOperation operation : list.getOperations()) {
      if (!(operation instanceof UnionOp union)) {
        throw new NotDifferentialException(operation.toString().trim() + " (INTERSECT, EXCEPT)");
      }
      all &= union.isAll();
      distinct &= !union.isAll();
    }
    if (!all && !distinct) {
      throw new NotDifferentialException("UNION mixed with UNION ALL");
    }
    List<Branch> branches = new ArrayList<>();
    for (Select select : list.getSelects()) {
      if (!(select instanceof PlainSelect plain)) {
        throw new NotDifferentialException("a nested set operation");
      }
      requireNoLimits(plain);
      if (plain.getDistinct() != null || plain.getGroupBy() != null || plain.getHaving() != null) {
        throw new NotDifferentialException("DISTINCT or GROUP BY inside a set operation");
      }
      requireNoAggregates(plain);
      branches.add(branch(plain));
    }
    Grouping grouping = all ? Grouping.none() : distinct(branches.get(0));
    return new QueryModel(text, branches, grouping);
  }

  private static Grouping distinct(Branch branch) {
    return new Grouping(
        Grouping.Kind.DISTINCT,
        branch.itemExpressions(),
        Optional.empty(),
        List.of(),
        List.of(),
        Optional.empty());
  }

  /** A linear block; nested blocks in FROM must be linear too. */
  private Branch branch(PlainSelect plain) throws NotDifferentialException {
    if (plain.getWithItemsList() != null && !plain.getWithItemsList().isEmpty()) {
      throw new NotDifferentialException("WITH (common table expressions)");
    }
    if (plain.getFromItem() == null) {
      throw new NotDifferentialException("a query without FROM");
    }
    if (plain.getWindowDefinitions() != null) {
      throw new NotDifferentialException("WINDOW");
    }
    List<SelectItem<?>> selectItems = plain.getSelectItems();
    List<Span> expressions = new ArrayList<>();
    for (SelectItem<?> item : selectItems) {
      if (item.getExpression() instanceof AllColumns) {
        throw new NotDifferentialException("a * in the select list");
      }
      Span expression = Span.of(item.getExpression());
      requireNoSubquery(expression);
      requireNoWindow(item.getExpression());
      expressions.add(expression);
    }
    Span items =
        new Span(
            Span.of(selectItems.get(0)).begin(),
            Span.of(selectItems.get(selectItems.size() - 1)).end());
    List<TableOccurrence> tables = new ArrayList<>();
    List<Branch.Nested> nested = new ArrayList<>();
    int fromEnd = fromItem(plain.getFromItem(), plain.getJoins(), tables, nested);
    Optional<Span> where = Optional.empty();
    int coreEnd = fromEnd;
    if (plain.getWhere() != null) {
      Span span = Span.of(plain.getWhere());
      requireNoSubquery(span);
      where = Optional.of(span);
      coreEnd = span.end();
    }
    return new Branch(items, expressions, new Span(items.end(), coreEnd), where, tables, nested);
  }

  /** Walks a FROM item and its joins; returns where the FROM clause's text ends. */
  private int fromItem(
      FromItem item, List<Join> joins, List<TableOccurrence> tables, List<Branch.Nested> nested)
      throws NotDifferentialException {
    int end = leaf(item, tables, nested);
    if (joins != null) {
      for (Join join : joins) {
        if (join.isLeft() || join.isRight() || join.isFull() || join.isOuter()) {
          throw new NotDifferentialException("an outer join (LEFT, RIGHT or FULL JOIN)");
        }
        if (join.isNatural() || join.isSemi() || join.isApply() || join.isStraight()) {
          throw new NotDifferentialException("this kind of join");
        }
        if (join.getUsingColumns() != null && !join.getUsingColumns().isEmpty()) {
          // USING merges the join columns into one whose reference cannot be re-qualified.
          throw new NotDifferentialException("JOIN ... USING");
        }
        end = Math.max(end, leaf(join.getRightItem(), tables, nested));
        for (Expression on : join.getOnExpressions()) {
          Span span = Span.of(on);
          requireNoSubquery(span);
          end = Math.max(end, span.end());
        }
      }
    }
    return end;
  }

  private int leaf(FromItem item, List<TableOccurrence> tables, List<Branch.Nested> nested)
      throws NotDifferentialException {
    if (item instanceof Table table) {
      TableOccurrence occurrence = occurrence(table);
      tables.add(occurrence);
      return occurrence.span().end();
    }
    if (item instanceof ParenthesedFromItem parenthesed) {
      int end = fromItem(parenthesed.getFromItem(), parenthesed.getJoins(), tables, nested);
      return Math.max(end, Span.of(parenthesed).end());
    }
    if (item instanceof ParenthesedSelect subquery) {
      if (subquery.getAlias() == null) {
        throw new NotDifferentialException("a subquery in FROM without an alias");
      }
      if (subquery.getAlias().getAliasColumns() != null) {
        throw new NotDifferentialException("a subquery in FROM with column aliases");
      }
      if (!(subquery.getSelect() instanceof PlainSelect plain)
          || plain.getDistinct() != null
          || plain.getGroupBy() != null
          || plain.getHaving() != null) {
        throw new NotDifferentialException(
            "a subquery in FROM that is not a plain SELECT ... FROM ... WHERE");
      }
      requireNoLimits(plain);
      requireNoAggregates(plain);
      Branch branch = branch(plain);
      nested.add(new Branch.Nested(Span.of(plain), subquery.getAlias().getName(), branch));
      return Span.of(subquery).end();
    }
    throw new NotDifferentialException(
        "this FROM item (" + item.getClass().getSimpleName() + ": " + item + ")");
  }

  private TableOccurrence occurrence(Table table) throws NotDifferentialException {
    List<String> name;
    try {
      name = SqlIdentifiers.splitQualified(table.getFullyQualifiedName());
    } catch (IllegalArgumentException e) {
      throw new NotDifferentialException("a table name it cannot read: " + table);
    }
    if (name.size() != 2) {
      throw new NotDifferentialException("a table not qualified by its schema: " + table);
    }
    StableName source = sources.get(name);
    if (source == null) {
      throw new NotDifferentialException(
          "it reads "
              + table.getFullyQualifiedName()
              + ", which is not a captured table (a view?)");
    }
    // Columns are qualified by the alias, or by the table's name as PostgreSQL printed it.
    String refName = table.getAlias() == null ? table.getName() : table.getAlias().getName();
    if (table.getAlias() != null && table.getAlias().getAliasColumns() != null) {
      throw new NotDifferentialException("a table alias with column names");
    }
    return new TableOccurrence(Span.of(table), refName, source);
  }

  private Grouping grouping(PlainSelect plain, Branch branch) throws NotDifferentialException {
    List<Span> keys = new ArrayList<>();
    Optional<Span> groupBy = Optional.empty();
    if (plain.getGroupBy() != null) {
      if (plain.getGroupBy().getGroupingSets() != null
          && !plain.getGroupBy().getGroupingSets().isEmpty()) {
        throw new NotDifferentialException("GROUPING SETS, ROLLUP or CUBE");
      }
      ExpressionList<?> list = plain.getGroupBy().getGroupByExpressionList();
      for (Expression key : list) {
        if (key instanceof LongValue position) {
          // PostgreSQL prints a constant grouping expression by its select-list position.
          keys.add(branch.itemExpressions().get((int) position.getValue() - 1));
        } else {
          keys.add(Span.of(key));
        }
      }
      groupBy =
          Optional.of(
              new Span(Span.of(list.get(0)).begin(), Span.of(list.get(list.size() - 1)).end()));
    }
    Optional<Span> having = Optional.empty();
    if (plain.getHaving() != null) {
      Span span = Span.of(plain.getHaving());
      requireNoSubquery(span);
      having = Optional.of(span);
    }
    if (keys.isEmpty() && !hasAggregates(plain)) {
      if (having.isPresent()) {
        throw new NotDifferentialException("HAVING without aggregates");
      }
      return Grouping.none();
    }
    List<Aggregate> aggregates = new ArrayList<>();
    List<Grouping.ItemParts> items = new ArrayList<>();
    for (SelectItem<?> item : plain.getSelectItems()) {
      items.add(itemParts(item.getExpression(), keys, aggregates));
    }
    Grouping.Kind kind = keys.isEmpty() ? Grouping.Kind.SINGLE_GROUP : Grouping.Kind.GROUP_BY;
    return new Grouping(kind, keys, groupBy, aggregates, items, having);
  }

  /**
   * Finds in one grouped item the aggregate calls and the group keys it is made of; a column
   * outside both (a column the group determines through a primary key) is not supported.
   */
  private Grouping.ItemParts itemParts(
      Expression expression, List<Span> keys, List<Aggregate> aggregates)
      throws NotDifferentialException {
    Span whole = Span.of(expression);
    List<Grouping.Part> parts = new ArrayList<>();
    List<Span> literals = new ArrayList<>();
    List<Column> columns = new ArrayList<>();
    List<NotDifferentialException> problems = new ArrayList<>();
    expression.accept(
        new ExpressionVisitorAdapter<Void>() {
          @Override
          public <S> Void visit(Function function, S context) {
            try {
              Optional<Aggregate> aggregate = aggregate(function);
              if (aggregate.isPresent()) {
                parts.add(Grouping.Part.aggregate(aggregate.get().call(), aggregates.size()));
                aggregates.add(aggregate.get());
                return null;
              }
            } catch (NotDifferentialException e) {
              problems.add(e);
              return null;
            }
            return super.visit(function, context);
          }

          @Override
          public <S> Void visit(AnalyticExpression analytic, S context) {
            if (analytic.getType() == AnalyticType.FILTER_ONLY) {
              try {
                Span call = Span.of(analytic);
                parts.add(Grouping.Part.aggregate(call, aggregates.size()));
                aggregates.add(new Aggregate(Aggregate.Kind.OTHER, call, Optional.empty()));
              } catch (NotDifferentialException e) {
                problems.add(e);
              }
            } else {
              problems.add(new NotDifferentialException("a window function (OVER)"));
            }
            return null;
          }

          @Override
          public <S> Void visit(Column column, S context) {
            columns.add(column);
            return null;
          }

          @Override
          public <S> Void visit(StringValue value, S context) {
            try {
              literals.add(Span.of(value));
            } catch (NotDifferentialException e) {
              problems.add(e);
            }
            return null;
          }
        },
        null);
    if (!problems.isEmpty()) {
      throw problems.get(0);
    }
    for (int k = 0; k < keys.size(); k++) {
      String key = normalized(text.substring(keys.get(k).begin(), keys.get(k).end()));
      for (Span match : matches(whole, key)) {
        boolean free =
            parts.stream().noneMatch(p -> overlaps(p.span(), match))
                && literals.stream().noneMatch(l -> overlaps(l, match));
        if (free) {
          parts.add(Grouping.Part.key(match, k));
        }
      }
    }
    for (Column column : columns) {
      Span span = Span.of(column);
      if (parts.stream().noneMatch(p -> p.span().contains(span))) {
        throw new NotDifferentialException(
            "column " + column + " is neither grouped nor inside an aggregate");
      }
    }
    parts.sort(java.util.Comparator.comparingInt(p -> p.span().begin()));
    return new Grouping.ItemParts(whole, parts);
  }

  private Optional<Aggregate> aggregate(Function function) throws NotDifferentialException {
    String name = function.getName();
    String simple = name.toLowerCase(Locale.ROOT);
    Aggregate.Kind kind = ALGEBRAIC.get(simple);
    boolean known = kind != null;
    if (!known && !isAggregate.test(name)) {
      return Optional.empty();
    }
    Span call = Span.of(function);
    ExpressionList<?> parameters = function.getParameters();
    boolean star =
        function.isAllColumns()
            || (parameters != null
                && parameters.size() == 1
                && parameters.get(0) instanceof AllColumns);
    if (star && "count".equals(simple)) {
      return Optional.of(new Aggregate(Aggregate.Kind.COUNT_STAR, call, Optional.empty()));
    }
    boolean plain =
        known
            && !function.isDistinct()
            && !function.isUnique()
            && function.getOrderByElements() == null
            && function.getKeep() == null
            && parameters != null
            && parameters.size() == 1;
    Optional<Span> argument = Optional.empty();
    if (parameters != null && parameters.size() == 1 && !star) {
      argument = Optional.of(Span.of(parameters.get(0)));
      requireNoSubquery(argument.get());
    }
    return Optional.of(new Aggregate(plain ? kind : Aggregate.Kind.OTHER, call, argument));
  }

  /** Occurrences of a key's text in an item, on identifier boundaries. */
  private List<Span> matches(Span within, String key) {
    List<Span> found = new ArrayList<>();
    String region = text.substring(within.begin(), within.end());
    for (String candidate : List.of(key, "(" + key + ")")) {
      int from = 0;
      while (true) {
        int at = region.indexOf(candidate, from);
        if (at < 0) {
          break;
        }
        int begin = within.begin() + at;
        int end = begin + candidate.length();
        if (boundary(begin - 1) && boundary(end)) {
          found.add(new Span(begin, end));
        }
        from = at + 1;
      }
    }
    return found;
  }

  private boolean boundary(int index) {
    if (index < 0 || index >= text.length()) {
      return true;
    }
    char c = text.charAt(index);
    return !(Character.isLetterOrDigit(c) || c == '_' || c == '.' || c == '"' || c == '$');
  }

  private static boolean overlaps(Span a, Span b) {
    return a.begin() < b.end() && b.begin() < a.end();
  }

  /** A grouping expression as its item prints it: PostgreSQL wraps GROUP BY expressions in (). */
  private static String normalized(String key) {
    String k = key.strip();
    while (k.startsWith("(") && k.endsWith(")") && balanced(k.substring(1, k.length() - 1))) {
      k = k.substring(1, k.length() - 1).strip();
    }
    return k;
  }

  /** The text with the insides of its string literals blanked, for searching its syntax. */
  static String withoutLiterals(String sql) {
    StringBuilder out = new StringBuilder(sql.length());
    boolean quoted = false;
    for (int i = 0; i < sql.length(); i++) {
      char c = sql.charAt(i);
      if (c == '\'') {
        quoted = !quoted; // '' inside a literal toggles twice: still inside
        out.append(c);
      } else {
        out.append(quoted ? ' ' : c);
      }
    }
    return out.toString();
  }

  private static boolean balanced(String s) {
    int depth = 0;
    boolean quoted = false;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '\'') {
        quoted = !quoted;
      } else if (!quoted && c == '(') {
        depth++;
      } else if (!quoted && c == ')' && --depth < 0) {
        return false;
      }
    }
    return depth == 0;
  }

  private void requireNoSubquery(Span span) throws NotDifferentialException {
    String expression = withoutLiterals(text.substring(span.begin(), span.end()));
    if (expression.contains(".*")) {
      // A whole-row reference would carry the engine's weight column along with the row.
      throw new NotDifferentialException("a whole-row reference (alias.*)");
    }
    if (SUBQUERY.matcher(expression).find()) {
      throw new NotDifferentialException(
          "a subquery in an expression (EXISTS, IN, NOT IN or a scalar subquery)");
    }
  }

  private static void requireNoWindow(Expression expression) throws NotDifferentialException {
    List<Boolean> window = new ArrayList<>();
    expression.accept(
        new ExpressionVisitorAdapter<Void>() {
          @Override
          public <S> Void visit(AnalyticExpression analytic, S context) {
            if (analytic.getType() != AnalyticType.FILTER_ONLY) {
              window.add(true);
            }
            return super.visit(analytic, context);
          }
        },
        null);
    if (!window.isEmpty()) {
      throw new NotDifferentialException("a window function (OVER)");
    }
  }

  private void requireNoAggregates(PlainSelect plain) throws NotDifferentialException {
    if (hasAggregates(plain)) {
      throw new NotDifferentialException("aggregates in a subquery or set operation");
    }
  }

  private boolean hasAggregates(PlainSelect plain) throws NotDifferentialException {
    List<Boolean> found = new ArrayList<>();
    for (SelectItem<?> item : plain.getSelectItems()) {
      item.getExpression()
          .accept(
              new ExpressionVisitorAdapter<Void>() {
                @Override
                public <S> Void visit(Function function, S context) {
                  String name = function.getName();
                  if (ALGEBRAIC.containsKey(name.toLowerCase(Locale.ROOT))
                      || isAggregate.test(name)) {
                    found.add(true);
                    return null;
                  }
                  return super.visit(function, context);
                }

                @Override
                public <S> Void visit(AnalyticExpression analytic, S context) {
                  found.add(true);
                  return null;
                }
              },
              null);
    }
    return !found.isEmpty();
  }

  private static void requireNoLimits(PlainSelect plain) throws NotDifferentialException {
    if (plain.getLimit() != null || plain.getOffset() != null || plain.getFetch() != null) {
      throw new NotDifferentialException("LIMIT, OFFSET or FETCH");
    }
    if (plain.getForMode() != null) {
      throw new NotDifferentialException("FOR UPDATE/SHARE");
    }
  }

  private static String firstLine(String message) {
    String m = message == null ? "" : message.strip();
    int newline = m.indexOf('\n');
    return newline < 0 ? m : m.substring(0, newline);
  }
}
