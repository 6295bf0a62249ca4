package io.pgtrickle.operator.differential.model;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;
import net.sf.jsqlparser.expression.AnalyticExpression;
import net.sf.jsqlparser.expression.AnalyticType;
import net.sf.jsqlparser.expression.Expression;
import net.sf.jsqlparser.expression.ExpressionVisitorAdapter;
import net.sf.jsqlparser.expression.Function;
import net.sf.jsqlparser.expression.LongValue;
import net.sf.jsqlparser.expression.StringValue;
import net.sf.jsqlparser.expression.operators.relational.ExpressionList;
import net.sf.jsqlparser.schema.Column;
import net.sf.jsqlparser.statement.select.AllColumns;
import net.sf.jsqlparser.statement.select.PlainSelect;
import net.sf.jsqlparser.statement.select.SelectItem;

/**
 * Reads how a block folds its rows into groups: GROUP BY keys, HAVING, the aggregate calls of the
 * select list and, in each item, which parts are keys and which are aggregates.
 */
final class AggregateReader {
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
  private final ExpressionScan scan;
  private final Predicate<String> isAggregate;

  /**
   * @param isAggregate whether a function name (as written, possibly qualified) names an aggregate,
   *     for the ones this class does not know
   */
  AggregateReader(String text, ExpressionScan scan, Predicate<String> isAggregate) {
    this.text = text;
    this.scan = scan;
    this.isAggregate = isAggregate;
  }

  Grouping grouping(PlainSelect plain, Branch branch) throws NotDifferentialException {
    List<Span> keys = new ArrayList<>();
    Optional<Span> groupBy = Optional.empty();
    if (plain.getGroupBy() != null) {
      if (plain.getGroupBy().getGroupingSets() != null
          && !plain.getGroupBy().getGroupingSets().isEmpty()) {
        throw new NotDifferentialException("GROUPING SETS, ROLLUP or CUBE");
      }
      ExpressionList<?> list = plain.getGroupBy().getGroupByExpressionList();
      if (list.size() == 1 && list.get(0).getASTNode() == null) {
        Span key = parenthesizedSoleKey(plain, branch, list.get(0));
        keys.add(key);
        groupBy = Optional.of(key);
      } else {
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
    }
    Optional<Span> having = Optional.empty();
    if (plain.getHaving() != null) {
      Span span = Span.of(plain.getHaving());
      scan.requireNoSubquery(span);
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
      items.add(itemParts(item.getExpression(), Span.ofExpression(text, item), keys, aggregates));
    }
    Grouping.Kind kind = keys.isEmpty() ? Grouping.Kind.SINGLE_GROUP : Grouping.Kind.GROUP_BY;
    return new Grouping(kind, keys, groupBy, aggregates, items, having);
  }

  /**
   * The span of a sole GROUP BY key that PostgreSQL printed in parentheses ({@code GROUP BY (t.a %
   * 5)}): JSqlParser reads those as the list's own parentheses and places no node for the key. It
   * is the text from after {@code GROUP BY} to the end of the block or its HAVING, checked against
   * the key as parsed.
   */
  private Span parenthesizedSoleKey(PlainSelect plain, Branch branch, Expression key)
      throws NotDifferentialException {
    int from = Math.max(branch.fromEnd(), branch.where().map(Span::end).orElse(0));
    int keyword = text.indexOf("GROUP BY", from);
    int end =
        plain.getHaving() != null
            ? text.lastIndexOf("HAVING", Span.of(plain.getHaving()).begin())
            : Span.of(plain).end();
    if (keyword < 0 || end < keyword) {
      throw new NotDifferentialException("a GROUP BY key it cannot locate");
    }
    int begin = keyword + "GROUP BY".length();
    while (begin < end && Character.isWhitespace(text.charAt(begin))) {
      begin++;
    }
    while (end > begin && Character.isWhitespace(text.charAt(end - 1))) {
      end--;
    }
    String written = text.substring(begin, end).replaceAll("\\s+", "");
    if (!written.equals(("(" + key + ")").replaceAll("\\s+", ""))) {
      throw new NotDifferentialException("a GROUP BY key it cannot locate");
    }
    return new Span(begin, end);
  }

  /**
   * Finds in one grouped item the aggregate calls and the group keys it is made of; a column
   * outside both (a column the group determines through a primary key) is not supported.
   */
  private Grouping.ItemParts itemParts(
      Expression expression, Span whole, List<Span> keys, List<Aggregate> aggregates)
      throws NotDifferentialException {
    List<Grouping.Part> parts = new ArrayList<>();
    List<Span> literals = new ArrayList<>();
    List<Column> columns = new ArrayList<>();
    AggregateCalls visitor =
        new AggregateCalls() {
          @Override
          void call(Aggregate aggregate) {
            parts.add(Grouping.Part.aggregate(aggregate.call(), aggregates.size()));
            aggregates.add(aggregate);
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
        };
    visitor.read(expression);
    for (int k = 0; k < keys.size(); k++) {
      String key =
          ExpressionScan.normalized(text.substring(keys.get(k).begin(), keys.get(k).end()));
      for (Span match : scan.matches(whole, key)) {
        boolean free =
            parts.stream().noneMatch(p -> p.span().overlaps(match))
                && literals.stream().noneMatch(l -> l.overlaps(match));
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

  /**
   * The aggregate calls of a scalar subquery's item (empty when it has none). A window function or
   * an aggregate inside another call's argument is refused.
   */
  List<Aggregate> scalarAggregates(Expression item) throws NotDifferentialException {
    List<Aggregate> found = new ArrayList<>();
    AggregateCalls visitor =
        new AggregateCalls() {
          @Override
          void call(Aggregate aggregate) {
            found.add(aggregate);
          }

          @Override
          public <S> Void visit(AnalyticExpression analytic, S context) {
            problems.add(new NotDifferentialException("a window function or FILTER"));
            return null;
          }
        };
    visitor.read(item);
    return found;
  }

  /**
   * Visits an expression's aggregate calls (not what is inside them), handing each to {@link
   * #call}; a call it cannot read is a problem, thrown by {@link #read} once the walk is done.
   */
  private abstract class AggregateCalls extends ExpressionVisitorAdapter<Void> {
    final List<NotDifferentialException> problems = new ArrayList<>();

    abstract void call(Aggregate aggregate);

    void read(Expression expression) throws NotDifferentialException {
      expression.accept(this, null);
      if (!problems.isEmpty()) {
        throw problems.get(0);
      }
    }

    @Override
    public <S> Void visit(Function function, S context) {
      try {
        Optional<Aggregate> aggregate = aggregate(function);
        if (aggregate.isPresent()) {
          call(aggregate.get());
          return null;
        }
      } catch (NotDifferentialException e) {
        problems.add(e);
        return null;
      }
      return super.visit(function, context);
    }
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
    scan.requireNoSubquery(call);
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

  static void requireNoWindow(Expression expression) throws NotDifferentialException {
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

  void requireNoAggregates(PlainSelect plain) throws NotDifferentialException {
    if (hasAggregates(plain)) {
      throw new NotDifferentialException("aggregates in a subquery or set operation");
    }
  }

  boolean hasAggregates(PlainSelect plain) throws NotDifferentialException {
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
}
