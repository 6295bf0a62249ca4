package io.pgtrickle.operator.differential.model;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgtrickle.operator.naming.StableName;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import net.sf.jsqlparser.parser.CCJSqlParserUtil;
import net.sf.jsqlparser.statement.select.ExceptOp;
import net.sf.jsqlparser.statement.select.PlainSelect;
import net.sf.jsqlparser.statement.select.SetOperationList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code A EXCEPT B} and {@code A INTERSECT B} written as A with a [NOT] EXISTS sublink over B's
 * tables, from texts as pg_get_viewdef prints them (search_path = pg_catalog): which B are
 * rewritten, and the text, whose only changes are qualifiers.
 */
class SetFilterAsExistsTest {
  private static final StableName CUSTOMERS = new StableName("00000000000000c1");
  private static final StableName ORDERS = new StableName("00000000000000a1");
  private static final StableName ITEMS = new StableName("00000000000000b1");
  private static final StableName STOCK = new StableName("00000000000000d1");
  private static final Map<List<String>, StableName> SOURCES =
      Map.of(
          List.of("public", "customers"), CUSTOMERS,
          List.of("public", "orders"), ORDERS,
          List.of("public", "items"), ITEMS,
          List.of("public", "Stock Items"), STOCK);

  /** The queries PostgreSQL was asked whether it can run them. */
  private final List<String> asked = new ArrayList<>();

  /**
   * customers (id, region, vip), orders (id, customer_id, amount, note), items (order_id, sku,
   * qty), "Stock Items" ("Sku", "Qty", order_id); PostgreSQL runs every text.
   */
  private final DatabaseFacts facts =
      new DatabaseFacts() {
        @Override
        public Optional<String> typeOf(String query) {
          asked.add(query);
          return Optional.of("int4");
        }

        @Override
        public boolean returnsSet(String function) {
          return false;
        }

        @Override
        public Optional<List<String>> columnsOf(String table) {
          return switch (table) {
            case "public.customers" -> Optional.of(List.of("id", "region", "vip"));
            case "public.orders" -> Optional.of(List.of("id", "customer_id", "amount", "note"));
            case "public.items" -> Optional.of(List.of("order_id", "sku", "qty"));
            case "public.\"Stock Items\"" -> Optional.of(List.of("Sku", "Qty", "order_id"));
            default -> Optional.empty();
          };
        }
      };

  private Optional<String> rewrite(String text) throws Exception {
    SetOperationList list = (SetOperationList) CCJSqlParserUtil.parse(text);
    return SetFilterAsExists.rewrite(
        text,
        (PlainSelect) list.getSelects().get(0),
        list.getSelects().get(1),
        list.getOperations().get(0) instanceof ExceptOp,
        facts);
  }

  @Test
  void aJoinOfTwoTablesIsRenamedTableByTableAndCorrelatedColumnByColumn() throws Exception {
    String text =
        " SELECT orders.customer_id,\n    orders.note\n   FROM public.orders\nEXCEPT\n SELECT"
            + " o.id AS customer_id,\n    i.sku AS note\n   FROM (public.orders o\n     JOIN"
            + " public.items i ON ((i.order_id = o.id)))\n  WHERE (i.qty > 2)";
    assertThat(rewrite(text))
        .contains(
            "SELECT DISTINCT orders.customer_id,\n    orders.note FROM public.orders WHERE NOT"
                + " EXISTS ( SELECT 1 FROM (public.orders pgt_b\n     JOIN public.items pgt_b2 ON"
                + " ((pgt_b2.order_id = pgt_b.id))) WHERE ((pgt_b2.qty > 2)) AND (pgt_b.id) IS"
                + " NOT DISTINCT FROM (orders.customer_id) AND (pgt_b2.sku) IS NOT DISTINCT FROM"
                + " (orders.note))");
    assertThat(asked).hasSize(1);
  }

  @Test
  void commaJoinsOfThreeTablesAndAFirstQueryOverAJoinWithItsWhere() throws Exception {
    String text =
        " SELECT o.customer_id,\n    c.region\n   FROM (public.orders o\n     JOIN"
            + " public.customers c ON ((c.id = o.customer_id)))\n  WHERE (o.amount > (10)::numeric)\n"
            + "INTERSECT\n SELECT o.customer_id AS id,\n    c.region\n   FROM public.orders o,\n"
            + "    public.items i,\n    public.customers c\n  WHERE ((i.order_id = o.id) AND (c.id"
            + " = o.customer_id) AND c.vip)";
    assertThat(rewrite(text))
        .contains(
            "SELECT DISTINCT o.customer_id,\n    c.region FROM (public.orders o\n     JOIN"
                + " public.customers c ON ((c.id = o.customer_id)))\n   WHERE ((o.amount >"
                + " (10)::numeric)) AND EXISTS ( SELECT 1 FROM public.orders pgt_b,\n   "
                + " public.items pgt_b2,\n    public.customers pgt_b3 WHERE (((pgt_b2.order_id ="
                + " pgt_b.id) AND (pgt_b3.id = pgt_b.customer_id) AND pgt_b3.vip)) AND"
                + " (pgt_b.customer_id) IS NOT DISTINCT FROM (o.customer_id) AND (pgt_b3.region)"
                + " IS NOT DISTINCT FROM (c.region))");
  }

  @Test
  void quotedNamesAndUnqualifiedColumnsAreQualifiedByTheirOneTable() throws Exception {
    // Not how PostgreSQL prints a set operation's branches (it qualifies every column there), but
    // a column left bare must be qualified by the one table that has it.
    String text =
        " SELECT id,\n    region\n   FROM public.customers\nEXCEPT\n SELECT c.id,\n    \"Sku\"\n"
            + "   FROM ((public.customers c\n     JOIN public.\"Stock Items\" s ON ((\"Qty\" ="
            + " c.id)))\n     CROSS JOIN public.orders)\n  WHERE (note IS NULL)";
    assertThat(rewrite(text))
        .contains(
            "SELECT DISTINCT id,\n    region FROM public.customers WHERE NOT EXISTS ( SELECT 1"
                + " FROM ((public.customers pgt_b\n     JOIN public.\"Stock Items\" pgt_b2 ON"
                + " ((pgt_b2.\"Qty\" = pgt_b.id)))\n     CROSS JOIN public.orders pgt_b3) WHERE"
                + " ((pgt_b3.note IS NULL)) AND (pgt_b.id) IS NOT DISTINCT FROM (customers.id) AND"
                + " (pgt_b2.\"Sku\") IS NOT DISTINCT FROM (customers.region))");
  }

  @Test
  void aFirstQueryOverAJoinHasItsBareColumnsQualifiedByTheirTable() throws Exception {
    String text =
        " SELECT sku,\n    o.id\n   FROM (public.items i\n     JOIN public.orders o ON"
            + " ((o.id = i.order_id)))\nEXCEPT\n SELECT i.sku,\n    i.order_id\n   FROM"
            + " public.items i";
    assertThat(rewrite(text).orElseThrow())
        .contains(
            "(pgt_b.sku) IS NOT DISTINCT FROM (i.sku) AND (pgt_b.order_id) IS NOT DISTINCT FROM"
                + " (o.id)");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        // an outer join in B
        " SELECT customers.id\n   FROM public.customers\nEXCEPT\n SELECT o.customer_id\n   FROM"
            + " (public.orders o\n     LEFT JOIN public.items i ON ((i.order_id = o.id)))",
        // USING: its merged column is in both tables
        " SELECT items.order_id\n   FROM public.items\nEXCEPT\n SELECT order_id\n   FROM"
            + " (public.items i\n     JOIN public.items j USING (order_id, sku))",
        // an unqualified column two of B's tables have
        " SELECT customers.id\n   FROM public.customers\nEXCEPT\n SELECT id\n   FROM"
            + " public.customers c,\n    public.orders o",
        // an unqualified column of A's list, A over a join, both tables having it
        " SELECT id\n   FROM public.customers c,\n    public.orders o\nINTERSECT\n SELECT"
            + " i.order_id\n   FROM public.items i",
        // a table whose columns the catalog does not know, beside an unqualified column
        " SELECT customers.id\n   FROM public.customers\nEXCEPT\n SELECT qty\n   FROM"
            + " public.items i,\n    public.elsewhere u",
        // a subquery in B's FROM, in its WHERE; grouping, DISTINCT, LIMIT in B
        " SELECT customers.id\n   FROM public.customers\nEXCEPT\n SELECT s.id\n   FROM ( SELECT"
            + " o.id\n           FROM public.orders o) s,\n    public.items i",
        " SELECT customers.id\n   FROM public.customers\nEXCEPT\n SELECT o.id\n   FROM"
            + " public.orders o,\n    public.items i\n  WHERE (i.qty > ( SELECT 1))",
        " SELECT customers.id\n   FROM public.customers\nEXCEPT\n SELECT o.customer_id\n   FROM"
            + " public.orders o,\n    public.items i\n  GROUP BY o.customer_id",
        " SELECT customers.id\n   FROM public.customers\nEXCEPT\n SELECT DISTINCT o.customer_id\n"
            + "   FROM public.orders o,\n    public.items i",
        " SELECT customers.id\n   FROM public.customers\nEXCEPT\n SELECT o.customer_id\n   FROM"
            + " public.orders o,\n    public.items i\n LIMIT 3",
        // a qualifier that names no table of B
        " SELECT customers.id\n   FROM public.customers\nEXCEPT\n SELECT customers.id\n   FROM"
            + " public.orders o,\n    public.items i",
        // a name the rewrite would use
        " SELECT customers.id AS pgt_b\n   FROM public.customers\nEXCEPT\n SELECT o.id\n   FROM"
            + " public.orders o,\n    public.items i"
      })
  void otherSecondQueriesAreNotRewritten(String text) throws Exception {
    assertThat(rewrite(text)).isEmpty();
  }

  @Test
  void aTextPostgreSQLCannotRunIsNotUsed() throws Exception {
    String text =
        " SELECT customers.id\n   FROM public.customers\nEXCEPT\n SELECT o.id\n   FROM"
            + " public.orders o,\n    public.items i";
    DatabaseFacts refusing =
        new DatabaseFacts() {
          @Override
          public Optional<String> typeOf(String query) {
            return Optional.empty();
          }

          @Override
          public boolean returnsSet(String function) {
            return false;
          }
        };
    SetOperationList list = (SetOperationList) CCJSqlParserUtil.parse(text);
    assertThat(
            SetFilterAsExists.rewrite(
                text,
                (PlainSelect) list.getSelects().get(0),
                list.getSelects().get(1),
                true,
                refusing))
        .isEmpty();
  }

  @Test
  void theModelReadsTheSecondQuerysTablesAsTheSublinksJoin() throws Exception {
    String text =
        " SELECT orders.customer_id\n   FROM public.orders\nEXCEPT\n SELECT o.id AS"
            + " customer_id\n   FROM ((public.orders o\n     JOIN public.items i ON ((i.order_id ="
            + " o.id)))\n     JOIN public.customers c ON ((c.id = o.customer_id)))\n  WHERE c.vip";
    QueryModel model = QueryModeler.model(text, SOURCES, name -> false, facts);
    assertThat(model.frozen()).isEmpty();
    assertThat(model.branches()).hasSize(1);
    Branch branch = model.branches().get(0);
    assertThat(branch.tables()).extracting(TableOccurrence::source).containsExactly(ORDERS);
    assertThat(branch.nonLinear()).hasSize(1);
    Branch.NonLinear sublink = branch.nonLinear().get(0);
    assertThat(sublink.kind()).isEqualTo(Branch.NonLinear.Kind.EXISTS);
    assertThat(sublink.subquery().orElseThrow().tables())
        .extracting(TableOccurrence::refName, TableOccurrence::source)
        .containsExactly(
            org.assertj.core.groups.Tuple.tuple("pgt_b", ORDERS),
            org.assertj.core.groups.Tuple.tuple("pgt_b2", ITEMS),
            org.assertj.core.groups.Tuple.tuple("pgt_b3", CUSTOMERS));
    assertThat(model.grouping().kind()).isEqualTo(Grouping.Kind.DISTINCT);
  }

  @Test
  void withoutTheRewriteTheSecondQuerysTablesAreFrozen() throws Exception {
    // A chain is refused as it was; an outer join in B freezes B's tables.
    String outer =
        " SELECT orders.customer_id\n   FROM public.orders\nEXCEPT\n SELECT o.id\n   FROM"
            + " (public.orders o\n     LEFT JOIN public.items i ON ((i.order_id = o.id)))";
    QueryModel model = QueryModeler.model(outer, SOURCES, name -> false, facts);
    assertThat(model.frozen()).containsExactlyInAnyOrder(ORDERS, ITEMS);
    assertThat(model.branches().get(0).nonLinear()).isEmpty();
  }
}
