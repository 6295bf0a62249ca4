package io.pgtrickle.operator.corpus;

import io.pgtrickle.operator.corpus.RandomSchema.Column;
import io.pgtrickle.operator.corpus.RandomSchema.Kind;
import io.pgtrickle.operator.corpus.RandomSchema.Table;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Random queries over a {@link RandomSchema} for {@link RandomQueryIT}, each of one {@link Shape}.
 * Most are of the class the differential engine maintains (filters and projections with
 * expressions, CASE, COALESCE and casts; inner joins of two or three tables, equi and non-equi,
 * self-joins; UNION ALL and UNION; DISTINCT; GROUP BY with NULL keys and the usual aggregates;
 * aggregates without GROUP BY; HAVING; a subquery in FROM or WITH, inner or LEFT joined, a WITH
 * query read twice; EXCEPT and INTERSECT; a comparison with a scalar subquery of min or max
 * correlated by equalities); the others are made with AUTO (outer joins, also of a join tree,
 * EXISTS, IN and NOT IN subqueries, EXCEPT ALL and INTERSECT ALL, window functions, LIMIT, scalar
 * subqueries), where the engine may fall back.
 *
 * <p>Every query is deterministic as a multiset, so the query itself is the oracle: numeric
 * expressions keep scale 2 (branches of other types are cast), window functions are rank or
 * aggregates over partitions, LIMIT orders by every output column. Output columns are {@code c1,
 * c2, ...}. No division, so a query fails on no data.
 */
final class RandomQueries {
  enum Shape {
    FILTER(true),
    JOIN(true),
    JOIN3(true),
    SELF_JOIN(true),
    UNION_ALL(true),
    UNION(true),
    DISTINCT(true),
    GROUP_BY(true),
    HAVING(true),
    AGGREGATE(true),
    SUBQUERY(true),
    EXCEPT_INTERSECT(true),
    EXTREME_SUBQUERY(true),
    OUTER_JOIN(false),
    OUTER_JOIN_CHAIN(false),
    EXISTS(false),
    IN_SUBQUERY(false),
    EXCEPT_INTERSECT_ALL(false),
    WINDOW(false),
    LIMIT(false),
    SCALAR_SUBQUERY(false);

    final boolean inClass;

    Shape(boolean inClass) {
      this.inClass = inClass;
    }
  }

  /** One query: its id in the run ({@code s2/q07}), its shape and its text. */
  record RandomQuery(String id, Shape shape, String sql) {
    boolean inClass() {
      return shape.inClass;
    }
  }

  /** What an expression may be mixed with. */
  private enum Cat {
    NUM,
    TEXT,
    BOOL,
    DATE
  }

  /** An expression and its type. */
  private record Ref(String sql, Kind kind) {
    Cat cat() {
      return cat(kind);
    }

    static Cat cat(Kind kind) {
      return switch (kind) {
        case INT, BIGINT, NUMERIC -> Cat.NUM;
        case TEXT -> Cat.TEXT;
        case BOOL -> Cat.BOOL;
        case DATE -> Cat.DATE;
      };
    }
  }

  /** A FROM clause and the columns it offers. */
  private record From(String sql, List<Ref> refs) {}

  /** A whole SELECT and the kinds of its output columns c1, c2, .... */
  private record Select(String sql, List<Kind> kinds) {}

  private static final Shape[] IN_CLASS = {
    Shape.FILTER,
    Shape.JOIN,
    Shape.JOIN,
    Shape.JOIN3,
    Shape.SELF_JOIN,
    Shape.UNION_ALL,
    Shape.UNION,
    Shape.DISTINCT,
    Shape.GROUP_BY,
    Shape.GROUP_BY,
    Shape.GROUP_BY,
    Shape.HAVING,
    Shape.AGGREGATE,
    Shape.SUBQUERY,
    Shape.SUBQUERY,
    Shape.EXCEPT_INTERSECT,
    Shape.EXTREME_SUBQUERY
  };

  private static final Shape[] OUTSIDE = {
    Shape.OUTER_JOIN,
    Shape.OUTER_JOIN_CHAIN,
    Shape.EXISTS,
    Shape.IN_SUBQUERY,
    Shape.EXCEPT_INTERSECT_ALL,
    Shape.WINDOW,
    Shape.LIMIT,
    Shape.SCALAR_SUBQUERY
  };

  private final RandomSchema schema;
  private final Random random;
  private int aliases;

  private RandomQueries(RandomSchema schema, Random random) {
    this.schema = schema;
    this.random = random;
  }

  /**
   * One query over {@code schema}, every choice from {@code random}; outside the class with
   * probability {@code outsideShare}.
   */
  static RandomQuery generate(RandomSchema schema, Random random, String id, double outsideShare) {
    Shape shape =
        random.nextDouble() < outsideShare
            ? OUTSIDE[random.nextInt(OUTSIDE.length)]
            : IN_CLASS[random.nextInt(IN_CLASS.length)];
    return new RandomQuery(id, shape, new RandomQueries(schema, random).query(shape));
  }

  private String query(Shape shape) {
    return switch (shape) {
      case FILTER -> block(scan(), 1 + random.nextInt(4), random.nextInt(4) != 0).sql();
      case JOIN -> block(join2(false), 1 + random.nextInt(4), random.nextBoolean()).sql();
      case JOIN3 -> block(join3(), 1 + random.nextInt(4), random.nextBoolean()).sql();
      case SELF_JOIN -> block(join2(true), 1 + random.nextInt(3), random.nextBoolean()).sql();
      case UNION_ALL -> setOperation("UNION ALL");
      case UNION -> setOperation("UNION");
      case DISTINCT -> distinct(anyFrom()).sql();
      case GROUP_BY -> group(anyFrom(), random.nextInt(3) == 0).sql();
      case HAVING -> group(anyFrom(), true).sql();
      case AGGREGATE -> ungrouped(anyFrom()).sql();
      case SUBQUERY -> subquery();
      case OUTER_JOIN -> outerJoin();
      case OUTER_JOIN_CHAIN -> outerJoinChain();
      case EXISTS -> exists();
      case IN_SUBQUERY -> inSubquery();
      case EXCEPT_INTERSECT -> setOperation(random.nextBoolean() ? "EXCEPT" : "INTERSECT");
      case EXCEPT_INTERSECT_ALL ->
          setOperation(random.nextBoolean() ? "EXCEPT ALL" : "INTERSECT ALL");
      case WINDOW -> window();
      case LIMIT -> limit();
      case SCALAR_SUBQUERY -> scalarSubquery();
      case EXTREME_SUBQUERY -> extremeSubquery();
    };
  }

  // ---- FROM clauses

  private String alias() {
    return Character.toString((char) ('a' + aliases++));
  }

  private Table table() {
    List<Table> tables = schema.tables();
    return tables.get(random.nextInt(tables.size()));
  }

  /** A table with a primary key, if the schema has one. */
  private Table keyedTable() {
    List<Table> keyed = schema.tables().stream().filter(Table::keyed).toList();
    return keyed.isEmpty() ? table() : keyed.get(random.nextInt(keyed.size()));
  }

  private From scan() {
    return scan(table());
  }

  private From scan(Table table) {
    String alias = alias();
    List<Ref> refs = new ArrayList<>();
    for (Column column : table.columns()) {
      refs.add(new Ref(alias + "." + column.name(), column.kind()));
    }
    return new From(table.name() + " " + alias, refs);
  }

  /** One table (half the time) or an inner join of two. */
  private From anyFrom() {
    return random.nextBoolean() ? scan() : join2(random.nextInt(5) == 0);
  }

  /** Two tables (the same one twice when {@code self}) joined on equality, non-equality or both. */
  private From join2(boolean self) {
    Table first = table();
    From left = scan(first);
    From right = scan(self ? first : table());
    String on;
    int kind = random.nextInt(8);
    if (kind == 0) {
      on = nonEqui(left.refs(), right.refs());
    } else {
      on = equi(left.refs(), right.refs());
      if (kind == 1) {
        on += " AND " + nonEqui(left.refs(), right.refs());
      } else if (kind == 2) {
        on += " AND " + bool(random.nextBoolean() ? left.refs() : right.refs(), 1);
      }
    }
    if (self && first.keyed() && random.nextBoolean()) {
      on += " AND " + left.refs().get(0).sql() + " <> " + right.refs().get(0).sql();
    }
    return new From(
        left.sql() + " JOIN " + right.sql() + condition(left, right, on),
        concat(left.refs(), right.refs()));
  }

  /**
   * {@code ON on}, or now and then {@code USING (c)} over a column name both sides have (the same
   * name is the same type here; integer against bigint makes PostgreSQL cast the merged column).
   */
  private String condition(From left, From right, String on) {
    List<String> shared = new ArrayList<>();
    for (Ref l : left.refs()) {
      String name = l.sql().substring(l.sql().indexOf('.') + 1);
      if (right.refs().stream().anyMatch(r -> r.sql().endsWith("." + name))) {
        shared.add(name);
      }
    }
    if (shared.isEmpty() || random.nextInt(4) != 0) {
      return " ON " + on;
    }
    return " USING (" + shared.get(random.nextInt(shared.size())) + ")";
  }

  /** Three tables, each joined to one before it on equality, sometimes with more. */
  private From join3() {
    From two = join2(false);
    From third = scan();
    String on = equi(two.refs(), third.refs());
    if (random.nextInt(4) == 0) {
      on += " AND " + nonEqui(two.refs(), third.refs());
    }
    return new From(
        two.sql() + " JOIN " + third.sql() + " ON " + on, concat(two.refs(), third.refs()));
  }

  /** {@code l = r} over two comparable columns, integral ones most often. */
  private String equi(List<Ref> left, List<Ref> right) {
    Ref[] pair = comparablePair(left, right);
    return pair[0].sql() + " = " + pair[1].sql();
  }

  private String nonEqui(List<Ref> left, List<Ref> right) {
    Ref[] pair = comparablePair(left, right);
    String l = pair[0].sql();
    String r = pair[1].sql();
    boolean numbers = pair[0].kind().isNumber() && pair[1].kind().isNumber();
    return switch (random.nextInt(numbers ? 5 : 3)) {
      case 0 -> l + " < " + r;
      case 1 -> l + " >= " + r;
      case 2 -> l + " <> " + r;
      case 3 -> l + " BETWEEN " + r + " - 1 AND " + r + " + 1";
      default -> "abs(" + l + " - " + r + ") <= 1";
    };
  }

  private Ref[] comparablePair(List<Ref> left, List<Ref> right) {
    List<Ref[]> pairs = new ArrayList<>();
    List<Ref[]> integral = new ArrayList<>();
    for (Ref l : left) {
      for (Ref r : right) {
        if (l.kind().comparesWith(r.kind()) && l.kind() != Kind.BOOL) {
          pairs.add(new Ref[] {l, r});
          if (integral(l) && integral(r)) {
            integral.add(new Ref[] {l, r});
          }
        }
      }
    }
    if (!integral.isEmpty() && (pairs.size() == integral.size() || random.nextInt(3) != 0)) {
      return integral.get(random.nextInt(integral.size()));
    }
    if (!pairs.isEmpty()) {
      return pairs.get(random.nextInt(pairs.size()));
    }
    return new Ref[] {num(left, 1), num(right, 1)};
  }

  private static boolean integral(Ref ref) {
    return ref.kind() == Kind.INT || ref.kind() == Kind.BIGINT;
  }

  // ---- SELECTs

  /** {@code SELECT e1 AS c1, ... FROM from [WHERE p]}. */
  private Select block(From from, int width, boolean where) {
    List<Ref> outputs = new ArrayList<>();
    for (int i = 0; i < width; i++) {
      outputs.add(random.nextBoolean() ? pick(from.refs()) : expr(from.refs(), anyCat(), 2));
    }
    return select("", outputs, from, where ? " WHERE " + bool(from.refs(), 2) : "");
  }

  private Select distinct(From from) {
    List<Ref> outputs = new ArrayList<>();
    int width = 1 + random.nextInt(3);
    for (int i = 0; i < width; i++) {
      outputs.add(random.nextInt(4) != 0 ? pick(from.refs()) : expr(from.refs(), anyCat(), 1));
    }
    return select(
        "DISTINCT ", outputs, from, random.nextBoolean() ? " WHERE " + bool(from.refs(), 1) : "");
  }

  /** GROUP BY one or two keys (columns mostly, NULLs among them), one to four aggregates. */
  private Select group(From from, boolean having) {
    List<Ref> keys = new ArrayList<>();
    int count = 1 + random.nextInt(2);
    for (int i = 0; i < count; i++) {
      keys.add(random.nextInt(4) != 0 ? pick(from.refs()) : expr(from.refs(), anyCat(), 1));
    }
    List<Ref> outputs = new ArrayList<>();
    for (int i = 0; i < keys.size(); i++) {
      if (i == 0 || random.nextInt(6) != 0) {
        outputs.add(keys.get(i));
      }
    }
    int aggregates = 1 + random.nextInt(4);
    for (int i = 0; i < aggregates; i++) {
      outputs.add(aggregate(from.refs()));
    }
    String tail = random.nextInt(3) == 0 ? " WHERE " + bool(from.refs(), 1) : "";
    tail += " GROUP BY " + String.join(", ", keys.stream().map(Ref::sql).toList());
    if (having) {
      tail += " HAVING " + havingCondition(from.refs());
    }
    return select("", outputs, from, tail);
  }

  /** Aggregates without GROUP BY: one row, also over no rows. */
  private Select ungrouped(From from) {
    List<Ref> outputs = new ArrayList<>();
    int count = 1 + random.nextInt(4);
    for (int i = 0; i < count; i++) {
      outputs.add(aggregate(from.refs()));
    }
    String where = random.nextBoolean() ? " WHERE " + bool(from.refs(), 1) : "";
    if (random.nextInt(4) == 0) {
      where += " HAVING " + havingCondition(from.refs());
    }
    return select("", outputs, from, where);
  }

  private Select select(String distinct, List<Ref> outputs, From from, String tail) {
    List<String> items = new ArrayList<>();
    List<Kind> kinds = new ArrayList<>();
    for (int i = 0; i < outputs.size(); i++) {
      items.add(outputs.get(i).sql() + " AS c" + (i + 1));
      kinds.add(outputs.get(i).kind());
    }
    return new Select(
        "SELECT " + distinct + String.join(", ", items) + " FROM " + from.sql() + tail, kinds);
  }

  /** Two filter or join blocks with outputs of the same types, combined by {@code operator}. */
  private String setOperation(String operator) {
    int width = 1 + random.nextInt(3);
    List<Cat> cats = new ArrayList<>();
    for (int i = 0; i < width; i++) {
      cats.add(random.nextInt(3) == 0 ? anyCat() : Cat.NUM);
    }
    List<List<Ref>> blocks = new ArrayList<>();
    List<From> froms = new ArrayList<>();
    for (int b = 0; b < 2; b++) {
      From from = random.nextInt(3) == 0 ? join2(false) : scan();
      froms.add(from);
      List<Ref> outputs = new ArrayList<>();
      for (Cat cat : cats) {
        outputs.add(expr(from.refs(), cat, random.nextInt(3) == 0 ? 1 : 0));
      }
      blocks.add(outputs);
    }
    for (int i = 0; i < width; i++) {
      Ref first = blocks.get(0).get(i);
      Ref second = blocks.get(1).get(i);
      if (first.kind() != second.kind()
          && (first.kind() == Kind.NUMERIC || second.kind() == Kind.NUMERIC)) {
        blocks.get(0).set(i, asNumeric(first));
        blocks.get(1).set(i, asNumeric(second));
      }
    }
    List<String> parts = new ArrayList<>();
    for (int b = 0; b < 2; b++) {
      From from = froms.get(b);
      parts.add(
          select(
                  "",
                  blocks.get(b),
                  from,
                  random.nextInt(3) != 0 ? " WHERE " + bool(from.refs(), 1) : "")
              .sql());
    }
    return parts.get(0) + " " + operator + " " + parts.get(1);
  }

  /**
   * A filter, join, DISTINCT or GROUP BY in FROM (or in a WITH query read once), filtered, grouped
   * or joined again.
   */
  private String subquery() {
    int inner = random.nextInt(4);
    Select select =
        switch (inner) {
          case 0 -> block(scan(), 2 + random.nextInt(3), true);
          case 1 -> block(join2(false), 2 + random.nextInt(3), random.nextBoolean());
          case 2 -> distinct(anyFrom());
          default -> group(anyFrom(), random.nextInt(4) == 0);
        };
    List<Ref> refs = new ArrayList<>();
    for (int i = 0; i < select.kinds().size(); i++) {
      refs.add(new Ref("sq.c" + (i + 1), select.kinds().get(i)));
    }
    // Half of them as a WITH query (read once, or twice below): the same rows.
    boolean with = random.nextBoolean();
    From from = new From(with ? "sq" : "(" + select.sql() + ") sq", refs);
    String prefix = with ? "WITH sq AS (" + select.sql() + ") " : "";
    int outer = random.nextInt(3);
    if (outer == 1 && inner != 3) {
      return prefix + group(from, random.nextInt(4) == 0).sql();
    }
    if (with && inner < 2 && random.nextBoolean()) {
      // The WITH query read twice, inner or LEFT joined with itself: each reading a subquery.
      List<Ref> again = new ArrayList<>();
      for (int i = 0; i < select.kinds().size(); i++) {
        again.add(new Ref("sq2.c" + (i + 1), select.kinds().get(i)));
      }
      String join = random.nextBoolean() ? " LEFT JOIN " : " JOIN ";
      From twice =
          new From(
              "sq" + join + "sq sq2 ON " + equi(refs, again) + " AND " + bool(again, 1),
              concat(refs, again));
      return prefix + block(twice, 1 + random.nextInt(4), random.nextBoolean()).sql();
    }
    if (outer == 2) {
      From other = scan();
      String on = equi(refs, other.refs());
      From joined =
          inner != 2 && random.nextBoolean()
              // A block on the nullable side of a LEFT JOIN (DISTINCT there is outside the class).
              ? new From(
                  other.sql() + " LEFT JOIN " + from.sql() + " ON " + on,
                  concat(other.refs(), refs))
              : new From(
                  from.sql() + " JOIN " + other.sql() + " ON " + on, concat(refs, other.refs()));
      return prefix + block(joined, 1 + random.nextInt(4), random.nextBoolean()).sql();
    }
    return prefix + block(from, 1 + random.nextInt(3), true).sql();
  }

  // ---- outside the class

  private String outerJoin() {
    From left = scan();
    From right = scan();
    String type = random.nextInt(4) != 0 ? "LEFT" : random.nextBoolean() ? "RIGHT" : "FULL";
    String on = equi(left.refs(), right.refs());
    if (random.nextInt(3) == 0) {
      on += " AND " + bool(right.refs(), 1);
    }
    From from =
        new From(
            left.sql() + " " + type + " JOIN " + right.sql() + condition(left, right, on),
            concat(left.refs(), right.refs()));
    if (!type.equals("FULL") && random.nextInt(4) == 0) {
      // The nullable side a join tree of two tables: a LEFT JOIN of it, or a RIGHT JOIN.
      From tree = join2(false);
      String treeOn = equi(left.refs(), tree.refs());
      from =
          type.equals("LEFT")
              ? new From(
                  left.sql() + " LEFT JOIN (" + tree.sql() + ") ON " + treeOn,
                  concat(left.refs(), tree.refs()))
              : new From(
                  "(" + tree.sql() + ") RIGHT JOIN " + left.sql() + " ON " + treeOn,
                  concat(tree.refs(), left.refs()));
    } else if (type.equals("FULL") && random.nextBoolean()) {
      // The left side a join tree of two tables: (a JOIN b ON p) FULL JOIN c ON q.
      From tree = join2(false);
      String treeOn = equi(tree.refs(), right.refs());
      if (random.nextInt(3) == 0) {
        treeOn += " AND " + bool(right.refs(), 1);
      }
      from =
          new From(
              "(" + tree.sql() + ") FULL JOIN " + right.sql() + " ON " + treeOn,
              concat(tree.refs(), right.refs()));
    } else if (type.equals("LEFT") && random.nextInt(3) == 0) {
      // A second outer join: both its table and the first's may change in one refresh.
      From third = scan();
      from =
          new From(
              from.sql() + " LEFT JOIN " + third.sql() + " ON " + equi(left.refs(), third.refs()),
              concat(from.refs(), third.refs()));
    }
    return random.nextInt(3) == 0
        ? group(from, false).sql()
        : block(from, 2 + random.nextInt(3), random.nextInt(3) == 0).sql();
  }

  /**
   * Outer joins one after another, at least one FULL JOIN among them: {@code a FULL JOIN b FULL
   * JOIN c}, {@code a LEFT JOIN b FULL JOIN c}, {@code a FULL JOIN b LEFT JOIN c}, now and then a
   * fourth table or an inner join of two first. Each step's condition reads the tables before it,
   * now and then a key merged over two of them ({@code coalesce(a.k, b.k) = c.k}).
   */
  private String outerJoinChain() {
    From from = random.nextInt(4) == 0 ? join2(false) : scan();
    int steps = random.nextInt(3) == 0 ? 3 : 2;
    boolean full = false;
    for (int i = 0; i < steps; i++) {
      From next = scan();
      boolean last = i == steps - 1;
      String type = (last && !full) || random.nextBoolean() ? "FULL" : "LEFT";
      full |= type.equals("FULL");
      Ref[] pair = comparablePair(from.refs(), next.refs());
      String key = pair[0].sql();
      String table = key.substring(0, key.indexOf('.') + 1);
      List<Ref> merged =
          from.refs().stream()
              .filter(r -> r.kind() == pair[0].kind() && !r.sql().startsWith(table))
              .toList();
      if (!merged.isEmpty() && random.nextBoolean()) {
        key = "coalesce(" + key + ", " + pick(merged).sql() + ")";
      }
      String on = key + " = " + pair[1].sql();
      if (random.nextInt(3) == 0) {
        on += " AND " + bool(next.refs(), 1);
      }
      from =
          new From(
              from.sql() + " " + type + " JOIN " + next.sql() + " ON " + on,
              concat(from.refs(), next.refs()));
    }
    return random.nextInt(3) == 0
        ? group(from, false).sql()
        : block(from, 2 + random.nextInt(3), random.nextInt(3) == 0).sql();
  }

  private String exists() {
    From outer = scan();
    // A third of the subqueries join two tables.
    From inner = random.nextInt(3) == 0 ? join2(false) : scan();
    String correlation = equi(inner.refs(), outer.refs());
    if (random.nextBoolean()) {
      correlation += " AND " + bool(inner.refs(), 1);
    }
    String where =
        (random.nextBoolean() ? "NOT " : "")
            + "EXISTS (SELECT 1 FROM "
            + inner.sql()
            + " WHERE "
            + correlation
            + ")";
    return select("", outputs(outer, 1 + random.nextInt(3)), outer, " WHERE " + where).sql();
  }

  private String inSubquery() {
    From outer = scan();
    From inner = random.nextInt(3) == 0 ? join2(false) : scan();
    Ref[] pair = comparablePair(outer.refs(), inner.refs());
    // A NULL in the subquery makes NOT IN true for no row: half the time there is none.
    List<String> conditions = new ArrayList<>();
    if (random.nextBoolean()) {
      conditions.add(pair[1].sql() + " IS NOT NULL");
    }
    if (random.nextBoolean()) {
      conditions.add(bool(inner.refs(), 1));
    }
    String sub =
        "SELECT "
            + pair[1].sql()
            + " FROM "
            + inner.sql()
            + (conditions.isEmpty() ? "" : " WHERE " + String.join(" AND ", conditions));
    String where = pair[0].sql() + (random.nextInt(3) != 0 ? " NOT IN (" : " IN (") + sub + ")";
    return select("", outputs(outer, 1 + random.nextInt(3)), outer, " WHERE " + where).sql();
  }

  /** Window functions whose results do not depend on the order of peers. */
  private String window() {
    From from = anyFrom();
    List<Ref> outputs = outputs(from, 1 + random.nextInt(2));
    int count = 1 + random.nextInt(2);
    for (int i = 0; i < count; i++) {
      String partition = "PARTITION BY " + pick(from.refs()).sql();
      Ref order = orderable(from.refs());
      outputs.add(
          switch (random.nextInt(5)) {
            case 0 ->
                new Ref(
                    "rank() OVER (" + partition + " ORDER BY " + order.sql() + ")", Kind.BIGINT);
            case 1 -> new Ref("dense_rank() OVER (ORDER BY " + order.sql() + ")", Kind.BIGINT);
            case 2 -> new Ref("count(*) OVER (" + partition + ")", Kind.BIGINT);
            case 3 -> {
              Ref n = num(from.refs(), 0);
              yield new Ref(
                  "sum(" + n.sql() + ") OVER (" + partition + " ORDER BY " + order.sql() + ")",
                  n.kind() == Kind.INT ? Kind.BIGINT : Kind.NUMERIC);
            }
            default -> new Ref("max(" + order.sql() + ") OVER (" + partition + ")", order.kind());
          });
    }
    return select("", outputs, from, random.nextBoolean() ? " WHERE " + bool(from.refs(), 1) : "")
        .sql();
  }

  /** The first rows in the order of every output column: the same rows whatever the plan. */
  private String limit() {
    From from = anyFrom();
    List<Ref> outputs = outputs(from, 1 + random.nextInt(3));
    List<String> positions = new ArrayList<>();
    for (int i = 1; i <= outputs.size(); i++) {
      positions.add(Integer.toString(i));
    }
    String where = random.nextBoolean() ? " WHERE " + bool(from.refs(), 1) : "";
    return select(
            "",
            outputs,
            from,
            where
                + " ORDER BY "
                + String.join(", ", positions)
                + " LIMIT "
                + (1 + random.nextInt(6)))
        .sql();
  }

  private String scalarSubquery() {
    From outer = scan();
    From inner = scan();
    Ref[] pair = comparablePair(inner.refs(), outer.refs());
    Ref aggregate = aggregate(inner.refs());
    List<Ref> outputs = outputs(outer, 1 + random.nextInt(2));
    String subquery =
        "(SELECT "
            + aggregate.sql()
            + " FROM "
            + inner.sql()
            + " WHERE "
            + pair[0].sql()
            + " = "
            + pair[1].sql()
            + ")";
    boolean numeric =
        aggregate.kind() == Kind.INT
            || aggregate.kind() == Kind.BIGINT
            || aggregate.kind() == Kind.NUMERIC;
    if (numeric && random.nextBoolean()) {
      // In WHERE, compared with the outer row (NULL when no row matches: the row is then out).
      String compare = List.of(" > ", " <= ", " = ", " <> ").get(random.nextInt(4));
      return select("", outputs, outer, " WHERE " + num(outer.refs(), 1).sql() + compare + subquery)
          .sql();
    }
    outputs.add(new Ref(subquery, aggregate.kind()));
    return select("", outputs, outer, "").sql();
  }

  /**
   * {@code x OP (SELECT min/max(...) FROM ... WHERE inner = outer [AND ...])} as a condition of the
   * WHERE (the subquery on either side), which the engine joins as a grouped block: over one table
   * or a join, one or two correlations, a filter inside, arithmetic around the aggregate.
   */
  private String extremeSubquery() {
    From outer = random.nextInt(3) == 0 ? join2(false) : scan();
    // Mostly a keyed table inside: a grouped block whose changed table has no key runs FULL.
    From inner = random.nextInt(3) == 0 ? join2(false) : scan(keyedTable());
    List<String> conditions = new ArrayList<>();
    int correlations = random.nextInt(4) == 0 ? 2 : 1;
    for (int i = 0; i < correlations; i++) {
      Ref[] pair = comparablePair(inner.refs(), outer.refs());
      conditions.add(
          random.nextBoolean()
              ? pair[0].sql() + " = " + pair[1].sql()
              : pair[1].sql() + " = " + pair[0].sql());
    }
    if (random.nextBoolean()) {
      conditions.add(bool(inner.refs(), 1));
    }
    Ref[] compared = comparablePair(inner.refs(), outer.refs());
    String item = (random.nextBoolean() ? "max(" : "min(") + compared[0].sql() + ")";
    if (Ref.cat(compared[0].kind()) == Cat.NUM && random.nextInt(3) == 0) {
      item = random.nextBoolean() ? item + " - 1" : "2 * " + item;
    }
    String subquery =
        "(SELECT "
            + item
            + " FROM "
            + inner.sql()
            + " WHERE "
            + String.join(" AND ", conditions)
            + ")";
    String operator =
        List.of(" = ", " = ", " <> ", " < ", " <= ", " > ", " >= ").get(random.nextInt(7));
    String where =
        random.nextBoolean()
            ? compared[1].sql() + operator + subquery
            : subquery + operator + compared[1].sql();
    if (random.nextBoolean()) {
      where = "(" + bool(outer.refs(), 1) + ") AND " + where;
    }
    return select("", outputs(outer, 1 + random.nextInt(3)), outer, " WHERE " + where).sql();
  }

  private List<Ref> outputs(From from, int width) {
    List<Ref> outputs = new ArrayList<>();
    for (int i = 0; i < width; i++) {
      outputs.add(random.nextInt(3) != 0 ? pick(from.refs()) : expr(from.refs(), anyCat(), 1));
    }
    return outputs;
  }

  // ---- aggregates

  private Ref aggregate(List<Ref> refs) {
    switch (random.nextInt(11)) {
      case 0, 1 -> {
        return new Ref("count(*)", Kind.BIGINT);
      }
      case 2 -> {
        return new Ref("count(" + argument(refs).sql() + ")", Kind.BIGINT);
      }
      case 3 -> {
        return new Ref("count(DISTINCT " + argument(refs).sql() + ")", Kind.BIGINT);
      }
      case 4, 5 -> {
        Ref n = random.nextInt(3) != 0 ? num(refs, 0) : num(refs, 1);
        return new Ref("sum(" + n.sql() + ")", n.kind() == Kind.INT ? Kind.BIGINT : Kind.NUMERIC);
      }
      case 6 -> {
        return new Ref(
            "avg(" + num(refs, random.nextInt(3) == 0 ? 1 : 0).sql() + ")", Kind.NUMERIC);
      }
      case 7, 8 -> {
        Ref x = orderable(refs);
        return new Ref((random.nextBoolean() ? "min(" : "max(") + x.sql() + ")", x.kind());
      }
      default -> {
        return new Ref(
            (random.nextBoolean() ? "bool_and(" : "bool_or(") + bool(refs, 1) + ")", Kind.BOOL);
      }
    }
  }

  private Ref argument(List<Ref> refs) {
    return random.nextInt(4) != 0 ? pick(refs) : expr(refs, anyCat(), 1);
  }

  /** A column or expression with an order ({@code min}, {@code max}, {@code ORDER BY}). */
  private Ref orderable(List<Ref> refs) {
    List<Ref> candidates = refs.stream().filter(r -> r.kind() != Kind.BOOL).toList();
    if (candidates.isEmpty() || random.nextInt(5) == 0) {
      Cat[] cats = {Cat.NUM, Cat.TEXT, Cat.DATE};
      return expr(refs, cats[random.nextInt(cats.length)], 1);
    }
    return candidates.get(random.nextInt(candidates.size()));
  }

  private String havingCondition(List<Ref> refs) {
    Ref aggregate = aggregate(refs);
    return switch (aggregate.cat()) {
      case BOOL -> aggregate.sql();
      case NUM -> aggregate.sql() + (random.nextBoolean() ? " > " : " <= ") + random.nextInt(4);
      default -> aggregate.sql() + " IS NOT NULL";
    };
  }

  // ---- expressions

  private Cat anyCat() {
    int n = random.nextInt(10);
    return n < 5 ? Cat.NUM : n < 7 ? Cat.TEXT : n < 9 ? Cat.BOOL : Cat.DATE;
  }

  private Ref pick(List<Ref> refs) {
    return refs.get(random.nextInt(refs.size()));
  }

  private Ref column(List<Ref> refs, Cat cat) {
    List<Ref> candidates = refs.stream().filter(r -> r.cat() == cat).toList();
    return candidates.isEmpty() ? null : candidates.get(random.nextInt(candidates.size()));
  }

  private Ref expr(List<Ref> refs, Cat cat, int depth) {
    return switch (cat) {
      case NUM -> num(refs, depth);
      case TEXT -> text(refs, depth);
      case BOOL -> new Ref(bool(refs, depth), Kind.BOOL);
      case DATE -> date(refs, depth);
    };
  }

  private Ref num(List<Ref> refs, int depth) {
    Ref c = column(refs, Cat.NUM);
    if (c != null && (depth <= 0 || random.nextInt(3) == 0)) {
      return c;
    }
    int choice = c == null ? 6 + random.nextInt(3) : random.nextInt(12);
    int down = Math.max(0, depth - 1);
    return switch (choice) {
      case 0 -> new Ref("(" + c.sql() + " + " + (1 + random.nextInt(3)) + ")", c.kind());
      case 1 -> new Ref("(" + c.sql() + " * 2)", c.kind());
      case 2 -> new Ref("abs(" + c.sql() + ")", c.kind());
      case 3 -> new Ref("(" + c.sql() + " % 3)", c.kind());
      case 4 -> new Ref("COALESCE(" + c.sql() + ", " + literal(c.kind()) + ")", c.kind());
      case 5 -> {
        Ref then = num(refs, down);
        Ref otherwise = random.nextInt(3) == 0 ? null : num(refs, down);
        if (otherwise == null) {
          yield new Ref(
              "CASE WHEN " + bool(refs, down) + " THEN " + then.sql() + " END", then.kind());
        }
        Ref[] same = unify(then, otherwise);
        yield new Ref(
            "CASE WHEN "
                + bool(refs, down)
                + " THEN "
                + same[0].sql()
                + " ELSE "
                + same[1].sql()
                + " END",
            same[0].kind());
      }
      case 6 -> new Ref("length(" + text(refs, down).sql() + ")", Kind.INT);
      case 7 -> new Ref("CASE WHEN " + bool(refs, down) + " THEN 1 ELSE 0 END", Kind.INT);
      case 8 -> new Ref("(" + date(refs, down).sql() + " - DATE '2024-01-01')", Kind.INT);
      case 9 -> {
        Ref other = num(refs, down);
        Ref[] same = unify(c, other);
        yield new Ref(
            (random.nextBoolean() ? "GREATEST(" : "LEAST(")
                + same[0].sql()
                + ", "
                + same[1].sql()
                + ")",
            same[0].kind());
      }
      case 10 -> {
        Ref other = num(refs, 0);
        Ref[] same = unify(c, other);
        yield new Ref("(" + same[0].sql() + " + " + same[1].sql() + ")", same[0].kind());
      }
      default ->
          switch (c.kind()) {
            case INT -> new Ref(c.sql() + "::bigint", Kind.BIGINT);
            case BIGINT -> asNumeric(c);
            default -> new Ref(c.sql() + "::integer", Kind.INT);
          };
    };
  }

  /** Two numbers of one type: an integer side is cast to numeric(8,2) to meet a numeric one. */
  private static Ref[] unify(Ref a, Ref b) {
    if (a.kind() == b.kind()) {
      return new Ref[] {a, b};
    }
    if (a.kind() == Kind.NUMERIC || b.kind() == Kind.NUMERIC) {
      return new Ref[] {asNumeric(a), asNumeric(b)};
    }
    return new Ref[] {
      new Ref(a.sql() + "::bigint", Kind.BIGINT), new Ref(b.sql() + "::bigint", Kind.BIGINT)
    };
  }

  private static Ref asNumeric(Ref ref) {
    return new Ref("(" + ref.sql() + ")::numeric(8,2)", Kind.NUMERIC);
  }

  private Ref text(List<Ref> refs, int depth) {
    Ref c = column(refs, Cat.TEXT);
    if (c != null && (depth <= 0 || random.nextInt(3) == 0)) {
      return c;
    }
    int down = Math.max(0, depth - 1);
    int choice = c == null ? 5 + random.nextInt(4) : random.nextInt(9);
    return switch (choice) {
      case 0 -> new Ref("upper(" + c.sql() + ")", Kind.TEXT);
      case 1 -> new Ref("substr(" + c.sql() + ", 1, 1)", Kind.TEXT);
      case 2 -> new Ref("COALESCE(" + c.sql() + ", 'none')", Kind.TEXT);
      case 3 -> new Ref("(" + c.sql() + " || '-' || " + num(refs, 0).sql() + "::text)", Kind.TEXT);
      case 4 ->
          new Ref(
              "CASE WHEN " + bool(refs, down) + " THEN " + c.sql() + " ELSE 'other' END",
              Kind.TEXT);
      case 5 -> new Ref(num(refs, down).sql() + "::text", Kind.TEXT);
      case 6 -> new Ref(date(refs, 0).sql() + "::text", Kind.TEXT);
      case 7 -> new Ref("(" + bool(refs, down) + ")::text", Kind.TEXT);
      default -> new Ref("CASE WHEN " + bool(refs, down) + " THEN 'yes' ELSE 'no' END", Kind.TEXT);
    };
  }

  private Ref date(List<Ref> refs, int depth) {
    Ref c = column(refs, Cat.DATE);
    if (c != null && (depth <= 0 || random.nextInt(3) == 0)) {
      return c;
    }
    int choice = c == null ? 4 : random.nextInt(5);
    return switch (choice) {
      case 0 -> new Ref("(" + c.sql() + " + " + integer(refs) + ")", Kind.DATE);
      case 1 -> new Ref("COALESCE(" + c.sql() + ", DATE '2024-01-03')", Kind.DATE);
      case 2 -> new Ref("GREATEST(" + c.sql() + ", DATE '2024-01-02')", Kind.DATE);
      case 3 -> new Ref("(" + c.sql() + " - 1)", Kind.DATE);
      default -> new Ref("(DATE '2024-01-01' + " + integer(refs) + ")", Kind.DATE);
    };
  }

  /** An integer expression (date arithmetic takes integer only). */
  private String integer(List<Ref> refs) {
    List<Ref> ints = refs.stream().filter(r -> r.kind() == Kind.INT).toList();
    if (!ints.isEmpty() && random.nextInt(3) != 0) {
      return ints.get(random.nextInt(ints.size())).sql();
    }
    return Integer.toString(random.nextInt(4));
  }

  private String bool(List<Ref> refs, int depth) {
    int choice = random.nextInt(depth <= 0 ? 6 : 10);
    switch (choice) {
      case 0 -> {
        Ref b = column(refs, Cat.BOOL);
        if (b != null) {
          return random.nextInt(3) == 0 ? "COALESCE(" + b.sql() + ", false)" : b.sql();
        }
        return compare(refs);
      }
      case 1 -> {
        return pick(refs).sql() + (random.nextInt(3) == 0 ? " IS NULL" : " IS NOT NULL");
      }
      case 2 -> {
        Ref c = orderable(refs);
        return c.sql() + " IN (" + literal(c.kind()) + ", " + literal(c.kind()) + ")";
      }
      case 3 -> {
        Ref c = pick(refs);
        return c.sql() + " IS DISTINCT FROM " + literal(c.kind());
      }
      case 6 -> {
        return "NOT (" + bool(refs, depth - 1) + ")";
      }
      case 7 -> {
        return "(" + bool(refs, depth - 1) + " AND " + bool(refs, depth - 1) + ")";
      }
      case 8, 9 -> {
        return "(" + bool(refs, depth - 1) + " OR " + bool(refs, depth - 1) + ")";
      }
      default -> {
        return compare(refs);
      }
    }
  }

  private String compare(List<Ref> refs) {
    Ref c = orderable(refs);
    String[] operators = {" = ", " <> ", " < ", " <= ", " > ", " >= "};
    if (c.kind().isNumber() && random.nextInt(4) == 0) {
      int low = random.nextInt(3);
      return c.sql() + " BETWEEN " + low + " AND " + (low + 1 + random.nextInt(2));
    }
    if (c.kind() == Kind.TEXT && random.nextInt(4) == 0) {
      return c.sql() + " LIKE '" + (random.nextBoolean() ? "a" : "b") + "%'";
    }
    return c.sql() + operators[random.nextInt(operators.length)] + literal(c.kind());
  }

  private String literal(Kind kind) {
    return RandomSchema.literal(kind, random);
  }

  private static List<Ref> concat(List<Ref> a, List<Ref> b) {
    List<Ref> all = new ArrayList<>(a);
    all.addAll(b);
    return all;
  }
}
