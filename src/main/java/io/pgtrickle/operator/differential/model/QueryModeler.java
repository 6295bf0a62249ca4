package io.pgtrickle.operator.differential.model;

import io.pgtrickle.operator.naming.StableName;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;
import net.sf.jsqlparser.JSQLParserException;
import net.sf.jsqlparser.parser.CCJSqlParserUtil;
import net.sf.jsqlparser.statement.Statement;
import net.sf.jsqlparser.statement.select.ExceptOp;
import net.sf.jsqlparser.statement.select.IntersectOp;
import net.sf.jsqlparser.statement.select.MinusOp;
import net.sf.jsqlparser.statement.select.PlainSelect;
import net.sf.jsqlparser.statement.select.Select;
import net.sf.jsqlparser.statement.select.SetOperation;
import net.sf.jsqlparser.statement.select.SetOperationList;
import net.sf.jsqlparser.statement.select.UnionOp;

/**
 * Reads PostgreSQL's deparse of a query ({@code pg_get_viewdef}) into a {@link QueryModel}, or says
 * which construct keeps it from being maintained differentially. JSqlParser gives the structure and
 * the positions; no expression is re-printed from its tree, every piece of SQL the engine runs is a
 * slice of PostgreSQL's text. The statement and its set operations are read here; blocks by {@link
 * BlockReader}, grouping by {@link AggregateReader}, expression text by {@link ExpressionScan}.
 */
public final class QueryModeler {
  private final String text;
  private final ExpressionScan scan;
  private final AggregateReader aggregates;
  private final BlockReader blocks;
  private final Map<List<String>, StableName> sources;
  private final Predicate<String> isAggregate;
  private final DatabaseFacts types;

  private QueryModeler(
      String text,
      Map<List<String>, StableName> sources,
      Predicate<String> isAggregate,
      DatabaseFacts types) {
    this.text = text;
    this.sources = sources;
    this.isAggregate = isAggregate;
    this.types = types;
    this.scan = new ExpressionScan(text, sources);
    this.aggregates = new AggregateReader(text, scan, isAggregate);
    this.blocks = new BlockReader(text, sources, scan, aggregates, types);
  }

  /**
   * The model of {@code deparsed}, or why it is not differential.
   *
   * @param sources the captured source tables by raw {@code [schema, table]}
   * @param isAggregate whether a function name (as written, possibly qualified) names an aggregate,
   *     for the ones the engine does not know
   */
  public static QueryModel model(
      String deparsed, Map<List<String>, StableName> sources, Predicate<String> isAggregate)
      throws NotDifferentialException {
    return model(deparsed, sources, isAggregate, DatabaseFacts.NONE);
  }

  /**
   * As above; {@code types} answers the type of an aggregate's argument in a scalar subquery (sums
   * kept by adding and subtracting must be of an exact type).
   */
  public static QueryModel model(
      String deparsed,
      Map<List<String>, StableName> sources,
      Predicate<String> isAggregate,
      DatabaseFacts types)
      throws NotDifferentialException {
    String text = UsingJoins.asOn(deparsed, types);
    Optional<RepeatedWith.Inlined> inlined = RepeatedWith.inline(text);
    Optional<QueryModel> joined =
        joinedModel(
            inlined.map(RepeatedWith.Inlined::text).orElse(text), sources, isAggregate, types);
    QueryModel asWritten;
    try {
      asWritten = asWritten(text, inlined, sources, isAggregate, types);
    } catch (NotDifferentialException e) {
      if (joined.isPresent()) {
        return joined.get();
      }
      throw e;
    }
    // The joined form serves the refreshes in which the subqueries' tables changed (as written,
    // those run FULL); the others read the subqueries as written, per outer row a change reaches,
    // where a joined block would be aggregated whole. Over Citus sources the caller keeps to the
    // form as written (a grouped block there is not differential).
    return joined.isPresent() && !asWritten.frozen().equals(joined.get().frozen())
        ? asWritten.withWhenFrozenChange(joined.get())
        : asWritten;
  }

  /**
   * The model with min/max scalar subqueries joined as grouped blocks ({@link
   * ScalarSubqueryAsJoin}), if any is and the engine models the result.
   */
  private static Optional<QueryModel> joinedModel(
      String text,
      Map<List<String>, StableName> sources,
      Predicate<String> isAggregate,
      DatabaseFacts types) {
    Optional<String> joined = ScalarSubqueryAsJoin.rewrite(text, types);
    if (joined.isEmpty()) {
      return Optional.empty();
    }
    try {
      return Optional.of(new QueryModeler(joined.get(), sources, isAggregate, types).model());
    } catch (NotDifferentialException e) {
      // Not modelled with the subqueries joined as grouped blocks (a place the engine keeps no
      // grouped block): as written, their tables are frozen instead.
      return Optional.empty();
    }
  }

  private static QueryModel asWritten(
      String text,
      Optional<RepeatedWith.Inlined> inlined,
      Map<List<String>, StableName> sources,
      Predicate<String> isAggregate,
      DatabaseFacts types)
      throws NotDifferentialException {
    if (inlined.isEmpty()) {
      return new QueryModeler(text, sources, isAggregate, types).model();
    }
    try {
      return new QueryModeler(inlined.get().text(), sources, isAggregate, types).model();
    } catch (NotDifferentialException e) {
      throw new NotDifferentialException(
          "a WITH query read more than once ("
              + String.join(", ", inlined.get().names())
              + "), each reading read as a subquery of its text: "
              + e.getMessage());
    }
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
    blocks.withQueries(select);
    if (select instanceof SetOperationList setOperations) {
      return setOperation(setOperations);
    }
    if (!(select instanceof PlainSelect plain)) {
      throw new NotDifferentialException("a parenthesized query at the top");
    }
    BlockReader.requireNoLimits(plain);
    Branch branch = blocks.branch(plain);
    if (plain.getDistinct() != null) {
      if (plain.getDistinct().getOnSelectItems() != null) {
        throw new NotDifferentialException("DISTINCT ON");
      }
      if (plain.getGroupBy() != null || plain.getHaving() != null) {
        throw new NotDifferentialException("DISTINCT with GROUP BY");
      }
      aggregates.requireNoAggregates(plain);
      return new QueryModel(text, List.of(branch), distinct(branch), scan.frozen());
    }
    Grouping grouping = aggregates.grouping(plain, branch);
    return new QueryModel(text, List.of(branch), grouping, scan.frozen());
  }

  private QueryModel setOperation(SetOperationList list) throws NotDifferentialException {
    if (list.getOrderByElements() != null || list.getLimit() != null || list.getOffset() != null) {
      throw new NotDifferentialException("ORDER BY with LIMIT or OFFSET on a set operation");
    }
    if (list.getOperations().size() == 1 && !(list.getOperations().get(0) instanceof UnionOp)) {
      return filteredBySecond(list);
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
      BlockReader.requireNoLimits(plain);
      if (plain.getDistinct() != null || plain.getGroupBy() != null || plain.getHaving() != null) {
        throw new NotDifferentialException("DISTINCT or GROUP BY inside a set operation");
      }
      aggregates.requireNoAggregates(plain);
      branches.add(blocks.branch(plain));
    }
    Grouping grouping = all ? Grouping.none() : distinct(branches.get(0));
    return new QueryModel(text, branches, grouping, scan.frozen());
  }

  /**
   * {@code A EXCEPT B} and {@code A INTERSECT B}: the distinct rows of A with (without) an equal
   * row in B (NULLs equal, as the set operations compare). When B reads one table, the query is
   * modelled as A with an EXISTS sublink over it ({@link SetFilterAsExists}), differential for
   * changes to either; otherwise B is read as a subquery, so its tables are frozen: differential
   * for changes to A, FULL when B's tables change.
   */
  private QueryModel filteredBySecond(SetOperationList list) throws NotDifferentialException {
    SetOperation operation = list.getOperations().get(0);
    boolean except = operation instanceof ExceptOp || operation instanceof MinusOp;
    if (!except && !(operation instanceof IntersectOp)) {
      throw new NotDifferentialException(operation.toString().trim());
    }
    if (operation.toString().toUpperCase(java.util.Locale.ROOT).contains("ALL")) {
      throw new NotDifferentialException("INTERSECT ALL or EXCEPT ALL");
    }
    if (!(list.getSelects().get(0) instanceof PlainSelect first)
        || first.getDistinct() != null
        || first.getGroupBy() != null
        || first.getHaving() != null) {
      throw new NotDifferentialException(
          "INTERSECT or EXCEPT whose first query is not a plain SELECT ... FROM ... WHERE");
    }
    BlockReader.requireNoLimits(first);
    aggregates.requireNoAggregates(first);
    if (list.getWithItemsList() == null || list.getWithItemsList().isEmpty()) {
      Optional<String> asExists =
          SetFilterAsExists.rewrite(text, first, list.getSelects().get(1), except, types);
      if (asExists.isPresent()) {
        return new QueryModeler(asExists.get(), sources, isAggregate, types).model();
      }
    }
    Branch branch = blocks.branch(first);
    Span other = Span.of(list.getSelects().get(1));
    String second = text.substring(other.begin(), other.end());
    scan.freeze(second);
    List<String> columns = new java.util.ArrayList<>();
    List<String> equal = new java.util.ArrayList<>();
    for (int i = 0; i < branch.itemExpressions().size(); i++) {
      String column = "pgt_c" + (i + 1);
      columns.add(column);
      equal.add(
          "pgt_other."
              + column
              + " IS NOT DISTINCT FROM ("
              + text.substring(
                  branch.itemExpressions().get(i).begin(), branch.itemExpressions().get(i).end())
              + ")");
    }
    String condition =
        (except ? "NOT " : "")
            + "EXISTS (SELECT 1 FROM ("
            + second
            + ") pgt_other("
            + String.join(", ", columns)
            + ") WHERE "
            + String.join(" AND ", equal)
            + ")";
    Branch filtered = branch.withCondition(condition);
    return new QueryModel(text, List.of(filtered), distinct(filtered), scan.frozen());
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

  private static String firstLine(String message) {
    String m = message == null ? "" : message.strip();
    int newline = m.indexOf('\n');
    return newline < 0 ? m : m.substring(0, newline);
  }
}
