package io.pgtrickle.operator.engine.refresh;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
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
}
