package io.pgtrickle.operator.differential.model;

import io.pgtrickle.operator.naming.SqlIdentifiers;
import io.pgtrickle.operator.naming.StableName;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import net.sf.jsqlparser.JSQLParserException;
import net.sf.jsqlparser.expression.AnalyticExpression;
import net.sf.jsqlparser.expression.AnalyticType;
import net.sf.jsqlparser.expression.Expression;
import net.sf.jsqlparser.expression.ExpressionVisitorAdapter;
import net.sf.jsqlparser.expression.Function;
import net.sf.jsqlparser.expression.LongValue;
import net.sf.jsqlparser.expression.StringValue;
import net.sf.jsqlparser.expression.operators.relational.ExistsExpression;
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
import net.sf.jsqlparser.statement.select.WithItem;

/**
 * Reads PostgreSQL's deparse of a query ({@code pg_get_viewdef}) into a {@link QueryModel}, or says
 * which construct keeps it from being maintained differentially. JSqlParser gives the structure and
 * the positions; no expression is re-printed from its tree, every piece of SQL the engine runs is a
 * slice of PostgreSQL's text.
 */
public final class QueryModeler {
  // A subquery anywhere in an expression (EXISTS, IN, scalar, ARRAY(...)): PostgreSQL prints each
  // as "( SELECT" (string literals are blanked before searching).
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
  private final Map<String, PlainSelect> withBodies = new java.util.HashMap<>();
  private final java.util.Set<String> withUsed = new java.util.HashSet<>();
  private final java.util.Set<StableName> frozen = new java.util.LinkedHashSet<>();
  private List<WithItem<?>> topWith;

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
    withQueries(select);
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
      return new QueryModel(text, List.of(branch), distinct(branch), frozen);
    }
    Grouping grouping = grouping(plain, branch);
    return new QueryModel(text, List.of(branch), grouping, frozen);
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
    return new QueryModel(text, branches, grouping, frozen);
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

  /**
   * The query's WITH queries, by name: each must be a plain linear block, not recursive, and is
   * read where it is referenced, once, as a subquery in FROM would be.
   */
  private void withQueries(Select select) throws NotDifferentialException {
    topWith = select.getWithItemsList();
    if (topWith == null) {
      return;
    }
    for (WithItem<?> with : topWith) {
      if (with.isRecursive()) {
        throw new NotDifferentialException("WITH RECURSIVE");
      }
      if (!(with.getSelect().getSelect() instanceof PlainSelect plain)
          || plain.getDistinct() != null
          || plain.getGroupBy() != null
          || plain.getHaving() != null) {
        throw new NotDifferentialException(
            "a WITH query that is not a plain SELECT ... FROM ... WHERE");
      }
      requireNoLimits(plain);
      requireNoAggregates(plain);
      withBodies.put(unquoted(with.getAliasName()), plain);
    }
  }

  private static String unquoted(String name) {
    return SqlIdentifiers.splitQualified(name).get(0);
  }

  /** A linear block; nested blocks in FROM must be linear too. */
  private Branch branch(PlainSelect plain) throws NotDifferentialException {
    return branch(plain, true);
  }

  /**
   * A block. At the top ({@code top}), the right side of a LEFT JOIN and EXISTS subqueries in WHERE
   * may read one table each, non-linearly; blocks nested in FROM or in EXISTS are linear.
   */
  private Branch branch(PlainSelect plain, boolean top) throws NotDifferentialException {
    if (plain.getWithItemsList() != null
        && !plain.getWithItemsList().isEmpty()
        && plain.getWithItemsList() != topWith) {
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
    Parts parts = new Parts(top);
    int fromEnd = fromItem(plain.getFromItem(), plain.getJoins(), parts);
    Optional<Span> where = Optional.empty();
    int coreEnd = fromEnd;
    if (plain.getWhere() != null) {
      Span span = Span.of(plain.getWhere());
      List<Span> sublinks = top ? existsSublinks(plain.getWhere(), parts) : List.of();
      requireNoSubquery(span, sublinks);
      where = Optional.of(span);
      coreEnd = span.end();
    }
    return new Branch(
        items,
        expressions,
        new Span(items.end(), coreEnd),
        fromEnd,
        where,
        parts.tables,
        parts.nested,
        parts.nonLinear);
  }

  /** What a block's FROM and WHERE read, collected while walking them. */
  private static final class Parts {
    final boolean top;
    final List<TableOccurrence> tables = new ArrayList<>();
    final List<Branch.Nested> nested = new ArrayList<>();
    final List<Branch.NonLinear> nonLinear = new ArrayList<>();

    Parts(boolean top) {
      this.top = top;
    }
  }

  /** Walks a FROM item and its joins; returns where the FROM clause's text ends. */
  private int fromItem(FromItem item, List<Join> joins, Parts parts)
      throws NotDifferentialException {
    int end = leaf(item, parts);
    if (joins != null) {
      for (int j = 0; j < joins.size(); j++) {
        Join join = joins.get(j);
        boolean left = join.isLeft() && !join.isRight() && !join.isFull();
        boolean right = join.isRight() && !join.isLeft() && !join.isFull();
        if (right && j == 0 && item instanceof Table) {
          end = Math.max(end, rightJoin(join, parts));
          continue;
        }
        if (!left && (join.isLeft() || join.isRight() || join.isFull() || join.isOuter())) {
          throw new NotDifferentialException(
              join.isFull()
                  ? "a FULL outer join"
                  : "a RIGHT JOIN whose left side is not one table");
        }
        if (join.isNatural() || join.isSemi() || join.isApply() || join.isStraight()) {
          throw new NotDifferentialException("this kind of join");
        }
        if (join.getUsingColumns() != null && !join.getUsingColumns().isEmpty()) {
          // USING merges the join columns into one whose reference cannot be re-qualified.
          throw new NotDifferentialException("JOIN ... USING");
        }
        if (left) {
          end = Math.max(end, leftJoin(join, parts));
          continue;
        }
        end = Math.max(end, leaf(join.getRightItem(), parts));
        for (Expression on : join.getOnExpressions()) {
          Span span = Span.of(on);
          requireNoSubquery(span);
          end = Math.max(end, span.end());
        }
      }
    }
    return end;
  }

  /**
   * A LEFT JOIN of one table: its rows count for each row of the preserved side through the ON
   * condition only. A subquery or a join tree on the right is not supported.
   */
  private int leftJoin(Join join, Parts parts) throws NotDifferentialException {
    if (!parts.top) {
      throw new NotDifferentialException("an outer join inside a subquery");
    }
    if (!(join.getRightItem() instanceof Table table)
        || join.getOnExpressions() == null
        || join.getOnExpressions().size() != 1) {
      throw new NotDifferentialException(
          "a LEFT JOIN whose right side is not one table joined ON a condition");
    }
    TableOccurrence occurrence = occurrence(table);
    Span on = Span.of(join.getOnExpressions().iterator().next());
    requireNoSubquery(on);
    parts.nonLinear.add(
        new Branch.NonLinear(
            Branch.NonLinear.Kind.LEFT_JOIN,
            occurrence,
            Optional.of(on),
            Optional.empty(),
            Optional.empty()));
    return Math.max(occurrence.span().end(), on.end());
  }

  /**
   * {@code A RIGHT JOIN B ON p} with one table A: A is the nullable side, as B would be in {@code B
   * LEFT JOIN A}; B is read linearly.
   */
  private int rightJoin(Join join, Parts parts) throws NotDifferentialException {
    if (!parts.top) {
      throw new NotDifferentialException("an outer join inside a subquery");
    }
    if (join.getOnExpressions() == null || join.getOnExpressions().size() != 1) {
      throw new NotDifferentialException("a RIGHT JOIN without one ON condition");
    }
    TableOccurrence nullable = parts.tables.remove(parts.tables.size() - 1);
    int end = leaf(join.getRightItem(), parts);
    Span on = Span.of(join.getOnExpressions().iterator().next());
    requireNoSubquery(on);
    parts.nonLinear.add(
        new Branch.NonLinear(
            Branch.NonLinear.Kind.LEFT_JOIN,
            nullable,
            Optional.of(on),
            Optional.empty(),
            Optional.empty()));
    return Math.max(end, on.end());
  }

  /**
   * The EXISTS subqueries of a WHERE condition (NOT EXISTS too: NOT stays outside), each over one
   * table without grouping; returns their spans ({@code EXISTS ( SELECT ... )}).
   */
  private List<Span> existsSublinks(Expression where, Parts parts) throws NotDifferentialException {
    List<ExistsExpression> found = new ArrayList<>();
    where.accept(
        new ExpressionVisitorAdapter<Void>() {
          @Override
          public <S> Void visit(ExistsExpression exists, S context) {
            found.add(exists);
            return null;
          }
        },
        null);
    List<Span> spans = new ArrayList<>();
    for (ExistsExpression exists : found) {
      if (!(exists.getRightExpression() instanceof ParenthesedSelect subquery)
          || !(subquery.getSelect() instanceof PlainSelect plain)) {
        throw new NotDifferentialException("an EXISTS it cannot read");
      }
      Span parenthesized = Span.of(subquery);
      int keyword = text.lastIndexOf("EXISTS", parenthesized.begin());
      if (keyword < 0 || !text.substring(keyword + 6, parenthesized.begin()).isBlank()) {
        throw new NotDifferentialException("an EXISTS it cannot locate");
      }
      if (plain.getDistinct() != null
          || plain.getGroupBy() != null
          || plain.getHaving() != null
          || hasAggregates(plain)) {
        throw new NotDifferentialException("an EXISTS subquery with DISTINCT or aggregates");
      }
      requireNoLimits(plain);
      Branch branch = branch(plain, false);
      if (branch.tables().size() != 1 || !branch.nested().isEmpty()) {
        throw new NotDifferentialException("an EXISTS subquery over more than one table");
      }
      Span sublink = new Span(keyword, parenthesized.end());
      parts.nonLinear.add(
          new Branch.NonLinear(
              Branch.NonLinear.Kind.EXISTS,
              branch.tables().get(0),
              branch.where(),
              Optional.of(sublink),
              Optional.of(branch)));
      spans.add(sublink);
    }
    return spans;
  }

  private int leaf(FromItem item, Parts parts) throws NotDifferentialException {
    if (item instanceof Table table
        && table.getSchemaName() == null
        && withBodies.containsKey(unquoted(table.getName()))) {
      String name = unquoted(table.getName());
      if (!withUsed.add(name)) {
        throw new NotDifferentialException("a WITH query read more than once (" + name + ")");
      }
      PlainSelect body = withBodies.get(name);
      Branch branch = branch(body, false);
      String alias = table.getAlias() == null ? table.getName() : table.getAlias().getName();
      Span reference = Span.of(table);
      parts.nested.add(new Branch.Nested(Span.of(body), alias, branch, reference, true));
      return reference.end();
    }
    if (item instanceof Table table) {
      TableOccurrence occurrence = occurrence(table);
      parts.tables.add(occurrence);
      return occurrence.span().end();
    }
    if (item instanceof ParenthesedFromItem parenthesed) {
      int end = fromItem(parenthesed.getFromItem(), parenthesed.getJoins(), parts);
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
      Branch branch = branch(plain, false);
      parts.nested.add(new Branch.Nested(Span.of(plain), subquery.getAlias().getName(), branch));
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
      argument = Optional.of(argumentSpan(parameters.get(0), call));
    }
    requireNoSubquery(call);
    return Optional.of(new Aggregate(plain ? kind : Aggregate.Kind.OTHER, call, argument));
  }

  /**
   * The span of a one-argument call's argument. JSqlParser places most expressions; where it does
   * not (an operator expression after DISTINCT), the argument is what the call's outer parentheses
   * hold, after DISTINCT or ALL.
   */
  private Span argumentSpan(Expression argument, Span call) throws NotDifferentialException {
    if (argument.getASTNode() != null) {
      return Span.of(argument);
    }
    int open = text.indexOf('(', call.begin());
    int close = text.lastIndexOf(')', call.end() - 1);
    if (open < 0 || close <= open) {
      throw new NotDifferentialException("an aggregate call it cannot read");
    }
    int begin = open + 1;
    String inside = text.substring(begin, close);
    String stripped = inside.stripLeading();
    for (String keyword : List.of("DISTINCT ", "ALL ")) {
      if (stripped.startsWith(keyword)) {
        stripped = stripped.substring(keyword.length()).stripLeading();
      }
    }
    begin = close - stripped.length();
    return new Span(begin, close);
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
    requireNoSubquery(span, List.of());
  }

  /** As above, past the modelled EXISTS subqueries {@code allowed} inside the span. */
  private void requireNoSubquery(Span span, List<Span> allowed) throws NotDifferentialException {
    StringBuilder blanked = new StringBuilder(text.substring(span.begin(), span.end()));
    for (Span sublink : allowed) {
      for (int i = sublink.begin(); i < sublink.end(); i++) {
        blanked.setCharAt(i - span.begin(), ' ');
      }
    }
    String expression = withoutLiterals(blanked.toString());
    if (expression.contains(".*")) {
      // A whole-row reference would carry the engine's weight column along with the row.
      throw new NotDifferentialException("a whole-row reference (alias.*)");
    }
    Matcher subquery = SUBQUERY.matcher(expression);
    int from = 0;
    while (subquery.find(from)) {
      int open = subquery.start();
      int close = closing(expression, open);
      freeze(text.substring(span.begin() + open + 1, span.begin() + close));
      from = close + 1;
    }
  }

  /**
   * A subquery in an expression (IN, NOT IN, a scalar subquery, an EXISTS not modelled as
   * non-linear): while the tables it reads do not change, it is a fixed function of the row it is
   * evaluated for, and the query stays linear around it. Its tables are recorded; a refresh in
   * which one of them changed runs FULL.
   */
  private void freeze(String subquery) throws NotDifferentialException {
    java.util.Set<String> tables;
    try {
      tables = net.sf.jsqlparser.util.TablesNamesFinder.findTables(subquery);
    } catch (JSQLParserException | RuntimeException e) {
      throw new NotDifferentialException("a subquery it cannot read");
    }
    for (String table : tables) {
      List<String> name;
      try {
        name = SqlIdentifiers.splitQualified(table);
      } catch (IllegalArgumentException e) {
        throw new NotDifferentialException("a subquery reading " + table);
      }
      StableName source = name.size() == 2 ? sources.get(name) : null;
      if (source == null) {
        throw new NotDifferentialException(
            "a subquery reading " + table + ", which is not a captured table");
      }
      frozen.add(source);
    }
  }

  /** The index of the parenthesis closing the one at {@code open} (literals already blanked). */
  private static int closing(String expression, int open) throws NotDifferentialException {
    int depth = 0;
    for (int i = open; i < expression.length(); i++) {
      char c = expression.charAt(i);
      if (c == '(') {
        depth++;
      } else if (c == ')' && --depth == 0) {
        return i;
      }
    }
    throw new NotDifferentialException("an unbalanced subquery");
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
