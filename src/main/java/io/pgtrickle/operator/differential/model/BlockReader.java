package io.pgtrickle.operator.differential.model;

import io.pgtrickle.operator.naming.SqlIdentifiers;
import io.pgtrickle.operator.naming.StableName;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import net.sf.jsqlparser.expression.Expression;
import net.sf.jsqlparser.expression.ExpressionVisitorAdapter;
import net.sf.jsqlparser.expression.operators.relational.ExistsExpression;
import net.sf.jsqlparser.expression.operators.relational.InExpression;
import net.sf.jsqlparser.expression.operators.relational.ParenthesedExpressionList;
import net.sf.jsqlparser.schema.Table;
import net.sf.jsqlparser.statement.select.AllColumns;
import net.sf.jsqlparser.statement.select.FromItem;
import net.sf.jsqlparser.statement.select.Join;
import net.sf.jsqlparser.statement.select.ParenthesedFromItem;
import net.sf.jsqlparser.statement.select.ParenthesedSelect;
import net.sf.jsqlparser.statement.select.PlainSelect;
import net.sf.jsqlparser.statement.select.Select;
import net.sf.jsqlparser.statement.select.SelectItem;
import net.sf.jsqlparser.statement.select.WithItem;

/**
 * Reads a SELECT ... FROM ... WHERE block into a {@link Branch}: its table occurrences (linear, or
 * non-linear: the table of a LEFT or RIGHT JOIN's nullable side, of an EXISTS subquery), the blocks
 * nested in FROM and WITH queries, and the spans a refresh replaces.
 */
final class BlockReader {
  private final String text;
  private final Map<List<String>, StableName> sources;
  private final ExpressionScan scan;
  private final AggregateReader aggregates;
  private final DatabaseFacts types;
  private final Map<String, PlainSelect> withBodies = new java.util.HashMap<>();
  private final Map<String, Optional<Span>> withColumns = new java.util.HashMap<>();
  private final java.util.Set<String> withUsed = new java.util.HashSet<>();
  private List<WithItem<?>> topWith;

  BlockReader(
      String text,
      Map<List<String>, StableName> sources,
      ExpressionScan scan,
      AggregateReader aggregates,
      DatabaseFacts types) {
    this.text = text;
    this.sources = sources;
    this.scan = scan;
    this.aggregates = aggregates;
    this.types = types;
  }

  /**
   * The query's WITH queries, by name: each must be a plain linear block, or one with GROUP BY, not
   * recursive, and is read where it is referenced, once, as a subquery in FROM would be.
   */
  void withQueries(Select select) throws NotDifferentialException {
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
          || (plain.getGroupBy() == null && plain.getHaving() != null)) {
        throw new NotDifferentialException(
            "a WITH query that is not a plain SELECT ... FROM ... WHERE [GROUP BY ...]");
      }
      requireNoLimits(plain);
      if (plain.getGroupBy() == null) {
        aggregates.requireNoAggregates(plain);
      }
      String name = unquoted(with.getAliasName());
      withBodies.put(name, plain);
      List<SelectItem<?>> columns = with.getWithItemList();
      withColumns.put(
          name,
          columns == null || columns.isEmpty()
              ? Optional.empty()
              : Optional.of(
                  new Span(
                      Span.of(columns.get(0)).begin(),
                      Span.of(columns.get(columns.size() - 1)).end())));
    }
  }

  /** The WITH query a FROM item names, if it names one. */
  private Optional<String> withName(FromItem item) {
    return item instanceof Table table
            && table.getSchemaName() == null
            && withBodies.containsKey(unquoted(table.getName()))
        ? Optional.of(unquoted(table.getName()))
        : Optional.empty();
  }

  private static String unquoted(String name) {
    return SqlIdentifiers.splitQualified(name).get(0);
  }

  /** Where a block stands, which decides what it may read non-linearly. */
  private enum Scope {
    /** A branch of the query: LEFT and RIGHT JOINs of one table, sublinks in WHERE. */
    TOP,
    /** A subquery in FROM or a WITH query: sublinks in WHERE. */
    NESTED,
    /** The subquery of a sublink: linear only. */
    SUBLINK,
    /**
     * A grouped subquery in the query's FROM, recomputed for the groups a change touches: outer
     * joins as at the top; subqueries in expressions freeze their tables.
     */
    GROUPED
  }

  /** A branch of the query. */
  Branch branch(PlainSelect plain) throws NotDifferentialException {
    return branch(plain, Scope.TOP);
  }

  /**
   * A block. The right side of a LEFT JOIN (at the top) and sublinks in WHERE (outside sublinks)
   * may read one table each, non-linearly; the rest is linear.
   */
  private Branch branch(PlainSelect plain, Scope scope) throws NotDifferentialException {
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
      Span expression = Span.ofExpression(text, item);
      scan.requireNoSubquery(expression);
      AggregateReader.requireNoWindow(item.getExpression());
      expressions.add(expression);
    }
    Span items =
        new Span(
            Span.of(selectItems.get(0)).begin(),
            Span.of(selectItems.get(selectItems.size() - 1)).end());
    Parts parts = new Parts(scope == Scope.TOP || scope == Scope.GROUPED, scope == Scope.TOP);
    int fromEnd = fromItem(plain.getFromItem(), plain.getJoins(), parts);
    Optional<Span> where = Optional.empty();
    int coreEnd = fromEnd;
    if (plain.getWhere() != null) {
      Span span = Span.of(plain.getWhere());
      List<Span> sublinks =
          scope == Scope.TOP || scope == Scope.NESTED
              ? sublinks(plain.getWhere(), span, parts)
              : List.of();
      scan.requireNoSubquery(span, sublinks);
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
        parts.nonLinear,
        Optional.empty());
  }

  /** What a block's FROM and WHERE read, collected while walking them. */
  private static final class Parts {
    /** Whether outer joins may be read here. */
    final boolean top;

    /** Whether a grouped subquery may stand in this FROM (the query's own). */
    final boolean mayGroup;

    final List<TableOccurrence> tables = new ArrayList<>();
    final List<Branch.Nested> nested = new ArrayList<>();
    final List<Branch.NonLinear> nonLinear = new ArrayList<>();

    Parts(boolean top, boolean mayGroup) {
      this.top = top;
      this.mayGroup = mayGroup;
    }
  }

  /** Walks a FROM item and its joins; returns where the FROM clause's text ends. */
  private int fromItem(FromItem item, List<Join> joins, Parts parts)
      throws NotDifferentialException {
    int first = 0;
    int end;
    if (item instanceof ParenthesedFromItem tree
        && joins != null
        && !joins.isEmpty()
        && joins.get(0).isRight()
        && !joins.get(0).isLeft()
        && !joins.get(0).isFull()
        && parts.top
        && joins.get(0).getOnExpressions() != null
        && joins.get(0).getOnExpressions().size() == 1) {
      // (b JOIN c ON p) RIGHT JOIN a ON q: the join tree is the nullable side, as in a LEFT JOIN.
      Join right = joins.get(0);
      Span on = Span.of(right.getOnExpressions().iterator().next());
      scan.requireNoSubquery(on);
      end = joinTree(tree, on, parts);
      end = Math.max(end, leaf(right.getRightItem(), parts));
      end = Math.max(end, on.end());
      first = 1;
    } else if (item instanceof ParenthesedFromItem tree
        && joins != null
        && !joins.isEmpty()
        && joins.get(0).isFull()
        && parts.top
        && parts.tables.isEmpty()
        && parts.nested.isEmpty()
        && parts.nonLinear.isEmpty()) {
      // (a JOIN b ON p) FULL JOIN c ON q: the join tree's tables are the block's first, linear.
      if (!parts.mayGroup) {
        // A grouped subquery's touched keys miss the groups of rows whose padding a change
        // switched (the keys of matched rows only): not widened to join trees.
        throw new NotDifferentialException("a FULL JOIN of a join tree inside a grouped subquery");
      }
      end = hasOuterJoin(tree) ? outerChain(tree, parts) : fullJoinTree(tree, parts);
      List<TableOccurrence> left = List.copyOf(parts.tables);
      end = Math.max(end, fullJoin(joins.get(0), parts, Span.of(tree), left));
      first = 1;
    } else {
      end = leaf(item, parts);
    }
    if (joins != null) {
      for (int j = first; j < joins.size(); j++) {
        Join join = joins.get(j);
        boolean left = join.isLeft() && !join.isRight() && !join.isFull();
        boolean right = join.isRight() && !join.isLeft() && !join.isFull();
        if (right && j == 0 && item instanceof Table) {
          end = Math.max(end, rightJoin(join, parts));
          continue;
        }
        if (join.isFull()
            && j == 0
            && item instanceof Table
            && parts.top
            && parts.tables.size() == 1
            && parts.nested.isEmpty()) {
          end = Math.max(end, fullJoin(join, parts, parts.tables.get(0).span(), parts.tables));
          continue;
        }
        if (!left && (join.isLeft() || join.isRight() || join.isFull() || join.isOuter())) {
          throw new NotDifferentialException(
              join.isFull()
                  ? "a FULL outer join other than of the first item of FROM (one table or a join"
                      + " tree of inner joins) with one table"
                  : "a RIGHT JOIN whose left side is not one table");
        }
        if (join.isNatural() || join.isSemi() || join.isApply() || join.isStraight()) {
          throw new NotDifferentialException("this kind of join");
        }
        boolean using = join.getUsingColumns() != null && !join.getUsingColumns().isEmpty();
        if (using && left) {
          // An outer join's condition is read as a piece of the text; USING has none to read.
          throw new NotDifferentialException("LEFT JOIN ... USING");
        }
        if (left) {
          end = Math.max(end, leftJoin(join, parts));
          continue;
        }
        end = Math.max(end, leaf(join.getRightItem(), parts));
        if (using) {
          // An inner join's USING stays as written: every relation that stands for a table in a
          // term has the table's column names, and PostgreSQL prints the merged columns of an
          // inner join qualified by their left table, so nothing else names them.
          end = Math.max(end, usingEnd(join));
          continue;
        }
        for (Expression on : join.getOnExpressions()) {
          Span span = Span.of(on);
          scan.requireNoSubquery(span);
          end = Math.max(end, span.end());
        }
      }
    }
    return end;
  }

  /** Where a join's {@code USING (columns)} ends: after the parenthesis closing its list. */
  private int usingEnd(Join join) throws NotDifferentialException {
    List<net.sf.jsqlparser.schema.Column> columns = join.getUsingColumns();
    int last = Span.of(columns.get(columns.size() - 1)).end();
    int close = text.indexOf(')', last);
    if (close < 0) {
      throw new NotDifferentialException("a JOIN ... USING it cannot locate");
    }
    return close + 1;
  }

  /**
   * A LEFT JOIN of one table: its rows count for each row of the preserved side through the ON
   * condition only. Or a LEFT JOIN of a subquery, a WITH query or a join tree of tables: a block
   * that changes as a whole (grouped ones only in the query's own FROM).
   */
  private int leftJoin(Join join, Parts parts) throws NotDifferentialException {
    if (!parts.top) {
      throw new NotDifferentialException("an outer join inside a subquery");
    }
    boolean oneOn = join.getOnExpressions() != null && join.getOnExpressions().size() == 1;
    if (join.getRightItem() instanceof ParenthesedSelect subquery
        && subquery.getSelect() instanceof PlainSelect grouped
        && grouped.getGroupBy() != null
        && parts.mayGroup
        && subquery.getAlias() != null
        && oneOn) {
      Span on = Span.of(join.getOnExpressions().iterator().next());
      scan.requireNoSubquery(on);
      return Math.max(groupedBlock(subquery, grouped, parts, Optional.of(on)), on.end());
    }
    if (join.getRightItem() instanceof ParenthesedSelect subquery
        && subquery.getSelect() instanceof PlainSelect plain
        && subquery.getAlias() != null
        && oneOn) {
      Span on = Span.of(join.getOnExpressions().iterator().next());
      scan.requireNoSubquery(on);
      int end =
          nullableBlock(
              plain,
              subquery.getAlias().getName(),
              Span.of(plain),
              false,
              Span.of(subquery),
              Optional.empty(),
              on,
              parts);
      return Math.max(end, on.end());
    }
    if (withName(join.getRightItem()).isPresent() && oneOn) {
      Span on = Span.of(join.getOnExpressions().iterator().next());
      scan.requireNoSubquery(on);
      return Math.max(withReference((Table) join.getRightItem(), parts, Optional.of(on)), on.end());
    }
    if (join.getRightItem() instanceof ParenthesedFromItem tree && oneOn) {
      Span on = Span.of(join.getOnExpressions().iterator().next());
      scan.requireNoSubquery(on);
      return Math.max(joinTree(tree, on, parts), on.end());
    }
    if (!(join.getRightItem() instanceof Table table)
        || join.getOnExpressions() == null
        || join.getOnExpressions().size() != 1) {
      throw new NotDifferentialException(
          "a LEFT JOIN whose right side is not one table or a subquery joined ON a condition");
    }
    TableOccurrence occurrence = occurrence(table);
    Span on = Span.of(join.getOnExpressions().iterator().next());
    scan.requireNoSubquery(on);
    parts.nonLinear.add(Branch.NonLinear.leftJoin(occurrence, on));
    return Math.max(occurrence.span().end(), on.end());
  }

  /**
   * A parenthesized join of tables on the nullable side of an outer join, as PostgreSQL prints
   * {@code a LEFT JOIN (b JOIN c ON p) ON q} (and {@code a LEFT JOIN b JOIN c ON p ON q}): inner
   * joins only, conditions in ON. It is the plain block {@code SELECT ... FROM b JOIN c ON p} read
   * under its tables' names, and changes as a whole as a LEFT JOIN's plain subquery does.
   */
  private int joinTree(ParenthesedFromItem tree, Span on, Parts parts)
      throws NotDifferentialException {
    if (tree.getAlias() != null) {
      throw new NotDifferentialException("an outer join of a join tree with an alias");
    }
    requireInnerJoins(tree);
    Parts inside = new Parts(false, false);
    fromItem(tree.getFromItem(), tree.getJoins(), inside);
    if (!inside.nested.isEmpty() || !inside.nonLinear.isEmpty()) {
      throw new NotDifferentialException(
          "an outer join of a join tree that reads a subquery or WITH query (only tables)");
    }
    Span span = Span.of(tree);
    parts.nested.add(Branch.Nested.joinTree(span, inside.tables, on));
    return span.end();
  }

  /** Refuses a join tree with an outer join inside, naming it. */
  private static void requireInnerJoins(ParenthesedFromItem tree) throws NotDifferentialException {
    if (hasOuterJoin(tree)) {
      throw new NotDifferentialException(
          "an outer join inside the join tree of an outer join (only inner joins there)");
    }
  }

  /** Whether a join tree has an outer join, at any depth. */
  private static boolean hasOuterJoin(ParenthesedFromItem tree) {
    List<FromItem> items = new ArrayList<>(List.of(tree.getFromItem()));
    if (tree.getJoins() != null) {
      for (Join join : tree.getJoins()) {
        if (join.isLeft() || join.isRight() || join.isFull() || join.isOuter()) {
          return true;
        }
        items.add(join.getRightItem());
      }
    }
    for (FromItem item : items) {
      if (item instanceof ParenthesedFromItem inner && hasOuterJoin(inner)) {
        return true;
      }
    }
    return false;
  }

  /**
   * The left side of {@code (a JOIN b ON p) FULL JOIN c ON q}, a join tree of tables and inner
   * joins (nested too), read into {@code parts} as the block's first tables; returns its end.
   */
  private int fullJoinTree(ParenthesedFromItem tree, Parts parts) throws NotDifferentialException {
    if (tree.getAlias() != null) {
      throw new NotDifferentialException("a FULL JOIN of a join tree with an alias");
    }
    Parts inside = new Parts(false, false);
    fromItem(tree.getFromItem(), tree.getJoins(), inside);
    if (!inside.nested.isEmpty() || !inside.nonLinear.isEmpty()) {
      throw new NotDifferentialException(
          "a FULL JOIN whose left join tree reads a subquery or WITH query (only tables)");
    }
    parts.tables.addAll(inside.tables);
    return Span.of(tree).end();
  }

  /**
   * The left side of {@code (a FULL JOIN b ON p) FULL JOIN c ON q} or {@code (a LEFT JOIN b ON p)
   * FULL JOIN c ON q}: a chain of outer joins, read into {@code parts} as the block's own (its
   * first item's tables linear, each joined table non-linear). Only LEFT and FULL JOINs of one
   * table after the first item (one table or a join tree of inner joins): the chain's change is
   * built step by step from its prefixes' ({@code OuterChainSql}), each step one table joined to
   * the prefix before it. Returns its end.
   */
  private int outerChain(ParenthesedFromItem tree, Parts parts) throws NotDifferentialException {
    if (tree.getAlias() != null) {
      throw new NotDifferentialException("a FULL JOIN of a join tree with an alias");
    }
    fromItem(tree.getFromItem(), tree.getJoins(), parts);
    if (!parts.nested.isEmpty()) {
      throw new NotDifferentialException(
          "a FULL JOIN whose left side has an outer join of a subquery, WITH query or join tree"
              + " (only LEFT and FULL JOINs of one table there)");
    }
    int firstJoined =
        parts.nonLinear.stream().mapToInt(n -> n.table().span().begin()).min().orElseThrow();
    if (parts.tables.stream().anyMatch(t -> t.span().end() > firstJoined)) {
      throw new NotDifferentialException(
          "a FULL JOIN whose left side joins a table after an outer join other than by a LEFT or"
              + " FULL JOIN (a RIGHT or inner join there)");
    }
    return Span.of(tree).end();
  }

  /**
   * {@code A FULL JOIN B ON p}, A the first item of the FROM ({@code left}'s tables, ending at
   * {@code preserved}'s end: one table, or a join tree of inner joins), B one table: B is
   * non-linear as the right side of a LEFT JOIN is, and A's padded rows are kept by count like B's,
   * A counted as a join tree on the nullable side of the join is ({@link Branch.Nested#joinTree}).
   */
  private int fullJoin(Join join, Parts parts, Span preserved, List<TableOccurrence> left)
      throws NotDifferentialException {
    if (!(join.getRightItem() instanceof Table table)
        || join.getOnExpressions() == null
        || join.getOnExpressions().size() != 1) {
      throw new NotDifferentialException(
          "a FULL JOIN whose right side is not one table joined ON a condition");
    }
    TableOccurrence occurrence = occurrence(table);
    int gap = preserved.end();
    int keyword = text.indexOf("FULL JOIN", gap);
    if (keyword < 0
        || !text.substring(gap, keyword).isBlank()
        || !text.substring(keyword + 9, occurrence.span().begin()).isBlank()) {
      throw new NotDifferentialException("a FULL JOIN it cannot locate");
    }
    Span on = Span.of(join.getOnExpressions().iterator().next());
    scan.requireNoSubquery(on);
    parts.nonLinear.add(
        new Branch.NonLinear(
            Branch.NonLinear.Kind.FULL_JOIN,
            occurrence,
            Optional.of(on),
            Optional.empty(),
            Optional.empty(),
            Optional.of(new Span(keyword, keyword + 9)),
            List.of(),
            Optional.empty(),
            Optional.of(Branch.Nested.joinTree(preserved, left, on))));
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
    scan.requireNoSubquery(on);
    parts.nonLinear.add(Branch.NonLinear.leftJoin(nullable, on));
    return Math.max(end, on.end());
  }

  /**
   * The sublinks of a WHERE condition the engine keeps differential when their table changes, each
   * over one table without grouping: {@code [NOT] EXISTS}, {@code x [NOT] IN (SELECT y ...)} and
   * scalar subqueries of count, sum and avg. Returns their spans. Any other subquery (or one of
   * these it cannot read) is left to {@link ExpressionScan}, which freezes its tables.
   */
  private List<Span> sublinks(Expression where, Span whereSpan, Parts parts)
      throws NotDifferentialException {
    List<Expression> found = new ArrayList<>();
    where.accept(
        new ExpressionVisitorAdapter<Void>() {
          @Override
          public <S> Void visit(ExistsExpression exists, S context) {
            found.add(exists);
            return null;
          }

          @Override
          public <S> Void visit(InExpression in, S context) {
            if (in.getRightExpression() instanceof ParenthesedSelect) {
              found.add(in);
              return null;
            }
            return super.visit(in, context);
          }

          // The adapter hands a scalar subquery, a ParenthesedSelect, to visit(Select).
          @Override
          public <S> Void visit(Select select, S context) {
            if (select instanceof ParenthesedSelect scalar) {
              found.add(scalar);
            }
            return null;
          }
        },
        null);
    List<Span> spans = new ArrayList<>();
    for (Expression sublink : found) {
      Optional<Branch.NonLinear> read;
      try {
        if (sublink instanceof ExistsExpression exists) {
          read = exists(exists);
        } else if (sublink instanceof InExpression in) {
          read = in(in);
          if (read.isEmpty()) {
            read = groupedIn(in, whereSpan);
          }
        } else {
          read = scalar((ParenthesedSelect) sublink);
        }
      } catch (NotDifferentialException e) {
        read = Optional.empty();
      }
      if (read.isPresent()) {
        parts.nonLinear.add(read.get());
        spans.add(read.get().sublink().orElseThrow());
      }
    }
    return spans;
  }

  private Optional<Branch.NonLinear> exists(ExistsExpression exists)
      throws NotDifferentialException {
    if (!(exists.getRightExpression() instanceof ParenthesedSelect subquery)) {
      return Optional.empty();
    }
    Span parenthesized = Span.of(subquery);
    int keyword = text.lastIndexOf("EXISTS", parenthesized.begin());
    if (keyword < 0 || !text.substring(keyword + 6, parenthesized.begin()).isBlank()) {
      return Optional.empty();
    }
    return plainSubquery(subquery, false)
        .map(
            branch ->
                sublink(
                    Branch.NonLinear.Kind.EXISTS,
                    branch,
                    new Span(keyword, parenthesized.end()),
                    Optional.empty(),
                    List.of()));
  }

  /** {@code x IN (SELECT y ...)} of one column; {@code NOT IN} is {@code NOT (x IN ...)}. */
  private Optional<Branch.NonLinear> in(InExpression in) throws NotDifferentialException {
    Optional<InParts> parts = inParts(in);
    if (parts.isEmpty()) {
      return Optional.empty();
    }
    Optional<Branch> branch = plainSubquery((ParenthesedSelect) in.getRightExpression(), false);
    if (branch.isEmpty() || branch.get().itemExpressions().size() != 1) {
      return Optional.empty();
    }
    scan.requireNoSubquery(parts.get().operand());
    return Optional.of(
        sublink(
            Branch.NonLinear.Kind.IN,
            branch.get(),
            parts.get().sublink(),
            Optional.of(parts.get().operand()),
            List.of()));
  }

  /** Where {@code x IN ( SELECT ... )} and its operand stand. */
  private record InParts(Span operand, Span sublink) {}

  /**
   * The spans of a one-column {@code x IN ( SELECT ... )} as PostgreSQL prints it; empty for NOT IN
   * written as such, a row on the left, or a form it cannot place.
   */
  private Optional<InParts> inParts(InExpression in) throws NotDifferentialException {
    if (in.isNot()
        || in.isGlobal()
        || in.getLeftExpression() instanceof ParenthesedExpressionList) {
      return Optional.empty();
    }
    Span operand = Span.of(in.getLeftExpression());
    Span parenthesized = Span.of(in.getRightExpression());
    if (!text.substring(operand.end(), parenthesized.begin()).strip().equals("IN")) {
      return Optional.empty();
    }
    return Optional.of(new InParts(operand, new Span(operand.begin(), parenthesized.end())));
  }

  /**
   * {@code x IN (SELECT k FROM t WHERE c GROUP BY k [HAVING h])}, a condition of its own in WHERE,
   * with h made of count, sum and avg calls (TPC-H q18): whether x's group exists and passes h
   * follows from that group's counts and sums, now and before.
   */
  private Optional<Branch.NonLinear> groupedIn(InExpression in, Span where)
      throws NotDifferentialException {
    ParenthesedSelect subquery = (ParenthesedSelect) in.getRightExpression();
    if (!(subquery.getSelect() instanceof PlainSelect plain)
        || plain.getGroupBy() == null
        || plain.getGroupBy().getGroupByExpressionList() == null
        || plain.getGroupBy().getGroupByExpressionList().size() != 1
        || (plain.getGroupBy().getGroupingSets() != null
            && !plain.getGroupBy().getGroupingSets().isEmpty())
        || plain.getSelectItems().size() != 1
        || plain.getDistinct() != null
        || plain.getWithItemsList() != null
        || plain.getOrderByElements() != null
        || setReturning(plain)) {
      return Optional.empty();
    }
    requireNoLimits(plain);
    Optional<InParts> parts = inParts(in);
    if (parts.isEmpty() || !Conjuncts.isConjunct(text, where, parts.get().sublink())) {
      return Optional.empty();
    }
    Span operand = parts.get().operand();
    Span parenthesized = Span.of(subquery);
    Span sublink = parts.get().sublink();
    Branch branch = branch(plain, Scope.SUBLINK);
    if (branch.tables().size() != 1 || !branch.nested().isEmpty()) {
      return Optional.empty();
    }
    Span key = Span.of((Expression) plain.getGroupBy().getGroupByExpressionList().get(0));
    String item =
        text.substring(
            branch.itemExpressions().get(0).begin(), branch.itemExpressions().get(0).end());
    if (!ExpressionScan.normalized(item)
        .equals(ExpressionScan.normalized(text.substring(key.begin(), key.end())))) {
      return Optional.empty();
    }
    Optional<Span> having = Optional.empty();
    List<Aggregate> calls = List.of();
    if (plain.getHaving() != null) {
      having = Optional.of(havingSpan(parenthesized));
      calls = aggregates.scalarAggregates(plain.getHaving());
      if (!exactSums(calls, branch.tables()) || !onlyInside(plain.getHaving(), calls)) {
        return Optional.empty();
      }
    }
    scan.requireNoSubquery(operand);
    return Optional.of(
        new Branch.NonLinear(
            Branch.NonLinear.Kind.GROUPED_IN,
            branch.tables().get(0),
            branch.where(),
            Optional.of(sublink),
            Optional.of(branch),
            Optional.of(operand),
            calls,
            having));
  }

  /**
   * Whether a select list calls a function that may return a set: the subquery's row count is then
   * not its table's, which the counts kept for sublinks assume.
   */
  private boolean setReturning(PlainSelect plain) {
    List<String> functions = new ArrayList<>();
    for (SelectItem<?> item : plain.getSelectItems()) {
      item.getExpression()
          .accept(
              new ExpressionVisitorAdapter<Void>() {
                @Override
                public <S> Void visit(net.sf.jsqlparser.expression.Function function, S context) {
                  functions.add(function.getName());
                  return super.visit(function, context);
                }
              },
              null);
    }
    return functions.stream().anyMatch(types::returnsSet);
  }

  /** Whether every column {@code condition} names lies inside one of {@code calls}. */
  private static boolean onlyInside(Expression condition, List<Aggregate> calls)
      throws NotDifferentialException {
    List<net.sf.jsqlparser.schema.Column> columns = new ArrayList<>();
    condition.accept(
        new ExpressionVisitorAdapter<Void>() {
          @Override
          public <S> Void visit(net.sf.jsqlparser.schema.Column column, S context) {
            columns.add(column);
            return null;
          }
        },
        null);
    for (net.sf.jsqlparser.schema.Column column : columns) {
      Span span = Span.of(column);
      if (calls.stream().noneMatch(c -> c.call().contains(span))) {
        return false;
      }
    }
    return true;
  }

  /** The HAVING condition of a parenthesized subquery: after the keyword, to the closing ')'. */
  private Span havingSpan(Span parenthesized) throws NotDifferentialException {
    String inside =
        ExpressionScan.withoutLiterals(text.substring(parenthesized.begin(), parenthesized.end()));
    int depth = 0;
    for (int i = 0; i < inside.length(); i++) {
      char c = inside.charAt(i);
      if (c == '(') {
        depth++;
      } else if (c == ')') {
        depth--;
      } else if (depth == 1
          && inside.startsWith("HAVING", i)
          && Character.isWhitespace(inside.charAt(i - 1))
          && Character.isWhitespace(inside.charAt(i + 6))) {
        return new Span(parenthesized.begin() + i + 7, parenthesized.end() - 1);
      }
    }
    throw new NotDifferentialException("a HAVING it cannot locate");
  }

  /**
   * Whether every sum and avg among {@code calls} is over an exact type, and all are counts and
   * sums.
   */
  private boolean exactSums(List<Aggregate> calls, List<TableOccurrence> tables) {
    List<String> from = new ArrayList<>();
    for (TableOccurrence table : tables) {
      from.add(text.substring(table.span().begin(), table.span().end()));
    }
    for (Aggregate call : calls) {
      switch (call.kind()) {
        case COUNT_STAR, COUNT -> {}
        case SUM, AVG -> {
          String query =
              "SELECT ("
                  + text.substring(
                      call.argument().orElseThrow().begin(), call.argument().get().end())
                  + ") FROM "
                  + String.join(", ", from);
          if (!EXACT_SUM_TYPES.contains(types.typeOf(query).orElse(""))) {
            return false;
          }
        }
        default -> {
          return false;
        }
      }
    }
    return true;
  }

  /**
   * A scalar subquery whose one item is made of count, sum and avg calls: its value before a change
   * follows from counts and sums, exactly for integers and numeric (a float sum drifts with the
   * order of its terms).
   */
  private Optional<Branch.NonLinear> scalar(ParenthesedSelect subquery)
      throws NotDifferentialException {
    if (!(subquery.getSelect() instanceof PlainSelect plain)
        || plain.getSelectItems().size() != 1) {
      return Optional.empty();
    }
    Optional<Branch> branch = plainSubquery(subquery, true);
    if (branch.isEmpty()) {
      return Optional.empty();
    }
    SelectItem<?> item = plain.getSelectItems().get(0);
    List<Aggregate> calls = aggregates.scalarAggregates(item.getExpression());
    if (calls.isEmpty()) {
      return Optional.empty();
    }
    if (!exactSums(calls, branch.get().tables())) {
      return Optional.empty();
    }
    return Optional.of(
        sublink(
            Branch.NonLinear.Kind.SCALAR,
            branch.get(),
            Span.of(subquery),
            Optional.empty(),
            calls));
  }

  /** Argument types whose sums are exact (as PostgreSQL's type names print them). */
  private static final java.util.Set<String> EXACT_SUM_TYPES =
      java.util.Set.of("int2", "int4", "int8", "numeric");

  /**
   * The subquery of a sublink as a branch over its tables, inner joined (no subqueries in its
   * FROM), without DISTINCT, grouping or limits; aggregates only where {@code aggregated}.
   */
  private Optional<Branch> plainSubquery(ParenthesedSelect subquery, boolean aggregated)
      throws NotDifferentialException {
    if (!(subquery.getSelect() instanceof PlainSelect plain)
        || plain.getDistinct() != null
        || plain.getGroupBy() != null
        || plain.getHaving() != null
        || plain.getWithItemsList() != null
        || plain.getLimit() != null
        || plain.getOffset() != null
        || plain.getFetch() != null
        || plain.getForMode() != null
        || (!aggregated && aggregates.hasAggregates(plain))) {
      return Optional.empty();
    }
    if (setReturning(plain)) {
      return Optional.empty();
    }
    Branch branch = branch(plain, Scope.SUBLINK);
    if (branch.tables().isEmpty() || !branch.nested().isEmpty()) {
      return Optional.empty();
    }
    return Optional.of(branch);
  }

  private static Branch.NonLinear sublink(
      Branch.NonLinear.Kind kind,
      Branch subquery,
      Span sublink,
      Optional<Span> operand,
      List<Aggregate> calls) {
    return new Branch.NonLinear(
        kind,
        subquery.tables().get(0),
        subquery.where(),
        Optional.of(sublink),
        Optional.of(subquery),
        operand,
        calls,
        Optional.empty());
  }

  private int leaf(FromItem item, Parts parts) throws NotDifferentialException {
    if (withName(item).isPresent()) {
      return withReference((Table) item, parts, Optional.empty());
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
      if (subquery.getSelect() instanceof PlainSelect grouped
          && grouped.getGroupBy() != null
          && parts.mayGroup) {
        return groupedBlock(subquery, grouped, parts, Optional.empty());
      }
      if (!(subquery.getSelect() instanceof PlainSelect plain)
          || plain.getDistinct() != null
          || plain.getGroupBy() != null
          || plain.getHaving() != null) {
        throw new NotDifferentialException(
            "a subquery in FROM that is not a plain SELECT ... FROM ... WHERE");
      }
      requireNoLimits(plain);
      aggregates.requireNoAggregates(plain);
      Branch branch = branch(plain, Scope.NESTED);
      parts.nested.add(new Branch.Nested(Span.of(plain), subquery.getAlias().getName(), branch));
      return Span.of(subquery).end();
    }
    throw new NotDifferentialException(
        "this FROM item (" + item.getClass().getSimpleName() + ": " + item + ")");
  }

  /**
   * A reference to a WITH query, read once: the reference is replaced by the query's text, a plain
   * block as a subquery in FROM is, a grouped one as a grouped subquery in the query's FROM (also
   * on the nullable side of a LEFT JOIN, {@code nullableOn}).
   */
  private int withReference(Table table, Parts parts, Optional<Span> nullableOn)
      throws NotDifferentialException {
    String name = unquoted(table.getName());
    if (!withUsed.add(name)) {
      throw new NotDifferentialException("a WITH query read more than once (" + name + ")");
    }
    PlainSelect body = withBodies.get(name);
    String alias = table.getAlias() == null ? table.getName() : table.getAlias().getName();
    if (table.getAlias() != null && table.getAlias().getAliasColumns() != null) {
      throw new NotDifferentialException("a WITH query's reference with column names");
    }
    Span reference = Span.of(table);
    if (body.getGroupBy() != null) {
      if (!parts.mayGroup) {
        throw new NotDifferentialException(
            "a grouped WITH query read elsewhere than in the query's own FROM (" + name + ")");
      }
      return groupedBlock(
          body, alias, reference, true, reference, withColumns.get(name), nullableOn, parts);
    }
    if (nullableOn.isPresent()) {
      return nullableBlock(
          body, alias, reference, true, reference, withColumns.get(name), nullableOn.get(), parts);
    }
    Branch branch = branch(body, Scope.NESTED);
    parts.nested.add(
        new Branch.Nested(
            Span.of(body),
            alias,
            branch,
            reference,
            true,
            Optional.empty(),
            reference,
            Optional.empty(),
            withColumns.get(name)));
    return reference.end();
  }

  /**
   * A plain block (inner joins, filters, projections; no sublinks) on the right side of a LEFT
   * JOIN: it changes as a whole, its change the telescoping sum over its own tables.
   */
  private int nullableBlock(
      PlainSelect plain,
      String alias,
      Span replaced,
      boolean wrap,
      Span relation,
      Optional<Span> columns,
      Span on,
      Parts parts)
      throws NotDifferentialException {
    if (plain.getDistinct() != null || plain.getHaving() != null) {
      throw new NotDifferentialException(
          "a LEFT JOIN of a subquery that is not a plain SELECT ... FROM ... WHERE [GROUP BY ...]");
    }
    requireNoLimits(plain);
    aggregates.requireNoAggregates(plain);
    Branch branch = branch(plain, Scope.NESTED);
    if (!branch.blocks().stream().allMatch(b -> b.nonLinear().isEmpty())) {
      throw new NotDifferentialException("a LEFT JOIN of a subquery with sublinks in its WHERE");
    }
    parts.nested.add(
        new Branch.Nested(
            Span.of(plain),
            alias,
            branch,
            replaced,
            wrap,
            Optional.empty(),
            relation,
            Optional.of(on),
            columns));
    return relation.end();
  }

  /**
   * {@code (SELECT ... FROM ... WHERE ... GROUP BY k [HAVING ...]) alias [(columns)]} in the
   * query's FROM: its text stays as written; a term recomputes the groups a change touched.
   */
  private int groupedBlock(
      ParenthesedSelect subquery, PlainSelect plain, Parts parts, Optional<Span> nullableOn)
      throws NotDifferentialException {
    Span relation = Span.of(subquery);
    return groupedBlock(
        plain,
        subquery.getAlias().getName(),
        Span.of(plain),
        false,
        relation,
        Optional.empty(),
        nullableOn,
        parts);
  }

  /**
   * A grouped block, standing at {@code replaced} in {@code relation} (the FROM item), read as
   * {@code alias}.
   */
  private int groupedBlock(
      PlainSelect plain,
      String alias,
      Span replaced,
      boolean wrap,
      Span relation,
      Optional<Span> columns,
      Optional<Span> nullableOn,
      Parts parts)
      throws NotDifferentialException {
    requireNoLimits(plain);
    if (plain.getDistinct() != null || plain.getOrderByElements() != null) {
      throw new NotDifferentialException("a grouped subquery in FROM with DISTINCT or ORDER BY");
    }
    Branch branch = branch(plain, Scope.GROUPED);
    if (!branch.nested().isEmpty()) {
      throw new NotDifferentialException("a grouped subquery in FROM over subqueries");
    }
    Grouping grouping = aggregates.grouping(plain, branch);
    if (grouping.keys().isEmpty()) {
      throw new NotDifferentialException("a subquery in FROM that aggregates without GROUP BY");
    }
    requireKeysOffNullableSides(plain, branch);
    Span select = Span.of(plain);
    Branch.Grouped grouped =
        new Branch.Grouped(grouping.keys(), new Span(branch.core().end(), select.end()));
    parts.nested.add(
        new Branch.Nested(
            select,
            alias,
            branch,
            replaced,
            wrap,
            Optional.of(grouped),
            relation,
            nullableOn,
            columns));
    return relation.end();
  }

  /**
   * Refuses a grouped block whose GROUP BY keys read a table on the nullable side of an outer join
   * inside it (the right side of a LEFT JOIN, the left of a RIGHT JOIN, either side of a FULL
   * JOIN): the groups a term recomputes are the keys of the rows a change matches, not those of the
   * rows whose padding it switched (the NULL key's group when a preserved row loses its last
   * match), so those would be left wrong. Keys of the preserved side (TPC-H q13's) are the same for
   * a row padded or matched. A column not qualified by its table counts as the nullable side's.
   */
  private static void requireKeysOffNullableSides(PlainSelect plain, Branch branch)
      throws NotDifferentialException {
    java.util.Set<String> nullable = new java.util.HashSet<>();
    for (Branch.NonLinear outer : branch.nonLinear()) {
      if (outer.kind() == Branch.NonLinear.Kind.LEFT_JOIN
          || outer.kind() == Branch.NonLinear.Kind.FULL_JOIN) {
        nullable.add(bare(outer.table().refName()));
        outer
            .left()
            .ifPresent(
                left -> left.branch().tables().forEach(t -> nullable.add(bare(t.refName()))));
      }
    }
    if (nullable.isEmpty()) {
      return;
    }
    List<net.sf.jsqlparser.schema.Column> columns = new ArrayList<>();
    ExpressionVisitorAdapter<Void> collector =
        new ExpressionVisitorAdapter<Void>() {
          @Override
          public <S> Void visit(net.sf.jsqlparser.schema.Column column, S context) {
            columns.add(column);
            return null;
          }
        };
    net.sf.jsqlparser.expression.operators.relational.ExpressionList<?> keys =
        plain.getGroupBy().getGroupByExpressionList();
    for (Expression key : keys) {
      Expression read =
          key instanceof net.sf.jsqlparser.expression.LongValue position
                  && position.getValue() >= 1
                  && position.getValue() <= plain.getSelectItems().size()
              ? plain.getSelectItems().get((int) position.getValue() - 1).getExpression()
              : key;
      read.accept(collector, null);
    }
    for (net.sf.jsqlparser.schema.Column column : columns) {
      Table qualifier = column.getTable();
      if (qualifier == null
          || qualifier.getName() == null
          || qualifier.getName().isEmpty()
          || nullable.contains(bare(qualifier.getName()))) {
        throw new NotDifferentialException(
            "a grouped subquery in FROM grouped by a column of an outer join's nullable side"
                + " inside it ("
                + column
                + "): the groups of rows whose padding a change switches are not recomputed");
      }
    }
  }

  private static String bare(String name) {
    return name.replace("\"", "").toLowerCase(java.util.Locale.ROOT);
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

  static void requireNoLimits(PlainSelect plain) throws NotDifferentialException {
    if (plain.getLimit() != null || plain.getOffset() != null || plain.getFetch() != null) {
      throw new NotDifferentialException("LIMIT, OFFSET or FETCH");
    }
    if (plain.getForMode() != null) {
      throw new NotDifferentialException("FOR UPDATE/SHARE");
    }
  }
}
