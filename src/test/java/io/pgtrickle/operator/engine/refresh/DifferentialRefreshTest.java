package io.pgtrickle.operator.engine.refresh;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgtrickle.operator.differential.model.QueryModel;
import io.pgtrickle.operator.differential.model.QueryModeler;
import io.pgtrickle.operator.naming.StableName;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class DifferentialRefreshTest {
  private static final String Q9 =
      "SELECT nation.n_name AS nation FROM public.part, public.lineitem, public.\"Orders\""
          + " WHERE part.p_partkey = lineitem.l_partkey AND \"Orders\".\"Key\" = lineitem.l_orderkey";

  @Test
  void aDeltaGetsTheSourceIndexesWhoseFirstColumnTheQueryNames() {
    List<List<String>> lineitem =
        List.of(
            List.of("\"l_orderkey\"", "\"l_linenumber\""),
            List.of("\"l_partkey\"", "\"l_suppkey\""),
            List.of("\"l_suppkey\""),
            List.of("\"l_partkey\""));
    // l_suppkey is not named; (l_partkey) is a prefix of (l_partkey, l_suppkey).
    assertThat(DifferentialRefresh.indexColumns(lineitem, Q9))
        .containsExactly(
            List.of("\"l_orderkey\"", "\"l_linenumber\""),
            List.of("\"l_partkey\"", "\"l_suppkey\""));
    assertThat(DifferentialRefresh.indexColumns(List.of(List.of("\"Key\"")), Q9)).hasSize(1);
    assertThat(DifferentialRefresh.indexColumns(List.of(List.of("\"key\"")), Q9)).isEmpty();
    assertThat(DifferentialRefresh.indexColumns(null, Q9)).isEmpty();
  }

  @Test
  void aColumnIsNamedAsAWordOrQuoted() {
    assertThat(DifferentialRefresh.names("WHERE t.ab = 1", "\"ab\"")).isTrue();
    assertThat(DifferentialRefresh.names("WHERE t.abc = 1", "\"ab\"")).isFalse();
    assertThat(DifferentialRefresh.names("WHERE t.x_ab = 1", "\"ab\"")).isFalse();
    assertThat(DifferentialRefresh.names("WHERE t.\"Ab\" = 1", "\"Ab\"")).isTrue();
    assertThat(DifferentialRefresh.names("WHERE t.ab = 1", "\"Ab\"")).isFalse();
  }

  private static final StableName CUSTOMERS = new StableName("00000000000000c1");
  private static final StableName ORDERS = new StableName("00000000000000a1");

  private static QueryModel model(String text) throws Exception {
    return QueryModeler.model(
        text,
        Map.of(List.of("public", "customers"), CUSTOMERS, List.of("public", "orders"), ORDERS),
        name -> false);
  }

  private static ChangeWindow window(long customers, long orders) {
    return new ChangeWindow(Map.of(), Optional.of(Map.of(CUSTOMERS, customers, ORDERS, orders)));
  }

  @Test
  void aFewRowsOfTheOnlyChangedSourceReadOnceAreReadStraightFromTheBuffer() throws Exception {
    QueryModel join =
        model(
            " SELECT c.region, o.id FROM (public.customers c"
                + " JOIN public.orders o ON ((o.customer_id = c.id)))");
    assertThat(DifferentialRefresh.inlineDelta(join, window(0, 3))).contains(ORDERS);
    assertThat(DifferentialRefresh.inlineDelta(join, window(0, ChangeWindow.COUNTED_UP_TO)))
        .contains(ORDERS);
    // Too many rows to trust the estimate; two sources changed (old state read); not counted.
    assertThat(DifferentialRefresh.inlineDelta(join, window(0, ChangeWindow.COUNTED_UP_TO + 1)))
        .isEmpty();
    assertThat(DifferentialRefresh.inlineDelta(join, window(2, 3))).isEmpty();
    assertThat(DifferentialRefresh.inlineDelta(join, new ChangeWindow(Map.of()))).isEmpty();
  }

  @Test
  void aSourceReadTwiceOrNotLinearlyGetsATempTable() throws Exception {
    QueryModel selfJoin =
        model(
            " SELECT a.id AS a, b.id AS b FROM (public.orders a"
                + " JOIN public.orders b ON ((a.customer_id = b.customer_id)))");
    assertThat(DifferentialRefresh.inlineDelta(selfJoin, window(0, 3))).isEmpty();
    QueryModel leftJoin =
        model(
            " SELECT o.id, c.region FROM (public.orders o"
                + " LEFT JOIN public.customers c ON ((c.id = o.customer_id)))");
    assertThat(DifferentialRefresh.inlineDelta(leftJoin, window(0, 3))).contains(ORDERS);
    assertThat(DifferentialRefresh.inlineDelta(leftJoin, window(3, 0))).isEmpty();
  }
}
