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
 * @param fromEnd where the FROM clause's text ends (WHERE, if any, follows)
 * @param where the WHERE condition, if any
 * @param tables tables read directly in this block's FROM, in text order (linear occurrences)
 * @param nested blocks in this block's FROM ({@code ( SELECT ... ) alias}), in text order
 * @param nonLinear tables read where the result is not linear in them: the right side of a LEFT
 *     JOIN, the table of an EXISTS subquery
 * @param condition a condition added to WHERE (EXCEPT and INTERSECT filter the first block by the
 *     second), made of slices of the text
 */
public record Branch(
    Span items,
    List<Span> itemExpressions,
    Span core,
    int fromEnd,
    Optional<Span> where,
    List<TableOccurrence> tables,
    List<Nested> nested,
    List<NonLinear> nonLinear,
    Optional<String> condition) {
  public Branch {
    itemExpressions = List.copyOf(itemExpressions);
    tables = List.copyOf(tables);
    nested = List.copyOf(nested);
    nonLinear = List.copyOf(nonLinear);
  }

  /** This branch with {@code more} added to its WHERE. */
  public Branch withCondition(String more) {
    return new Branch(
        items,
        itemExpressions,
        core,
        fromEnd,
        where,
        tables,
        nested,
        nonLinear,
        Optional.of(condition.map(c -> "(" + c + ") AND (" + more + ")").orElse(more)));
  }

  /**
   * A table the result depends on non-linearly. For each row of the rest (the preserved side of a
   * LEFT JOIN, the outer row of a sublink), only what the rows of this table satisfying {@code
   * condition} add up to matters (their count, the matches of an IN, an aggregate), besides, for a
   * LEFT JOIN, the matched rows themselves.
   *
   * @param kind LEFT JOIN, or the kind of sublink
   * @param table the occurrence (its span: the table in FROM, or the first table of the subquery)
   * @param condition the ON condition, or the subquery's WHERE condition (may be absent for a
   *     sublink)
   * @param sublink for a sublink: its text ({@code EXISTS ( SELECT ... )}, {@code x IN ( SELECT ...
   *     )}, {@code ( SELECT agg(...) ... )}), replaced by its value before the change
   * @param subquery for a sublink: the subquery as a branch (its tables inner joined, no grouping)
   * @param operand for IN: the left side ({@code x})
   * @param aggregates for a scalar subquery: the aggregate calls of its one item; for an IN over
   *     groups, those of its HAVING; each kept by counts and sums (count, sum, avg over integers or
   *     numeric)
   * @param having for an IN over groups: the HAVING condition, if any
   * @param left for a FULL JOIN: its left side (one table, or a join tree of inner joins), as a
   *     join tree on the nullable side of the join ON its condition: its tables are read linearly
   *     (they are the block's first tables), and the right side's rows are padded by its count. In
   *     a chain ({@link Branch#outerChain}) the left side may hold outer joins: its {@code
   *     relation} is then the chain's prefix before this join, its tables the chain's first item's
   */
  public record NonLinear(
      Kind kind,
      TableOccurrence table,
      Optional<Span> condition,
      Optional<Span> sublink,
      Optional<Branch> subquery,
      Optional<Span> operand,
      List<Aggregate> aggregates,
      Optional<Span> having,
      Optional<Nested> left) {
    public NonLinear {
      aggregates = List.copyOf(aggregates);
    }

    NonLinear(
        Kind kind,
        TableOccurrence table,
        Optional<Span> condition,
        Optional<Span> sublink,
        Optional<Branch> subquery,
        Optional<Span> operand,
        List<Aggregate> aggregates,
        Optional<Span> having) {
      this(
          kind, table, condition, sublink, subquery, operand, aggregates, having, Optional.empty());
    }

    static NonLinear leftJoin(TableOccurrence table, Span on) {
      return new NonLinear(
          Kind.LEFT_JOIN,
          table,
          Optional.of(on),
          Optional.empty(),
          Optional.empty(),
          Optional.empty(),
          List.of(),
          Optional.empty());
    }

    public enum Kind {
      LEFT_JOIN,
      /**
       * {@code A FULL JOIN B ON c}, A the first item of its block's FROM, one table or a join tree
       * of inner joins ({@code (a JOIN b ON p) FULL JOIN c ON q}; {@code left}), read linearly, its
       * padding kept by count; B, one table, this occurrence; {@code operand} is the {@code FULL
       * JOIN} keywords, which terms rewrite.
       */
      FULL_JOIN,
      /** {@code [NOT] EXISTS (SELECT ... FROM t WHERE c)}. */
      EXISTS,
      /** {@code x IN (SELECT y FROM t WHERE c)} ({@code NOT} stays outside). */
      IN,
      /** {@code (SELECT f(count, sum, avg ...) FROM t WHERE c)}. */
      SCALAR,
      /**
       * {@code x IN (SELECT k FROM t WHERE c GROUP BY k HAVING h)} as a condition of its own in
       * WHERE (there NULL and false alike leave the row out): does x's group exist and pass h.
       */
      GROUPED_IN
    }

    public boolean isSublink() {
      return kind != Kind.LEFT_JOIN && kind != Kind.FULL_JOIN;
    }

    /** The tables it reads: the joined table, or the tables of the sublink's subquery. */
    public List<TableOccurrence> tables() {
      return subquery.map(Branch::tables).orElse(List.of(table));
    }
  }

  /**
   * A block in FROM: its SELECT and the alias the outer block uses. For a subquery in FROM the
   * SELECT is replaced where it stands (inside its parentheses); for a WITH query the reference
   * ({@code name [alias]}) is replaced by {@code ( SELECT ... ) alias [(columns)]}.
   *
   * @param replaced the text a rendering replaces
   * @param wrap whether the rendering is wrapped as {@code (...) alias [(columns)]}
   * @param grouped for a block that groups, its keys and tail
   * @param relation the FROM item that stands for the block ({@code ( SELECT ... ) alias
   *     [(columns)]}, or the WITH query's reference), holding {@code replaced}
   * @param nullableOn the ON condition when the block is the right side of a LEFT JOIN
   * @param columns a WITH query's column names ({@code WITH w (a, b) AS ...}), which a wrapped
   *     rendering gives its alias
   * @param tree whether the block is a parenthesized join of tables ({@code (b JOIN c ON p)}), on
   *     the nullable side of an outer join: it has no SELECT and no alias of its own (its {@code
   *     select} is the whole parenthesized join, its {@code alias} empty), the query reads its
   *     tables' columns by their own names, and a term reads it with its tables replaced, as tables
   *     of the block it stands in
   */
  public record Nested(
      Span select,
      String alias,
      Branch branch,
      Span replaced,
      boolean wrap,
      Optional<Grouped> grouped,
      Span relation,
      Optional<Span> nullableOn,
      Optional<Span> columns,
      boolean tree) {
    Nested(Span select, String alias, Branch branch) {
      this(
          select,
          alias,
          branch,
          select,
          false,
          Optional.empty(),
          select,
          Optional.empty(),
          Optional.empty());
    }

    Nested(
        Span select,
        String alias,
        Branch branch,
        Span replaced,
        boolean wrap,
        Optional<Grouped> grouped,
        Span relation,
        Optional<Span> nullableOn,
        Optional<Span> columns) {
      this(select, alias, branch, replaced, wrap, grouped, relation, nullableOn, columns, false);
    }

    /**
     * A join tree of tables ({@code (b JOIN c ON p)}, at {@code span}) on the nullable side of an
     * outer join ON {@code on}: a plain block over {@code tables}, changing as a whole.
     */
    static Nested joinTree(Span span, List<TableOccurrence> tables, Span on) {
      Branch branch =
          new Branch(
              new Span(span.begin(), span.begin()),
              List.of(),
              span,
              span.end(),
              Optional.empty(),
              tables,
              List.of(),
              List.of(),
              Optional.empty());
      return new Nested(
          span,
          "",
          branch,
          span,
          false,
          Optional.empty(),
          span,
          Optional.of(on),
          Optional.empty(),
          true);
    }

    /**
     * Whether the block changes as a whole, not linearly in its tables: it groups, or it is the
     * nullable side of a LEFT JOIN. Its change is computed apart and read in its place.
     */
    public boolean changesWhole() {
      return grouped.isPresent() || nullableOn.isPresent();
    }

    /** {@code select} standing where {@link #replaced} stands, wrapped if the block is. */
    public String wrapped(String text, String select) {
      return wrap
          ? "("
              + select
              + ") "
              + alias
              + columns.map(c -> " (" + text.substring(c.begin(), c.end()) + ")").orElse("")
          : select;
    }

    /**
     * The FROM item with {@code select} standing for the block's SELECT: the same alias and column
     * names, whatever the block is read as.
     */
    public String relationWith(String text, String select) {
      return text.substring(relation.begin(), replaced.begin())
          + wrapped(text, select)
          + text.substring(replaced.end(), relation.end());
    }
  }

  /**
   * A block in FROM that groups ({@code (SELECT ... GROUP BY k ...) alias}): not linear in its
   * tables, so it changes as a whole: the groups whose keys a change touches, recomputed as they
   * are now and as they were.
   *
   * @param keys the GROUP BY expressions
   * @param tail from the end of its WHERE (or FROM) to its end: {@code GROUP BY ... HAVING ...}
   */
  public record Grouped(List<Span> keys, Span tail) {
    public Grouped {
      keys = List.copyOf(keys);
    }
  }

  /** The blocks in this block's FROM that change as a whole ({@link Nested#changesWhole}). */
  public List<Nested> wholeBlocks() {
    return nested.stream().filter(Nested::changesWhole).toList();
  }

  /** This block and the blocks nested in its FROM, recursively, outer blocks first. */
  public List<Branch> blocks() {
    List<Branch> all = new java.util.ArrayList<>();
    all.add(this);
    nested.forEach(n -> all.addAll(n.branch().blocks()));
    return all;
  }

  /**
   * The tables of the join trees in this block's FROM ({@link Nested#tree}): a term replaces them
   * where they stand, as this block's own tables.
   */
  public List<TableOccurrence> treeTables() {
    return nested.stream().filter(Nested::tree).flatMap(n -> n.branch().tables().stream()).toList();
  }

  /**
   * The outer joins at the start of this block's FROM up to the last FULL JOIN, when that FULL
   * JOIN's left side has an outer join ({@code (a FULL JOIN b ON p) FULL JOIN c ON q}, {@code (a
   * LEFT JOIN b ON p) FULL JOIN c ON q}; longer too): in text order, that FULL JOIN last. Empty
   * when there is no such FULL JOIN (a FULL JOIN of a table or of a tree of inner joins, or none).
   * A chain's change is built from its prefixes', and its left side's tables are not the linear
   * tables a FULL JOIN of a tree has.
   */
  public List<NonLinear> outerChain() {
    List<NonLinear> joins = nonLinear.stream().filter(n -> !n.isSublink()).toList();
    Optional<NonLinear> top =
        joins.stream()
            .filter(n -> n.kind() == NonLinear.Kind.FULL_JOIN)
            .max(java.util.Comparator.comparingInt(n -> n.table().span().begin()));
    if (top.isEmpty()) {
      return List.of();
    }
    Span left = top.get().left().orElseThrow().relation();
    List<NonLinear> chain =
        new java.util.ArrayList<>(
            joins.stream().filter(n -> left.contains(n.table().span())).toList());
    if (chain.isEmpty()) {
      return List.of();
    }
    chain.add(top.get());
    chain.sort(java.util.Comparator.comparingInt(n -> n.table().span().begin()));
    return List.copyOf(chain);
  }

  /**
   * The linear tables an {@link #outerChain} starts with (its first item's, before its first outer
   * join), in text order; empty without a chain.
   */
  public List<TableOccurrence> outerChainStart() {
    List<NonLinear> chain = outerChain();
    if (chain.isEmpty()) {
      return List.of();
    }
    int first = chain.get(0).table().span().begin();
    return tables.stream().filter(t -> t.span().end() <= first).toList();
  }

  /** Every non-linear table of this block (not of blocks nested in FROM). */
  public List<TableOccurrence> nonLinearTables() {
    return nonLinear.stream().flatMap(n -> n.tables().stream()).toList();
  }

  /**
   * Every linear table occurrence, nested ones included (not those of blocks that change as a
   * whole), in text order: the order of delta terms.
   */
  public List<TableOccurrence> allTables() {
    List<TableOccurrence> all = new java.util.ArrayList<>(tables);
    nested.stream().filter(n -> !n.changesWhole()).forEach(n -> all.addAll(n.branch().allTables()));
    all.sort(java.util.Comparator.comparingInt(t -> t.span().begin()));
    return all;
  }
}
