package io.pgtrickle.operator.differential.model;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import net.sf.jsqlparser.JSQLParserException;
import net.sf.jsqlparser.expression.BinaryExpression;
import net.sf.jsqlparser.expression.CastExpression;
import net.sf.jsqlparser.expression.DoubleValue;
import net.sf.jsqlparser.expression.Expression;
import net.sf.jsqlparser.expression.ExpressionVisitorAdapter;
import net.sf.jsqlparser.expression.Function;
import net.sf.jsqlparser.expression.LongValue;
import net.sf.jsqlparser.expression.SignedExpression;
import net.sf.jsqlparser.expression.StringValue;
import net.sf.jsqlparser.expression.operators.arithmetic.Addition;
import net.sf.jsqlparser.expression.operators.arithmetic.Division;
import net.sf.jsqlparser.expression.operators.arithmetic.Multiplication;
import net.sf.jsqlparser.expression.operators.arithmetic.Subtraction;
import net.sf.jsqlparser.expression.operators.relational.EqualsTo;
import net.sf.jsqlparser.expression.operators.relational.ParenthesedExpressionList;
import net.sf.jsqlparser.parser.CCJSqlParserUtil;
import net.sf.jsqlparser.schema.Column;
import net.sf.jsqlparser.schema.Table;
import net.sf.jsqlparser.statement.Statement;
import net.sf.jsqlparser.statement.select.FromItem;
import net.sf.jsqlparser.statement.select.Join;
import net.sf.jsqlparser.statement.select.ParenthesedFromItem;
import net.sf.jsqlparser.statement.select.ParenthesedSelect;
import net.sf.jsqlparser.statement.select.PlainSelect;
import net.sf.jsqlparser.statement.select.Select;
import net.sf.jsqlparser.statement.select.SelectItem;

/**
 * Writes a scalar subquery of min or max, correlated by equalities, that stands as one side of a
 * comparison in a top-level conjunct of the query's WHERE, as a grouped subquery joined in the
 * query's FROM:
 *
 * <pre>
 *   … WHERE … AND x OP ( SELECT f(max(i.c)) FROM &lt;inner&gt; WHERE (i.k = o.e) AND &lt;rest&gt; )
 *   → … FROM …, ( SELECT i.k AS pgt_s1_k1, f(max(i.c)) AS pgt_s1_v FROM &lt;inner&gt;
 *                 WHERE &lt;rest&gt; GROUP BY i.k ) pgt_s1
 *     WHERE … AND (x OP pgt_s1.pgt_s1_v) AND (pgt_s1.pgt_s1_k1 = o.e)
 * </pre>
 *
 * The engine then keeps the subquery's tables as a grouped block's (the groups a change touched
 * recomputed), differential when they change, where as a subquery of an expression it freezes them
 * (a refresh in which they changed runs FULL).
 *
 * <p>Why it means the same, row for row. For an outer row whose correlation values {@code o.e} are
 * all non-NULL, the subquery aggregates the inner rows with {@code i.k = o.e}, which are the rows
 * of the one group whose key equals {@code o.e} (the grouping's equality is the type's {@code =}),
 * so its value is that group's {@code pgt_s1_v}; the row matches no other group. When there are no
 * such rows (or an {@code o.e} is NULL, which equals nothing), the subquery aggregates no rows: its
 * item is then NULL, because every aggregate in it is min, max, sum or avg (NULL over no rows) and
 * what surrounds them is arithmetic with constants or casts (NULL in, NULL out), so {@code x OP
 * NULL} is NULL and WHERE drops the row; rewritten, the row finds no group and the join drops it.
 * The conjunct is a top-level AND term of WHERE, so dropping the row where it is NULL or false is
 * all it does. Refused, left as written: any other reference of the subquery to the outer query
 * (not an equality of an inner column and an outer expression among the top-level conjuncts of its
 * WHERE), an uncorrelated one (the engine does not model a one-group block in FROM), grouping,
 * DISTINCT, limits, ORDER BY, nested subqueries, anything but tables in its FROM, an item that is
 * not NULL over no rows (count, coalesce, CASE, ...), and items without min or max: those of count,
 * sum and avg alone are kept as sublinks (their state follows from counts and sums, cheaper than a
 * recompute); sum and avg beside a min or max are recomputed with it, as exact as the group's.
 *
 * <p>Every piece is PostgreSQL's text; the names added ({@code pgt_sN}, {@code pgt_sN_kJ}, {@code
 * pgt_sN_v}) are numbered past any {@code pgt_s<digits>} in the text, so they cannot name anything
 * the query names, and the query's select list, its visible columns, is not touched. The rewritten
 * text is used only when PostgreSQL can run it.
 */
final class ScalarSubqueryAsJoin {
  private static final Set<String> OPERATORS = Set.of("=", "<>", "<", "<=", ">", ">=");
  private static final Set<String> NULL_ON_EMPTY = Set.of("min", "max", "sum", "avg");
  private static final Set<String> EXTREMES = Set.of("min", "max");
  private static final Pattern SUBQUERY = Pattern.compile("\\(\\s*(SELECT|VALUES|WITH)\\b");
  private static final Pattern TAKEN = Pattern.compile("(?i)pgt_s(\\d+)");
  private static final String OPERATOR_CHARS = "+-*/<>=~!@#%^&|`?";

  private final String text;

  /** The next block's number. */
  private int next;

  private ScalarSubqueryAsJoin(String text) {
    this.text = text;
    int taken = 0;
    Matcher m = TAKEN.matcher(text);
    while (m.find()) {
      String digits = m.group(1);
      // Past any number of six digits nothing is numbered (no such name is made).
      taken = digits.length() > 6 ? NO_NUMBER : Math.max(taken, Integer.parseInt(digits));
    }
    this.next = taken + 1;
  }

  private static final int NO_NUMBER = 1_000_000_000;

  /** A rewritten scalar subquery: the block for FROM, the edits in WHERE. */
  private record Rewritten(String block, List<TextEdit> edits) {}

  /**
   * {@code text} with every such subquery of its top-level WHERE joined as a grouped block, or
   * empty when none is (or PostgreSQL cannot run the result).
   */
  static Optional<String> rewrite(String text, DatabaseFacts facts) {
    String lower = text.toLowerCase(Locale.ROOT);
    if (!lower.contains("min(") && !lower.contains("max(")) {
      return Optional.empty();
    }
    try {
      Optional<String> rewritten = new ScalarSubqueryAsJoin(text).rewrite();
      return rewritten.filter(r -> facts.typeOf(r).isPresent());
    } catch (NotDifferentialException | RuntimeException e) {
      return Optional.empty(); // a form it cannot place: the text is modelled as it is
    }
  }

  private Optional<String> rewrite() throws NotDifferentialException {
    Statement statement;
    try {
      statement = CCJSqlParserUtil.parse(text);
    } catch (JSQLParserException e) {
      return Optional.empty();
    }
    if (!(statement instanceof PlainSelect top)
        || top.getWhere() == null
        || top.getFromItem() == null) {
      return Optional.empty();
    }
    Span where = Span.of(top.getWhere());
    List<Span> conjuncts = Conjuncts.of(text, where);
    List<ParenthesedSelect> subqueries = new ArrayList<>();
    top.getWhere()
        .accept(
            new ExpressionVisitorAdapter<Void>() {
              // The adapter hands a scalar subquery, a ParenthesedSelect, to visit(Select).
              @Override
              public <S> Void visit(Select select, S context) {
                if (select instanceof ParenthesedSelect scalar) {
                  // (( SELECT …))::numeric is read as a parenthesized parenthesized select.
                  ParenthesedSelect innermost = scalar;
                  while (innermost.getSelect() instanceof ParenthesedSelect inner) {
                    innermost = inner;
                  }
                  subqueries.add(innermost);
                }
                return null;
              }
            },
            null);
    List<String> blocks = new ArrayList<>();
    List<TextEdit> edits = new ArrayList<>();
    for (ParenthesedSelect subquery : subqueries) {
      Optional<Rewritten> rewritten = rewrite(subquery, conjuncts, conjuncts.size() == 1);
      if (rewritten.isPresent()) {
        blocks.add(rewritten.get().block());
        edits.addAll(rewritten.get().edits());
      }
    }
    if (blocks.isEmpty()) {
      return Optional.empty();
    }
    int keyword = text.lastIndexOf("WHERE", where.begin());
    if (keyword < Span.of(top.getFromItem()).end()
        || !text.substring(keyword + 5, where.begin()).isBlank()) {
      return Optional.empty();
    }
    int fromEnd = keyword;
    while (Character.isWhitespace(text.charAt(fromEnd - 1))) {
      fromEnd--;
    }
    edits.add(new TextEdit(new Span(fromEnd, fromEnd), ",\n    " + String.join(",\n    ", blocks)));
    return Optional.of(TextEdit.apply(text, new Span(0, text.length()), edits));
  }

  /**
   * The block and edits for one scalar subquery, if it is one side of a comparison that is a
   * conjunct of the WHERE ({@code alone}: the WHERE's only one) and of the form described above.
   */
  private Optional<Rewritten> rewrite(
      ParenthesedSelect subquery, List<Span> conjuncts, boolean alone)
      throws NotDifferentialException {
    Span sublink = Span.of(subquery);
    Optional<Span> conjunct = comparedConjunct(sublink, conjuncts);
    if (conjunct.isEmpty()) {
      return Optional.empty();
    }
    Optional<Inner> inner = inner(subquery, sublink);
    if (inner.isEmpty()) {
      return Optional.empty();
    }
    if (next > NO_NUMBER) {
      return Optional.empty();
    }
    String name = "pgt_s" + next++;
    List<String> items = new ArrayList<>();
    List<String> keys = new ArrayList<>();
    List<String> joined = new ArrayList<>();
    for (int j = 0; j < inner.get().correlations().size(); j++) {
      Correlation correlation = inner.get().correlations().get(j);
      String key = name + "_k" + (j + 1);
      items.add(correlation.innerColumn() + " AS " + key);
      keys.add(correlation.innerColumn());
      String column = name + "." + key;
      joined.add(
          correlation.columnLeft()
              ? "(" + column + " = " + correlation.outer() + ")"
              : "(" + correlation.outer() + " = " + column + ")");
    }
    items.add(inner.get().item() + " AS " + name + "_v");
    String block =
        "( SELECT "
            + String.join(", ", items)
            + "\n           FROM "
            + inner.get().from()
            + (inner.get().rest().isEmpty()
                ? ""
                : "\n          WHERE "
                    + (inner.get().rest().size() == 1
                        ? inner.get().rest().get(0)
                        : "(" + String.join(" AND ", inner.get().rest()) + ")"))
            + "\n          GROUP BY "
            + String.join(", ", keys)
            + ") "
            + name;
    List<TextEdit> edits = new ArrayList<>();
    edits.add(new TextEdit(sublink, name + "." + name + "_v"));
    String and = " AND " + String.join(" AND ", joined);
    if (alone) {
      // The WHERE's one condition becomes a conjunction, parenthesized as PostgreSQL prints one.
      edits.add(new TextEdit(new Span(conjunct.get().begin(), conjunct.get().begin()), "("));
      edits.add(new TextEdit(new Span(conjunct.get().end(), conjunct.get().end()), and + ")"));
    } else {
      edits.add(new TextEdit(new Span(conjunct.get().end(), conjunct.get().end()), and));
    }
    return Optional.of(new Rewritten(block, edits));
  }

  /**
   * The conjunct (as {@link Conjuncts} spans it) that is {@code x OP s} or {@code s OP x},
   * parentheses aside, OP one of {@link #OPERATORS}, x free of subqueries and s the sublink, maybe
   * parenthesized and cast ({@code (( SELECT …))::numeric}, as PostgreSQL prints an implicit cast:
   * NULL cast is NULL); empty when the sublink stands anywhere else (under OR, NOT, CASE, inside
   * arithmetic, ...).
   */
  private Optional<Span> comparedConjunct(Span sublink, List<Span> conjuncts) {
    for (Span conjunct : conjuncts) {
      if (!conjunct.contains(sublink)) {
        continue;
      }
      int begin = conjunct.begin();
      int end = conjunct.end();
      while (true) {
        while (begin < end && Character.isWhitespace(text.charAt(begin))) {
          begin++;
        }
        while (end > begin && Character.isWhitespace(text.charAt(end - 1))) {
          end--;
        }
        if ((begin < sublink.begin() || end > sublink.end())
            && text.charAt(begin) == '('
            && closing(begin) == end - 1
            && begin + 1 <= sublink.begin()
            && end - 1 >= sublink.end()) {
          begin++;
          end--;
        } else {
          break;
        }
      }
      // The comparison, the sublink masked: its one operator outside parentheses and literals.
      String masked =
          text.substring(begin, sublink.begin()) + SUBLINK + text.substring(sublink.end(), end);
      Optional<int[]> operator = topLevelOperator(masked);
      if (operator.isEmpty()) {
        return Optional.empty();
      }
      String left = masked.substring(0, operator.get()[0]).strip();
      String right = masked.substring(operator.get()[1]).strip();
      String sublinkSide = left.contains(SUBLINK) ? left : right;
      String other = left.contains(SUBLINK) ? right : left;
      if (!OPERATORS.contains(masked.substring(operator.get()[0], operator.get()[1]))
          || other.isEmpty()
          || other.contains(SUBLINK)
          || !CAST_SUBLINK.matcher(sublinkSide).matches()
          || sublinkSide.chars().filter(c -> c == '(').count()
              != sublinkSide.chars().filter(c -> c == ')').count()
          || SUBQUERY.matcher(ExpressionScan.withoutLiterals(other)).find()) {
        return Optional.empty();
      }
      return Optional.of(conjunct);
    }
    return Optional.empty();
  }

  /** Stands for the sublink in a masked comparison. */
  private static final String SUBLINK = "\u0001";

  /** The sublink, parenthesized, cast: {@code (( SELECT …))::numeric(12,2)}. */
  private static final Pattern CAST_SUBLINK =
      Pattern.compile(
          "\\(*\u0001\\)*(::[A-Za-z_\"][\\w\". ]*(\\(\\d+(,\\s*\\d+)?\\))?(\\[\\])?\\)*)*");

  /**
   * Where the one operator of {@code comparison} outside parentheses and literals begins and ends:
   * a run of operator characters with blanks around it; empty when there is none or more than one.
   */
  private static Optional<int[]> topLevelOperator(String comparison) {
    int depth = 0;
    char quote = 0;
    int[] found = null;
    for (int i = 0; i < comparison.length(); i++) {
      char c = comparison.charAt(i);
      if (quote != 0) {
        quote = c == quote ? 0 : quote;
      } else if (c == '\'' || c == '"') {
        quote = c;
      } else if (c == '(') {
        depth++;
      } else if (c == ')') {
        depth--;
      } else if (depth == 0
          && OPERATOR_CHARS.indexOf(c) >= 0
          && i > 0
          && Character.isWhitespace(comparison.charAt(i - 1))) {
        int j = i;
        while (j < comparison.length() && OPERATOR_CHARS.indexOf(comparison.charAt(j)) >= 0) {
          j++;
        }
        if (j == comparison.length() || !Character.isWhitespace(comparison.charAt(j))) {
          return Optional.empty();
        }
        if (found != null) {
          return Optional.empty();
        }
        found = new int[] {i, j};
        i = j - 1;
      }
    }
    return Optional.ofNullable(found);
  }

  /**
   * An equality {@code innerColumn = outer} of the subquery's WHERE, or {@code outer = innerColumn}
   * ({@code columnLeft} false): the join keeps its order, so the same operator is resolved.
   */
  private record Correlation(String innerColumn, String outer, boolean columnLeft) {}

  /** What the subquery reads: its FROM, its item, its correlations and its other conditions. */
  private record Inner(
      String from, String item, List<Correlation> correlations, List<String> rest) {}

  /** The subquery's parts, if it is one this rewrite may move into FROM. */
  private Optional<Inner> inner(ParenthesedSelect subquery, Span sublink)
      throws NotDifferentialException {
    if (!(subquery.getSelect() instanceof PlainSelect plain)
        || plain.getSelectItems().size() != 1
        || plain.getFromItem() == null
        || plain.getWhere() == null
        || plain.getDistinct() != null
        || plain.getGroupBy() != null
        || plain.getHaving() != null
        || plain.getWithItemsList() != null
        || plain.getLimit() != null
        || plain.getOffset() != null
        || plain.getFetch() != null
        || plain.getForMode() != null
        || plain.getWindowDefinitions() != null
        || plain.getOrderByElements() != null
        || plain.getIntoTables() != null) {
      return Optional.empty();
    }
    Matcher nested =
        SUBQUERY.matcher(
            ExpressionScan.withoutLiterals(text.substring(sublink.begin(), sublink.end())));
    int count = 0;
    while (nested.find()) {
      count++;
    }
    if (count != 1) {
      return Optional.empty(); // a sublink inside: it may read the outer query
    }
    Set<String> qualifiers = new java.util.HashSet<>();
    List<Expression> conditions = new ArrayList<>();
    if (!tables(plain.getFromItem(), plain.getJoins(), qualifiers, conditions)) {
      return Optional.empty();
    }
    SelectItem<?> item = plain.getSelectItems().get(0);
    if (!nullOnEmpty(item.getExpression()) || !hasExtreme(item.getExpression())) {
      return Optional.empty();
    }
    conditions.add(item.getExpression());
    for (Expression condition : conditions) {
      if (!allInner(columns(condition), qualifiers)) {
        return Optional.empty();
      }
    }
    Span whereSpan = Span.of(plain.getWhere());
    int keyword = text.lastIndexOf("WHERE", whereSpan.begin());
    int fromKeyword = text.lastIndexOf("FROM", Span.of(plain.getFromItem()).begin());
    Span itemSpan = Span.ofExpression(text, item);
    if (keyword < 0
        || !text.substring(keyword + 5, whereSpan.begin()).isBlank()
        || fromKeyword < Span.of(item).end()
        || !text.substring(fromKeyword + 4, Span.of(plain.getFromItem()).begin()).isBlank()) {
      return Optional.empty();
    }
    List<Correlation> correlations = new ArrayList<>();
    List<String> rest = new ArrayList<>();
    for (Span conjunct : Conjuncts.of(text, whereSpan)) {
      String written = text.substring(conjunct.begin(), conjunct.end()).strip();
      Optional<Expression> parsed = parse(written);
      if (parsed.isEmpty()) {
        return Optional.empty();
      }
      List<Column> columns = columns(parsed.get());
      if (allInner(columns, qualifiers)) {
        rest.add(written);
        continue;
      }
      Optional<Correlation> correlation = correlation(written, parsed.get(), qualifiers);
      if (correlation.isEmpty()) {
        return Optional.empty();
      }
      correlations.add(correlation.get());
    }
    if (correlations.isEmpty()) {
      return Optional.empty(); // one group, which the engine does not model in FROM
    }
    return Optional.of(
        new Inner(
            text.substring(fromKeyword + 4, keyword).strip(),
            text.substring(itemSpan.begin(), itemSpan.end()),
            correlations,
            rest));
  }

  /**
   * {@code inner.col = outer} (either order), the column qualified by a table of the subquery, the
   * other side reading only the outer query (at least one column of it).
   */
  private static Optional<Correlation> correlation(
      String written, Expression parsed, Set<String> qualifiers) {
    Expression expression = parsed;
    while (expression instanceof ParenthesedExpressionList<?> list && list.size() == 1) {
      expression = (Expression) list.get(0);
    }
    if (!(expression instanceof EqualsTo equals)) {
      return Optional.empty();
    }
    for (boolean columnLeft : new boolean[] {true, false}) {
      Expression side = columnLeft ? equals.getLeftExpression() : equals.getRightExpression();
      Expression other = columnLeft ? equals.getRightExpression() : equals.getLeftExpression();
      List<Column> outer = columns(other);
      if (!(side instanceof Column column)
          || !allInner(List.of(column), qualifiers)
          || outer.isEmpty()
          || outer.stream().anyMatch(c -> isInner(c, qualifiers) || qualifier(c).isEmpty())) {
        continue;
      }
      // The sides as written: the column's text, then the operator, then the outer expression.
      try {
        Span at = Span.of(column);
        String columnText = written.substring(at.begin(), at.end());
        String inside = unparenthesized(written);
        int offset = written.indexOf(inside);
        String before = written.substring(offset, at.begin()).strip();
        String after = written.substring(at.end(), offset + inside.length()).strip();
        if (columnLeft && before.isEmpty() && after.startsWith("=")) {
          return Optional.of(new Correlation(columnText, after.substring(1).strip(), true));
        }
        if (!columnLeft && after.isEmpty() && before.endsWith("=")) {
          return Optional.of(
              new Correlation(columnText, before.substring(0, before.length() - 1).strip(), false));
        }
      } catch (NotDifferentialException | IndexOutOfBoundsException e) {
        return Optional.empty();
      }
    }
    return Optional.empty();
  }

  /** {@code written} without the parentheses around all of it. */
  private static String unparenthesized(String written) {
    String inside = written.strip();
    while (inside.startsWith("(") && Conjuncts.matching(inside, 0) == inside.length() - 1) {
      inside = inside.substring(1, inside.length() - 1).strip();
    }
    return inside;
  }

  private static Optional<Expression> parse(String condition) {
    try {
      return Optional.of(CCJSqlParserUtil.parseCondExpression(condition, false));
    } catch (JSQLParserException | RuntimeException e) {
      return Optional.empty();
    }
  }

  /**
   * Whether a FROM item and its joins are tables (schema-qualified, no column aliases) and join
   * trees of them; collects the names their columns are qualified by and the ON conditions.
   */
  private static boolean tables(
      FromItem item, List<Join> joins, Set<String> qualifiers, List<Expression> conditions) {
    if (!table(item, qualifiers, conditions)) {
      return false;
    }
    if (joins != null) {
      for (Join join : joins) {
        if (join.isNatural() || join.isApply() || join.isSemi() || join.isStraight()) {
          return false;
        }
        if (!table(join.getRightItem(), qualifiers, conditions)) {
          return false;
        }
        if (join.getOnExpressions() != null) {
          conditions.addAll(join.getOnExpressions());
        }
      }
    }
    return true;
  }

  private static boolean table(FromItem item, Set<String> qualifiers, List<Expression> conditions) {
    if (item instanceof ParenthesedFromItem tree) {
      return tree.getAlias() == null
          && tables(tree.getFromItem(), tree.getJoins(), qualifiers, conditions);
    }
    if (!(item instanceof Table table)
        || table.getSchemaName() == null // a WITH query's name: PostgreSQL qualifies tables here
        || (table.getAlias() != null && table.getAlias().getAliasColumns() != null)) {
      return false;
    }
    return qualifiers.add(table.getAlias() == null ? table.getName() : table.getAlias().getName());
  }

  /**
   * Whether the expression is NULL whenever its aggregates run over no rows: min, max, sum and avg
   * calls, and arithmetic with constants and casts around them.
   */
  private static boolean nullOnEmpty(Expression expression) {
    if (expression instanceof ParenthesedExpressionList<?> list && list.size() == 1) {
      return nullOnEmpty((Expression) list.get(0));
    }
    if (expression instanceof Function function) {
      return function.getName() != null
          && NULL_ON_EMPTY.contains(function.getName().toLowerCase(Locale.ROOT))
          && !function.getName().contains(".")
          && function.getParameters() != null
          && function.getParameters().size() == 1
          && !function.isAllColumns()
          && function.getOrderByElements() == null
          && function.getKeep() == null;
    }
    if (expression instanceof CastExpression cast) {
      return cast.getLeftExpression() != null && nullOnEmpty(cast.getLeftExpression());
    }
    if (expression instanceof SignedExpression signed) {
      return nullOnEmpty(signed.getExpression());
    }
    if (expression instanceof Addition
        || expression instanceof Subtraction
        || expression instanceof Multiplication
        || expression instanceof Division) {
      BinaryExpression binary = (BinaryExpression) expression;
      Expression l = binary.getLeftExpression();
      Expression r = binary.getRightExpression();
      return (nullOnEmpty(l) && (constant(r) || nullOnEmpty(r))) || (constant(l) && nullOnEmpty(r));
    }
    return false;
  }

  private static boolean constant(Expression expression) {
    if (expression instanceof ParenthesedExpressionList<?> list && list.size() == 1) {
      return constant((Expression) list.get(0));
    }
    if (expression instanceof CastExpression cast) {
      return cast.getLeftExpression() != null && constant(cast.getLeftExpression());
    }
    if (expression instanceof SignedExpression signed) {
      return constant(signed.getExpression());
    }
    return expression instanceof LongValue
        || expression instanceof DoubleValue
        || expression instanceof StringValue;
  }

  /** Whether a min or max call is in the expression (the ones kept as sublinks have none). */
  private static boolean hasExtreme(Expression expression) {
    boolean[] found = {false};
    expression.accept(
        new ExpressionVisitorAdapter<Void>() {
          @Override
          public <S> Void visit(Function function, S context) {
            if (function.getName() != null
                && EXTREMES.contains(function.getName().toLowerCase(Locale.ROOT))) {
              found[0] = true;
            }
            return super.visit(function, context);
          }
        },
        null);
    return found[0];
  }

  private static List<Column> columns(Expression expression) {
    List<Column> columns = new ArrayList<>();
    expression.accept(
        new ExpressionVisitorAdapter<Void>() {
          @Override
          public <S> Void visit(Column column, S context) {
            columns.add(column);
            return null;
          }
        },
        null);
    return columns;
  }

  private static Optional<String> qualifier(Column column) {
    Table table = column.getTable();
    if (table == null || table.getName() == null || table.getName().isEmpty()) {
      return Optional.empty();
    }
    return table.getSchemaName() == null ? Optional.of(table.getName()) : Optional.empty();
  }

  private static boolean isInner(Column column, Set<String> qualifiers) {
    return qualifier(column).filter(qualifiers::contains).isPresent();
  }

  /**
   * Whether every column is qualified by a table of the subquery. PostgreSQL qualifies every column
   * inside a subquery, so an unqualified one (or a word read as one) is not taken as inner.
   */
  private static boolean allInner(List<Column> columns, Set<String> qualifiers) {
    return columns.stream().allMatch(c -> isInner(c, qualifiers));
  }

  private int closing(int open) {
    return Conjuncts.matching(text, open);
  }
}
