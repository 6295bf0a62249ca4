package io.pgtrickle.operator.differential;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgtrickle.operator.differential.model.Aggregate;
import io.pgtrickle.operator.differential.model.Branch;
import io.pgtrickle.operator.differential.model.DatabaseFacts;
import io.pgtrickle.operator.differential.model.Grouping;
import io.pgtrickle.operator.differential.model.NotDifferentialException;
import io.pgtrickle.operator.differential.model.QueryModel;
import io.pgtrickle.operator.differential.model.QueryModeler;
import io.pgtrickle.operator.differential.model.TableOccurrence;
import io.pgtrickle.operator.differential.plan.Layout;
import io.pgtrickle.operator.naming.StableName;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The model read from texts as pg_get_viewdef prints them (search_path = pg_catalog). */
class QueryModelerTest {
  private static final StableName CUSTOMERS = new StableName("00000000000000c1");
  private static final StableName ORDERS = new StableName("00000000000000a1");
  private static final Map<List<String>, StableName> SOURCES =
      Map.of(List.of("public", "customers"), CUSTOMERS, List.of("public", "orders"), ORDERS);

  private static QueryModel model(String text) throws NotDifferentialException {
    return QueryModeler.model(text, SOURCES, name -> name.equals("my_agg"));
  }

  /** Facts of a database where every argument has {@code type} and no function returns a set. */
  private static DatabaseFacts typed(String type) {
    return new DatabaseFacts() {
      @Override
      public java.util.Optional<String> typeOf(String query) {
        return java.util.Optional.of(type);
      }

      @Override
      public boolean returnsSet(String function) {
        return false;
      }
    };
  }

  /** Facts of a database with customers (id, region) and orders (id, customer_id, region). */
  private static DatabaseFacts withColumns(boolean rewrittenRuns) {
    return new DatabaseFacts() {
      @Override
      public java.util.Optional<String> typeOf(String query) {
        return rewrittenRuns ? java.util.Optional.of("int4") : java.util.Optional.empty();
      }

      @Override
      public boolean returnsSet(String function) {
        return false;
      }

      @Override
      public java.util.Optional<List<String>> columnsOf(String table) {
        return switch (table) {
          case "public.customers" -> java.util.Optional.of(List.of("id", "region"));
          case "public.orders" -> java.util.Optional.of(List.of("id", "customer_id", "region"));
          default -> java.util.Optional.empty();
        };
      }
    };
  }

  @Test
  void usingJoinsAreReadAsTheirOnConditionsWhereTheirColumnsTraceToOneTable() throws Exception {
    String chain =
        " SELECT o.id,\n    c.region\n   FROM ((public.orders o\n     JOIN public.customers c"
            + " USING (id))\n     LEFT JOIN public.customers c2 USING (id))";
    QueryModel model = QueryModeler.model(chain, SOURCES, name -> false, withColumns(true));
    // The merged id of the first join is o's: the second join's condition names it so.
    assertThat(model.text())
        .contains("JOIN public.customers c ON (o.id = c.id))")
        .contains("LEFT JOIN public.customers c2 ON (o.id = c2.id))");
    assertThat(model.branches().get(0).nonLinear()).hasSize(1);

    // region is in both orders and customers: a USING over it after both cannot be traced.
    String ambiguous =
        " SELECT o.id\n   FROM ((public.orders o\n     JOIN public.customers c ON ((c.id ="
            + " o.customer_id)))\n     LEFT JOIN public.customers c2 USING (region))";
    assertThatThrownBy(
            () -> QueryModeler.model(ambiguous, SOURCES, name -> false, withColumns(true)))
        .hasMessageContaining("LEFT JOIN ... USING");
    // PostgreSQL refuses the rewritten text (a merged column it printed unqualified): as written.
    assertThatThrownBy(() -> QueryModeler.model(chain, SOURCES, name -> false, withColumns(false)))
        .hasMessageContaining("LEFT JOIN ... USING");
  }

  @Test
  void sublinksWhoseRowCountIsNotTheirTablesAreFrozen() throws Exception {
    DatabaseFacts facts =
        new DatabaseFacts() {
          @Override
          public java.util.Optional<String> typeOf(String query) {
            return java.util.Optional.of("numeric");
          }

          @Override
          public boolean returnsSet(String function) {
            return function.equals("unnest");
          }
        };
    // A set-returning select list: EXISTS depends on the rows it makes, not the table's.
    QueryModel setReturning =
        QueryModeler.model(
            " SELECT o.id\n   FROM public.orders o\n  WHERE (EXISTS ( SELECT unnest(c.tags) AS"
                + " unnest\n           FROM public.customers c\n          WHERE (c.id ="
                + " o.customer_id)))",
            SOURCES,
            name -> false,
            facts);
    assertThat(setReturning.branches().get(0).nonLinear()).isEmpty();
    assertThat(setReturning.frozen()).containsExactly(CUSTOMERS);
    // IN over groups whose HAVING names the key outside an aggregate; and one that does not.
    String grouped =
        " SELECT o.id\n   FROM public.orders o\n  WHERE (o.customer_id IN ( SELECT c.id\n"
            + "           FROM public.customers c\n          GROUP BY c.id\n         HAVING %s))";
    QueryModel bare =
        QueryModeler.model(
            String.format(grouped, "((c.id > 3) AND (sum(c.score) > (5)::numeric))"),
            SOURCES,
            name -> false,
            facts);
    assertThat(bare.branches().get(0).nonLinear()).isEmpty();
    QueryModel inside =
        QueryModeler.model(
            String.format(grouped, "(sum(c.score) > (5)::numeric)"), SOURCES, name -> false, facts);
    assertThat(inside.branches().get(0).nonLinear())
        .extracting(Branch.NonLinear::kind)
        .containsExactly(Branch.NonLinear.Kind.GROUPED_IN);
    assertThat(inside.slice(inside.branches().get(0).nonLinear().get(0).having().orElseThrow()))
        .isEqualTo("(sum(c.score) > (5)::numeric)");
  }

  @Test
  void inAndScalarSublinksOverOneTableAreNonLinearWhenTheirSumsAreExact() throws Exception {
    String text =
        " SELECT o.id,\n    o.amount\n   FROM public.orders o\n  WHERE ((o.amount > ( SELECT"
            + " avg(o2.amount) AS avg\n           FROM public.orders o2\n          WHERE"
            + " (o2.customer_id = o.customer_id))) AND (o.customer_id IN ( SELECT c.id\n"
            + "           FROM public.customers c\n          WHERE c.vip)))";
    QueryModel exact = QueryModeler.model(text, SOURCES, name -> false, typed("numeric"));
    List<Branch.NonLinear> sublinks = exact.branches().get(0).nonLinear();
    assertThat(sublinks)
        .extracting(Branch.NonLinear::kind)
        .containsExactly(Branch.NonLinear.Kind.SCALAR, Branch.NonLinear.Kind.IN);
    assertThat(exact.slice(sublinks.get(0).sublink().orElseThrow()))
        .startsWith("( SELECT avg(o2.amount)")
        .endsWith("o.customer_id))");
    assertThat(sublinks.get(0).aggregates())
        .extracting(a -> exact.slice(a.argument().orElseThrow()))
        .containsExactly("o2.amount");
    assertThat(exact.slice(sublinks.get(1).operand().orElseThrow())).isEqualTo("o.customer_id");
    assertThat(exact.frozen()).isEmpty();

    QueryModel floats = QueryModeler.model(text, SOURCES, name -> false, typed("float8"));
    assertThat(floats.branches().get(0).nonLinear())
        .extracting(Branch.NonLinear::kind)
        .containsExactly(Branch.NonLinear.Kind.IN);
    assertThat(floats.frozen()).containsExactly(ORDERS);

    // An EXISTS over two tables is one sublink reading both (its change summed over them).
    QueryModel twoTables =
        model(
            " SELECT o.id\n   FROM public.orders o\n  WHERE (EXISTS ( SELECT 1\n           FROM"
                + " public.customers c, public.orders x\n          WHERE (c.id = o.customer_id)))");
    List<Branch.NonLinear> overTwo = twoTables.branches().get(0).nonLinear();
    assertThat(overTwo)
        .extracting(Branch.NonLinear::kind)
        .containsExactly(Branch.NonLinear.Kind.EXISTS);
    assertThat(overTwo.get(0).tables().stream().map(t -> t.source()).toList())
        .containsExactly(CUSTOMERS, ORDERS);
    assertThat(twoTables.frozen()).isEmpty();

    // One over an outer join is not modelled: its tables are frozen instead.
    QueryModel outer =
        model(
            " SELECT o.id\n   FROM public.orders o\n  WHERE (EXISTS ( SELECT 1\n           FROM"
                + " (public.customers c\n             LEFT JOIN public.orders x ON ((x.id = c.id)))"
                + "\n          WHERE (c.id = o.customer_id)))");
    assertThat(outer.branches().get(0).nonLinear()).isEmpty();
    assertThat(outer.frozen()).containsExactlyInAnyOrder(CUSTOMERS, ORDERS);
  }

  @Test
  void aGroupedJoinHasItsOccurrencesKeysAndAggregatesAsSlicesOfTheText() throws Exception {
    QueryModel model =
        model(
            " SELECT c.region,\n    count(o.id) AS orders,\n    sum(o.amount) AS revenue\n"
                + "   FROM (public.customers c\n     JOIN public.orders o ON ((o.customer_id ="
                + " c.id)))\n  GROUP BY c.region");
    List<TableOccurrence> tables = model.allTables();
    assertThat(tables).extracting(TableOccurrence::source).containsExactly(CUSTOMERS, ORDERS);
    assertThat(tables)
        .extracting(t -> model.slice(t.span()))
        .containsExactly("public.customers c", "public.orders o");
    assertThat(tables).extracting(TableOccurrence::refName).containsExactly("c", "o");
    Grouping grouping = model.grouping();
    assertThat(grouping.kind()).isEqualTo(Grouping.Kind.GROUP_BY);
    assertThat(grouping.keys()).extracting(model::slice).containsExactly("c.region");
    assertThat(grouping.aggregates())
        .extracting(Aggregate::kind)
        .containsExactly(Aggregate.Kind.COUNT, Aggregate.Kind.SUM);
    assertThat(grouping.aggregates())
        .extracting(a -> model.slice(a.argument().orElseThrow()))
        .containsExactly("o.id", "o.amount");
    assertThat(model.slice(model.branches().get(0).core()))
        .startsWith("\n   FROM (public.customers c")
        .endsWith("c.id)))");
    assertThat(Layout.of(model)).isEqualTo(Layout.GROUPS_ALGEBRAIC);
  }

  @Test
  void aTableWithoutAliasIsReferredToByItsName() throws Exception {
    QueryModel model =
        model(" SELECT orders.id\n   FROM public.orders\n  WHERE (orders.amount > (10)::numeric)");
    assertThat(model.allTables()).extracting(TableOccurrence::refName).containsExactly("orders");
    assertThat(model.branches().get(0).where()).isPresent();
    assertThat(Layout.of(model)).isEqualTo(Layout.BAG);
  }

  @Test
  void aGroupKeyInsideAnItemIsFoundButNotInsideALiteral() throws Exception {
    QueryModel model =
        model(
            " SELECT upper(c.region) AS u,\n    (count(*) * 2) AS n,"
                + " (upper(c.region) || 'upper(c.region)'::text) AS t\n"
                + "   FROM public.customers c\n  GROUP BY (upper(c.region))");
    Grouping grouping = model.grouping();
    assertThat(grouping.items().get(0).parts()).hasSize(1);
    assertThat(grouping.items().get(2).parts()).hasSize(1);
    assertThat(grouping.aggregates())
        .extracting(Aggregate::kind)
        .containsExactly(Aggregate.Kind.COUNT_STAR);
  }

  @Test
  void havingOrAnAggregateWithoutStateRecomputesGroups() throws Exception {
    assertThat(
            Layout.of(
                model(
                    " SELECT o.customer_id, count(DISTINCT o.amount) AS d\n"
                        + "   FROM public.orders o\n  GROUP BY o.customer_id")))
        .isEqualTo(Layout.GROUPS_RECOMPUTED);
    assertThat(
            Layout.of(
                model(
                    " SELECT o.customer_id, my_agg(o.amount) AS d\n"
                        + "   FROM public.orders o\n  GROUP BY o.customer_id")))
        .isEqualTo(Layout.GROUPS_RECOMPUTED);
    assertThat(
            Layout.of(
                model(
                    " SELECT o.customer_id, sum(o.amount) AS s\n   FROM public.orders o\n"
                        + "  GROUP BY o.customer_id\n HAVING (count(*) > 2)")))
        .isEqualTo(Layout.GROUPS_RECOMPUTED);
  }

  static Stream<Arguments> outsideTheClass() {
    return Stream.of(
            new String[] {
              " SELECT o.id\n   FROM (public.orders o\n     FULL JOIN (public.customers c\n"
                  + "     JOIN public.orders x ON ((x.id = c.id))) ON ((c.id = o.customer_id)))"
                  + "|FULL JOIN whose right side is not one table",
              " SELECT o.id\n   FROM (public.customers c\n     JOIN (public.orders o\n"
                  + "     FULL JOIN public.orders x ON ((x.id = o.id))) ON ((c.id = o.customer_id)))"
                  + "|FULL outer join other than of the first item of FROM",
              " SELECT o.id\n   FROM public.orders o\n  WHERE (o.customer_id IN ( SELECT v.id\n"
                  + "           FROM public.vips v))|not a captured table",
              " SELECT o.id,\n    row_number() OVER (ORDER BY o.id) AS rn\n   FROM public.orders o|window",
              " SELECT o.id\n   FROM public.orders o\n LIMIT 5|LIMIT",
              " SELECT o.id\n   FROM public.orders o\nEXCEPT ALL\n SELECT c.id\n   FROM public.customers c|EXCEPT ALL",
              " SELECT v.id\n   FROM public.some_view v|not a captured table",
              " SELECT c.id,\n    c.region,\n    count(*) AS n\n   FROM public.customers c\n"
                  + "  GROUP BY c.id|neither grouped nor inside an aggregate",
              " SELECT to_jsonb(o.*) AS j\n   FROM public.orders o|whole-row"
            })
        .map(
            t -> {
              int bar = t.lastIndexOf('|');
              return Arguments.of(t.substring(0, bar), t.substring(bar + 1));
            });
  }

  @ParameterizedTest
  @MethodSource("outsideTheClass")
  void constructsOutsideTheClassAreNamed(String text, String construct) {
    assertThatThrownBy(() -> model(text))
        .isInstanceOf(NotDifferentialException.class)
        .hasMessageContaining(construct);
  }

  @Test
  void anOperatorArgumentAfterDistinctIsFoundInTheCallsParentheses() throws Exception {
    QueryModel model =
        model(
            """
             SELECT o.customer_id,
                count(DISTINCT (o.id % 10)) AS d,
                sum((o.amount * (2)::numeric)) AS s
               FROM public.orders o
              GROUP BY o.customer_id""");
    assertThat(model.grouping().aggregates())
        .extracting(a -> model.slice(a.argument().orElseThrow()))
        .containsExactly("(o.id % 10)", "(o.amount * (2)::numeric)");
  }

  @Test
  void leftJoinAndExistsTablesAreNonLinearWithTheirConditions() throws Exception {
    QueryModel model =
        model(
            """
             SELECT o.id,
                c.region
               FROM (public.orders o
                 LEFT JOIN public.customers c ON ((c.id = o.customer_id)))
              WHERE (NOT (EXISTS ( SELECT 1
                       FROM public.orders o2
                      WHERE ((o2.customer_id = o.customer_id) AND (o2.id <> o.id)))))""");
    var branch = model.branches().get(0);
    assertThat(branch.allTables())
        .extracting(t -> model.slice(t.span()))
        .containsExactly("public.orders o");
    assertThat(branch.nonLinear()).hasSize(2);
    assertThat(model.slice(branch.nonLinear().get(0).condition().orElseThrow()))
        .isEqualTo("((c.id = o.customer_id))");
    assertThat(model.slice(branch.nonLinear().get(1).sublink().orElseThrow()))
        .startsWith("EXISTS ( SELECT 1")
        .endsWith("(o2.id <> o.id)))");
    assertThat(model.everyTable()).hasSize(3);
  }

  @Test
  void aJoinTreeOnTheNullableSideOfAnOuterJoinIsABlockThatChangesAsAWhole() throws Exception {
    // As pg_get_viewdef prints a LEFT JOIN (b JOIN c ON p) ON q, and a RIGHT JOIN of a join tree.
    for (String text :
        List.of(
            """
             SELECT c.id,
                o.amount,
                o2.id AS o2id
               FROM (public.customers c
                 LEFT JOIN (public.orders o
                 JOIN public.orders o2 ON ((o2.customer_id = o.customer_id))) ON ((o.customer_id = c.id)))
              WHERE (c.id > 3)""",
            """
             SELECT c.id,
                o.amount,
                o2.id AS o2id
               FROM ((public.orders o
                 JOIN public.orders o2 ON ((o2.customer_id = o.customer_id)))
                 RIGHT JOIN public.customers c ON ((o.customer_id = c.id)))
              WHERE (c.id > 3)""")) {
      QueryModel model = model(text);
      Branch branch = model.branches().get(0);
      assertThat(branch.allTables())
          .extracting(t -> model.slice(t.span()))
          .containsExactly("public.customers c");
      assertThat(branch.nonLinear()).isEmpty();
      Branch.Nested tree = branch.wholeBlocks().get(0);
      assertThat(branch.wholeBlocks()).hasSize(1);
      assertThat(tree.tree()).isTrue();
      assertThat(model.slice(tree.select()))
          .startsWith("(public.orders o")
          .endsWith("JOIN public.orders o2 ON ((o2.customer_id = o.customer_id)))");
      assertThat(tree.branch().tables())
          .extracting(TableOccurrence::refName)
          .containsExactly("o", "o2");
      assertThat(model.slice(tree.nullableOn().orElseThrow()))
          .isEqualTo("((o.customer_id = c.id))");
      assertThat(branch.treeTables()).hasSize(2);
      assertThat(model.everyTable()).hasSize(3);
    }
  }

  static Stream<Arguments> joinTreesOutsideTheClass() {
    return Stream.of(
        Arguments.of(
            " SELECT c.id\n   FROM (public.customers c\n     LEFT JOIN (public.orders o\n"
                + "     LEFT JOIN public.orders o2 ON ((o2.id = o.id))) ON ((o.customer_id ="
                + " c.id)))",
            "an outer join inside the join tree of an outer join"),
        Arguments.of(
            " SELECT c.id\n   FROM (public.customers c\n     LEFT JOIN (public.orders o\n"
                + "     JOIN ( SELECT o3.id\n           FROM public.orders o3) o2 ON ((o2.id ="
                + " o.id))) ON ((o.customer_id = c.id)))",
            "join tree that reads a subquery"),
        Arguments.of(
            " SELECT t.id\n   FROM ( SELECT c.id\n           FROM (public.customers c\n"
                + "             LEFT JOIN (public.orders o\n             JOIN public.orders o2"
                + " ON ((o2.id = o.id))) ON ((o.customer_id = c.id)))) t",
            "an outer join inside a subquery"),
        Arguments.of(
            """
             SELECT c.id
               FROM ((public.customers c
                 LEFT JOIN (public.orders o
                 JOIN public.orders o2 ON ((o2.id = o.id))) ON ((o.customer_id = c.id)))
                 FULL JOIN public.orders o4 ON ((o4.id = c.id)))""",
            "a FULL JOIN whose left side has an outer join of a subquery, WITH query or join tree"),
        Arguments.of(
            """
             SELECT c.id
               FROM ((public.customers c
                 JOIN ( SELECT o3.id
                       FROM public.orders o3) o2 ON ((o2.id = c.id)))
                 FULL JOIN public.orders o4 ON ((o4.id = c.id)))""",
            "left join tree reads a subquery"),
        Arguments.of(
            """
             SELECT t.region,
                t.n
               FROM ( SELECT c.region,
                        count(*) AS n
                       FROM ((public.customers c
                         JOIN public.orders o ON ((o.customer_id = c.id)))
                         FULL JOIN public.orders o4 ON ((o4.id = o.id)))
                      GROUP BY c.region) t""",
            "a FULL JOIN of a join tree inside a grouped subquery"));
  }

  @Test
  void aFullJoinOfAJoinTreeReadsItsTablesLinearlyAndKeepsTheTreeForThePadding() throws Exception {
    // As pg_get_viewdef prints a JOIN b ON p FULL JOIN c ON q (nested inner joins too), and the
    // FULL JOIN of two tables, whose left side is a tree of one table.
    for (String text :
        List.of(
            """
             SELECT c.id,
                o.amount,
                o2.id AS o2id
               FROM ((public.customers c
                 JOIN public.orders o ON ((o.customer_id = c.id)))
                 FULL JOIN public.orders o2 ON ((o2.customer_id = c.id)))
              WHERE (c.id > 3)""",
            """
             SELECT c.id,
                o.amount,
                o2.id AS o2id
               FROM (((public.customers c
                 JOIN public.orders o ON ((o.customer_id = c.id)))
                 CROSS JOIN public.customers c3)
                 FULL JOIN public.orders o2 ON ((o2.customer_id = c.id)))
                 JOIN public.customers c4 ON ((c4.id = o2.id))
              WHERE (c.id > 3)""",
            """
             SELECT c.id,
                o2.id AS o2id
               FROM (public.customers c
                 FULL JOIN public.orders o2 ON ((o2.customer_id = c.id)))""")) {
      QueryModel model = model(text);
      Branch branch = model.branches().get(0);
      assertThat(branch.nonLinear()).hasSize(1);
      Branch.NonLinear full = branch.nonLinear().get(0);
      assertThat(full.kind()).isEqualTo(Branch.NonLinear.Kind.FULL_JOIN);
      assertThat(full.table().refName()).isEqualTo("o2");
      assertThat(model.slice(full.operand().orElseThrow())).isEqualTo("FULL JOIN");
      assertThat(model.slice(full.condition().orElseThrow()))
          .isEqualTo("((o2.customer_id = c.id))");
      Branch.Nested left = full.left().orElseThrow();
      assertThat(left.nullableOn()).isEqualTo(full.condition());
      assertThat(branch.allTables())
          .startsWith(left.branch().tables().toArray(TableOccurrence[]::new));
      assertThat(branch.nested()).isEmpty();
      if (left.branch().tables().size() > 1) {
        assertThat(model.slice(left.relation()))
            .startsWith("(")
            .contains("(public.customers c")
            .endsWith(")")
            .doesNotContain("FULL");
      } else {
        assertThat(model.slice(left.relation())).isEqualTo("public.customers c");
      }
    }
  }

  @Test
  void aChainOfOuterJoinsEndingInAFullJoinIsReadStepByStep() throws Exception {
    // As pg_get_viewdef prints a FULL JOIN b ON p FULL JOIN c ON q, a LEFT JOIN b ... FULL JOIN c,
    // a JOIN b FULL JOIN c LEFT JOIN d FULL JOIN e (and a join after the chain).
    record Shape(String text, List<String> start, List<String> steps, List<String> kinds) {}
    List<Shape> shapes =
        List.of(
            new Shape(
                """
                 SELECT COALESCE(o.id, c.id, x.id) AS k
                   FROM ((public.orders o
                     FULL JOIN public.customers c ON ((c.id = o.customer_id)))
                     FULL JOIN public.orders x ON ((x.id = COALESCE(o.id, c.id))))""",
                List.of("o"),
                List.of("c", "x"),
                List.of("FULL_JOIN", "FULL_JOIN")),
            new Shape(
                """
                 SELECT o.id
                   FROM ((public.orders o
                     LEFT JOIN public.customers c ON ((c.id = o.customer_id)))
                     FULL JOIN public.orders x ON ((x.id = o.id)))
                  WHERE (x.id > 3)""",
                List.of("o"),
                List.of("c", "x"),
                List.of("LEFT_JOIN", "FULL_JOIN")),
            new Shape(
                """
                 SELECT o.id
                   FROM (((((public.orders o
                     JOIN public.customers c ON ((c.id = o.customer_id)))
                     FULL JOIN public.orders x ON ((x.id = o.id)))
                     LEFT JOIN public.customers c2 ON ((c2.id = x.customer_id)))
                     FULL JOIN public.orders y ON ((y.id = c2.id)))
                     JOIN public.customers c3 ON ((c3.id = 1)))""",
                List.of("o", "c"),
                List.of("x", "c2", "y"),
                List.of("FULL_JOIN", "LEFT_JOIN", "FULL_JOIN")));
    for (Shape shape : shapes) {
      QueryModel model = model(shape.text());
      Branch branch = model.branches().get(0);
      List<Branch.NonLinear> chain = branch.outerChain();
      assertThat(chain).extracting(n -> n.table().refName()).isEqualTo(shape.steps());
      assertThat(chain).extracting(n -> n.kind().name()).isEqualTo(shape.kinds());
      assertThat(branch.outerChainStart())
          .extracting(TableOccurrence::refName)
          .isEqualTo(shape.start());
      // Each FULL JOIN's left side is the prefix before it, its text a relation of its own.
      for (Branch.NonLinear step : chain) {
        if (step.kind() == Branch.NonLinear.Kind.FULL_JOIN) {
          assertThat(model.slice(step.operand().orElseThrow())).isEqualTo("FULL JOIN");
          String prefix = model.slice(step.left().orElseThrow().relation());
          if (shape.start().size() > 1 || !chain.get(0).equals(step)) {
            assertThat(prefix).startsWith("(").endsWith(")");
          }
          assertThat(prefix).doesNotContain(" " + step.table().refName() + " ON");
        }
      }
    }
    // A FULL JOIN of a tree of inner joins, followed by a LEFT JOIN: no chain (the rule of one
    // FULL JOIN, the LEFT JOIN's table an outer join of its own).
    Branch fullThenLeft =
        model(
                """
                 SELECT o.id
                   FROM ((public.orders o
                     FULL JOIN public.customers c ON ((c.id = o.customer_id)))
                     LEFT JOIN public.orders x ON ((x.id = c.id)))""")
            .branches()
            .get(0);
    assertThat(fullThenLeft.outerChain()).isEmpty();
    assertThat(fullThenLeft.nonLinear()).hasSize(2);
  }

  static Stream<Arguments> chainsOutsideTheClass() {
    return Stream.of(
        Arguments.of(
            """
             SELECT o.id
               FROM (((public.orders o
                 FULL JOIN public.customers c ON ((c.id = o.customer_id)))
                 JOIN public.orders o2 ON ((o2.id = c.id)))
                 FULL JOIN public.orders x ON ((x.id = o.id)))""",
            "joins a table after an outer join other than by a LEFT or FULL JOIN"),
        Arguments.of(
            """
             SELECT o.id
               FROM ((public.customers c
                 RIGHT JOIN public.orders o ON ((c.id = o.customer_id)))
                 FULL JOIN public.orders x ON ((x.id = o.id)))""",
            "joins a table after an outer join other than by a LEFT or FULL JOIN"),
        Arguments.of(
            """
             SELECT o.id
               FROM ((public.orders o
                 LEFT JOIN ( SELECT c_1.id
                       FROM public.customers c_1) c ON ((c.id = o.customer_id)))
                 FULL JOIN public.orders x ON ((x.id = o.id)))""",
            "outer join of a subquery, WITH query or join tree"),
        Arguments.of(
            """
             SELECT o.id
               FROM ((public.orders o
                 FULL JOIN public.customers c ON ((c.id = o.customer_id)))
                 FULL JOIN (public.orders x
                 JOIN public.orders y ON ((y.id = x.id))) ON ((x.id = o.id)))""",
            "a FULL JOIN whose right side is not one table"),
        Arguments.of(
            """
             SELECT o.id
               FROM ((public.orders o
                 FULL JOIN public.customers c USING (id))
                 FULL JOIN public.orders x ON ((x.id = o.id)))""",
            "a FULL JOIN whose right side is not one table joined ON a condition"),
        Arguments.of(
            """
             SELECT t.id
               FROM ( SELECT o.id
                       FROM ((public.orders o
                         FULL JOIN public.customers c ON ((c.id = o.customer_id)))
                         FULL JOIN public.orders x ON ((x.id = o.id)))) t""",
            "a FULL outer join other than of the first item of FROM"),
        Arguments.of(
            """
             SELECT t.n
               FROM ( SELECT o.id,
                        count(*) AS n
                       FROM ((public.orders o
                         LEFT JOIN public.customers c ON ((c.id = o.customer_id)))
                         FULL JOIN public.orders x ON ((x.id = o.id)))
                      GROUP BY o.id) t""",
            "a FULL JOIN of a join tree inside a grouped subquery"));
  }

  @ParameterizedTest
  @MethodSource("chainsOutsideTheClass")
  void chainsOtherThanLeftAndFullJoinsOfOneTableAreRefused(String text, String reason) {
    assertThatThrownBy(() -> model(text))
        .isInstanceOf(NotDifferentialException.class)
        .hasMessageContaining(reason);
  }

  @Test
  void aGroupedSubqueryWithAnOuterJoinGroupedByThePreservedSideIsAGroupedBlock() throws Exception {
    // TPC-H q13's shape: a padded customer's group is its own, touched by the change to orders.
    QueryModel model =
        model(
            """
             SELECT t.n,
                count(*) AS customers
               FROM ( SELECT c.id,
                        count(o.id) AS n
                       FROM (public.customers c
                         LEFT JOIN public.orders o ON ((o.customer_id = c.id)))
                      GROUP BY c.id) t(cid, n)
              GROUP BY t.n""");
    assertThat(model.branches().get(0).wholeBlocks()).hasSize(1);
    assertThat(model.branches().get(0).wholeBlocks().get(0).grouped()).isPresent();
  }

  static Stream<Arguments> groupedByANullableSide() {
    return Stream.of(
            // the LEFT JOIN's right side
            """
         SELECT g.k,
            g.n
           FROM ( SELECT o.customer_id AS k,
                    count(*) AS n
                   FROM (public.customers c
                     LEFT JOIN public.orders o ON ((o.customer_id = c.id)))
                  GROUP BY o.customer_id) g""",
            // a RIGHT JOIN's left side, in a key derived from it
            """
         SELECT g.k,
            g.n
           FROM ( SELECT (COALESCE(o.amount, (0)::numeric) > (50)::numeric) AS k,
                    count(*) AS n
                   FROM (public.orders o
                     RIGHT JOIN public.customers c ON ((o.customer_id = c.id)))
                  GROUP BY c.id, (COALESCE(o.amount, (0)::numeric) > (50)::numeric)) g""",
            // a FULL JOIN's left side
            """
         SELECT g.r,
            g.n
           FROM ( SELECT c.region AS r,
                    count(*) AS n
                   FROM (public.customers c
                     FULL JOIN public.orders o ON ((o.customer_id = c.id)))
                  GROUP BY c.region) g""")
        .map(Arguments::of);
  }

  @ParameterizedTest
  @MethodSource("groupedByANullableSide")
  void aGroupedSubqueryGroupedByAnOuterJoinsNullableSideIsRefused(String text) {
    assertThatThrownBy(() -> model(text))
        .isInstanceOf(NotDifferentialException.class)
        .hasMessageContaining("grouped by a column of an outer join's nullable side");
  }

  @ParameterizedTest
  @MethodSource("joinTreesOutsideTheClass")
  void joinTreesOfOuterJoinsOutsideTheClassAreNamed(String text, String construct) {
    assertThatThrownBy(() -> model(text))
        .isInstanceOf(NotDifferentialException.class)
        .hasMessageContaining(construct);
  }

  @Test
  void eachReadingOfAWithQueryReadMoreThanOnceIsASubqueryOfItsOwnText() throws Exception {
    QueryModel selfJoin =
        model(
            """
             WITH x (i, c) AS MATERIALIZED (
                     SELECT orders.id,
                        orders.customer_id
                       FROM public.orders
                      WHERE (orders.amount > (40)::numeric)
                    )
             SELECT a.i,
                b.i AS bi
               FROM (x a
                 JOIN x b ON (((a.c = b.c) AND (a.i < b.i))))""");
    Branch branch = selfJoin.branches().get(0);
    assertThat(branch.nested()).hasSize(2);
    assertThat(branch.nested()).extracting(Branch.Nested::alias).containsExactly("a", "b");
    // Two occurrences of orders, one per reading, each in its own copy of the text.
    assertThat(branch.allTables()).hasSize(2);
    assertThat(branch.allTables().get(0).span()).isNotEqualTo(branch.allTables().get(1).span());
    assertThat(selfJoin.text())
        .contains("FROM ((SELECT orders.id")
        .contains(") a (i, c)\n")
        .contains(") b (i, c) ON (((a.c = b.c)")
        .startsWith("WITH x (i, c) AS MATERIALIZED (");

    // In FROM and in a sublink: the sublink reads a subquery, so its tables are frozen.
    QueryModel sublink =
        model(
            """
             WITH x AS (
                     SELECT orders.id,
                        orders.customer_id
                       FROM public.orders
                    )
             SELECT c.id
               FROM (public.customers c
                 JOIN x ON ((x.customer_id = c.id)))
              WHERE (EXISTS ( SELECT 1
                       FROM x y
                      WHERE (y.id = c.id)))""");
    assertThat(sublink.branches().get(0).allTables()).hasSize(2);
    assertThat(sublink.frozen()).containsExactly(ORDERS);

    // A grouped WITH query read twice in the query's FROM: two grouped blocks.
    QueryModel grouped =
        model(
            """
             WITH t AS (
                     SELECT orders.customer_id,
                        sum(orders.amount) AS total
                       FROM public.orders
                      GROUP BY orders.customer_id
                    )
             SELECT a.customer_id,
                a.total,
                b.total AS t2
               FROM (t a
                 JOIN t b ON ((b.customer_id = (a.customer_id + 1))))""");
    assertThat(grouped.branches().get(0).wholeBlocks()).hasSize(2);

    // Read in FROM and in a scalar subquery (TPC-H q15's shape): the grouped block in FROM, the
    // subquery's tables frozen.
    QueryModel q15 =
        model(
            """
             WITH t AS (
                     SELECT orders.customer_id,
                        sum(orders.amount) AS total
                       FROM public.orders
                      GROUP BY orders.customer_id
                    )
             SELECT c.id,
                a.total
               FROM public.customers c,
                t a
              WHERE ((c.id = a.customer_id) AND (a.total = ( SELECT max(t.total) AS max
                       FROM t)))""");
    assertThat(q15.branches().get(0).wholeBlocks()).hasSize(1);
    assertThat(q15.frozen()).containsExactly(ORDERS);
  }

  @Test
  void aWithQueryReadMoreThanOnceWhereAReadingCannotBeASubquerySaysSo() {
    // A grouped WITH query read in a subquery in FROM: no grouped block there.
    assertThatThrownBy(
            () ->
                model(
                    """
                     WITH t AS (
                             SELECT orders.customer_id,
                                count(*) AS n
                               FROM public.orders
                              GROUP BY orders.customer_id
                            )
                     SELECT a.customer_id
                       FROM (t a
                         JOIN ( SELECT b.customer_id
                               FROM t b) s ON ((s.customer_id = a.customer_id)))"""))
        .isInstanceOf(NotDifferentialException.class)
        .hasMessageContaining("a WITH query read more than once (t)")
        .hasMessageContaining("not a plain SELECT");
    // A reading with column names of its own is not rewritten: refused as before.
    assertThatThrownBy(
            () ->
                model(
                    " WITH x AS (\n         SELECT orders.id\n           FROM public.orders\n"
                        + "        )\n SELECT a.id\n   FROM x a(id), x b"))
        .isInstanceOf(NotDifferentialException.class)
        .hasMessageContaining("reference with column names");
  }

  @Test
  void tablesReadInSubqueriesOfExpressionsAreFrozen() throws Exception {
    QueryModel model =
        model(
            """
             SELECT o.id,
                ( SELECT count(*) AS count
                       FROM public.customers c) AS n
               FROM public.orders o
              WHERE (o.customer_id IN ( SELECT c.id
                       FROM public.customers c
                      WHERE (c.region = 'x'::text)))""");
    assertThat(model.frozen()).containsExactly(CUSTOMERS);
    assertThat(model.allTables()).extracting(TableOccurrence::source).containsExactly(ORDERS);
  }

  @Test
  void parenthesizedItemsJSqlParserDoesNotPlaceAreTheItemWithoutItsAlias() throws Exception {
    QueryModel model =
        model(
            """
             SELECT DISTINCT o.id AS c1,
                (o.amount IS DISTINCT FROM '(c)'::numeric) AS c3,
                (o.id >= 3)
               FROM public.orders o""");
    assertThat(model.branches().get(0).itemExpressions())
        .extracting(model::slice)
        .containsExactly("o.id", "(o.amount IS DISTINCT FROM '(c)'::numeric)", "(o.id >= 3)");
  }

  @Test
  void aRegularExpressionLiteralIsNotAWholeRowReference() throws Exception {
    QueryModel model =
        model(" SELECT o.id\n   FROM public.orders o\n  WHERE (o.note ~ '^a.*( SELECT'::text)");
    assertThat(model.allTables()).hasSize(1);
  }
}
