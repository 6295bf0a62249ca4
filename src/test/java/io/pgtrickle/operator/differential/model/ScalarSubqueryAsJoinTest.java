package io.pgtrickle.operator.differential.model;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgtrickle.operator.naming.StableName;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Scalar subqueries of min/max correlated by equalities, joined as grouped blocks in FROM, from
 * texts as pg_get_viewdef prints them (search_path = pg_catalog): the text out, and each shape left
 * as it is.
 */
class ScalarSubqueryAsJoinTest {
  /** The queries PostgreSQL was asked whether it can run them. */
  private final List<String> asked = new ArrayList<>();

  private final DatabaseFacts runs = facts(true);

  private DatabaseFacts facts(boolean runsIt) {
    return new DatabaseFacts() {
      @Override
      public Optional<String> typeOf(String query) {
        asked.add(query);
        return runsIt ? Optional.of("int4") : Optional.empty();
      }

      @Override
      public boolean returnsSet(String function) {
        return false;
      }
    };
  }

  /** The latest version per id: one table outside, so PostgreSQL leaves its columns bare. */
  private static final String LATEST =
      " SELECT id,\n    version,\n    payload\n   FROM public.versions v\n  WHERE (version = ("
          + " SELECT max(v2.version) AS max\n           FROM public.versions v2\n          WHERE"
          + " (v2.id = v.id)))";

  /** How a query's WHERE reads with ... in place of the subquery's comparison. */
  private static String latestWith(String condition) {
    return " SELECT id,\n    version\n   FROM public.versions v\n  WHERE " + condition;
  }

  private static final String MAX = "( SELECT max(v2.version) AS max FROM public.versions v2";

  @Test
  void theLatestVersionPerKeyJoinsTheMaximumPerKey() {
    assertThat(ScalarSubqueryAsJoin.rewrite(LATEST, runs))
        .contains(
            " SELECT id,\n    version,\n    payload\n   FROM public.versions v,\n    ( SELECT"
                + " v2.id AS pgt_s1_k1, max(v2.version) AS pgt_s1_v\n           FROM"
                + " public.versions v2\n          GROUP BY v2.id) pgt_s1\n  WHERE ((version ="
                + " pgt_s1.pgt_s1_v) AND (pgt_s1.pgt_s1_k1 = v.id))");
    assertThat(asked).hasSize(1);
  }

  @Test
  void tpchQ2sMinimumCostPerPartKeepsTheSubquerysOtherConditionsInTheBlock() {
    String q2 =
        " SELECT supplier.s_acctbal,\n    part.p_partkey\n   FROM public.part,\n   "
            + " public.supplier,\n    public.partsupp\n  WHERE ((part.p_partkey ="
            + " partsupp.ps_partkey) AND (supplier.s_suppkey = partsupp.ps_suppkey) AND"
            + " (part.p_size = 15) AND (partsupp.ps_supplycost = ( SELECT"
            + " min(partsupp_1.ps_supplycost) AS min\n           FROM public.partsupp partsupp_1,\n"
            + "            public.supplier supplier_1,\n            public.nation nation_1\n    "
            + "      WHERE ((part.p_partkey = partsupp_1.ps_partkey) AND (supplier_1.s_suppkey ="
            + " partsupp_1.ps_suppkey) AND (supplier_1.s_nationkey = nation_1.n_nationkey) AND"
            + " (nation_1.n_name = 'GERMANY'::text)))))";
    assertThat(ScalarSubqueryAsJoin.rewrite(q2, runs))
        .contains(
            " SELECT supplier.s_acctbal,\n    part.p_partkey\n   FROM public.part,\n   "
                + " public.supplier,\n    public.partsupp,\n    ( SELECT partsupp_1.ps_partkey AS"
                + " pgt_s1_k1, min(partsupp_1.ps_supplycost) AS pgt_s1_v\n           FROM"
                + " public.partsupp partsupp_1,\n            public.supplier supplier_1,\n      "
                + "      public.nation nation_1\n          WHERE ((supplier_1.s_suppkey ="
                + " partsupp_1.ps_suppkey) AND (supplier_1.s_nationkey = nation_1.n_nationkey)"
                + " AND (nation_1.n_name = 'GERMANY'::text))\n          GROUP BY"
                + " partsupp_1.ps_partkey) pgt_s1\n  WHERE ((part.p_partkey = partsupp.ps_partkey)"
                + " AND (supplier.s_suppkey = partsupp.ps_suppkey) AND (part.p_size = 15) AND"
                + " (partsupp.ps_supplycost = pgt_s1.pgt_s1_v) AND (part.p_partkey ="
                + " pgt_s1.pgt_s1_k1))");
  }

  @Test
  void aSubqueryOnTheLeftWithArithmeticAndAnOuterColumnOnTheLeftOfItsEquality() {
    String text =
        " SELECT v.id\n   FROM public.versions v,\n    public.part p\n  WHERE ((p.p_partkey ="
            + " v.id) AND (( SELECT (max(v2.version) + 1)\n           FROM public.versions v2\n"
            + "          WHERE ((v.id = v2.id) AND (v2.payload <> 'x'::text))) > v.version))";
    assertThat(ScalarSubqueryAsJoin.rewrite(text, runs))
        .contains(
            " SELECT v.id\n   FROM public.versions v,\n    public.part p,\n    ( SELECT v2.id AS"
                + " pgt_s1_k1, (max(v2.version) + 1) AS pgt_s1_v\n           FROM"
                + " public.versions v2\n          WHERE (v2.payload <> 'x'::text)\n          GROUP"
                + " BY v2.id) pgt_s1\n  WHERE ((p.p_partkey = v.id) AND (pgt_s1.pgt_s1_v >"
                + " v.version) AND (v.id = pgt_s1.pgt_s1_k1))");
  }

  @Test
  void aSublinkPostgreSqlCastsKeepsItsCastAroundTheJoinedValue() {
    // An int subquery compared with a numeric column: PostgreSQL prints the implicit cast.
    String text =
        latestWith(
            "((( SELECT (2 * max(v2.version)) FROM public.versions v2 WHERE (v.id = v2.id)))::numeric"
                + " = (version)::numeric(12,2))");
    assertThat(ScalarSubqueryAsJoin.rewrite(text, runs))
        .contains(
            latestWith(
                    "(((pgt_s1.pgt_s1_v)::numeric = (version)::numeric(12,2)) AND (v.id ="
                        + " pgt_s1.pgt_s1_k1))")
                .replace(
                    "public.versions v\n",
                    "public.versions v,\n    ( SELECT v2.id AS pgt_s1_k1, (2 * max(v2.version)) AS"
                        + " pgt_s1_v\n           FROM public.versions v2\n          GROUP BY v2.id)"
                        + " pgt_s1\n"));
  }

  @Test
  void twoCorrelationsAreTwoGroupKeysAndTwoSubqueriesTwoBlocks() {
    String text =
        latestWith(
            "((version <= "
                + MAX
                + " WHERE ((v2.id = v.id) AND (v2.payload = v.payload)))) AND (version >= ( SELECT"
                + " ((min(v3.version))::numeric * 0.5) FROM public.versions v3 WHERE (v3.id ="
                + " (v.id + 1)))))");
    assertThat(ScalarSubqueryAsJoin.rewrite(text, runs))
        .contains(
            latestWith(
                    "((version <= pgt_s1.pgt_s1_v) AND (pgt_s1.pgt_s1_k1 = v.id) AND"
                        + " (pgt_s1.pgt_s1_k2 = v.payload) AND (version >= pgt_s2.pgt_s2_v) AND"
                        + " (pgt_s2.pgt_s2_k1 = (v.id + 1)))")
                .replace(
                    "public.versions v\n",
                    "public.versions v,\n    ( SELECT v2.id AS pgt_s1_k1, v2.payload AS"
                        + " pgt_s1_k2, max(v2.version) AS pgt_s1_v\n           FROM"
                        + " public.versions v2\n          GROUP BY v2.id, v2.payload) pgt_s1,\n   "
                        + " ( SELECT v3.id AS pgt_s2_k1, ((min(v3.version))::numeric * 0.5) AS"
                        + " pgt_s2_v\n           FROM public.versions v3\n          GROUP BY"
                        + " v3.id) pgt_s2\n"));
  }

  @Test
  void theNamesAddedAreNumberedPastThoseInTheText() {
    String text = LATEST.replace("payload", "pgt_s7_v");
    assertThat(ScalarSubqueryAsJoin.rewrite(text, runs).orElseThrow())
        .contains(") pgt_s8\n", "(version = pgt_s8.pgt_s8_v) AND (pgt_s8.pgt_s8_k1 = v.id)")
        .doesNotContain("pgt_s1");
    assertThat(ScalarSubqueryAsJoin.rewrite(LATEST.replace("payload", "pgt_s10000000"), runs))
        .isEmpty();
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        // Not NULL over no rows: a version without others would be compared with 0.
        "(version = ( SELECT count(*) AS count FROM public.versions v2 WHERE (v2.id = v.id)))",
        "(version = ( SELECT COALESCE(max(v2.version), 0) AS max FROM public.versions v2 WHERE"
            + " (v2.id = v.id)))",
        "(version = ( SELECT CASE WHEN (max(v2.version) > 3) THEN 3 ELSE max(v2.version) END"
            + " FROM public.versions v2 WHERE (v2.id = v.id)))",
        "(version = ( SELECT (max(v2.version) + v.version) FROM public.versions v2 WHERE (v2.id"
            + " = v.id)))",
        // count, sum and avg alone stay sublinks (their before-values follow from counts).
        "(version = ( SELECT sum(v2.version) AS sum FROM public.versions v2 WHERE (v2.id ="
            + " v.id)))",
        // Not a top-level conjunct, or not a whole side of =, <>, <, <=, >, >=.
        "((version = " + MAX + " WHERE (v2.id = v.id))) OR (id = 1))",
        "(NOT (version = " + MAX + " WHERE (v2.id = v.id))))",
        "(version = (" + MAX + " WHERE (v2.id = v.id)) + 1))",
        "(version IS DISTINCT FROM " + MAX + " WHERE (v2.id = v.id)))",
        "(version ~~ (" + MAX + " WHERE (v2.id = v.id)))::text)",
        "(version = (" + MAX + " WHERE (v2.id = v.id)))::text || 'x'::text))",
        "(version = (" + MAX + " WHERE (v2.id = v.id)))::text[0])",
        "(version = ANY " + MAX + " WHERE (v2.id = v.id)))",
        "(( SELECT max(v3.version) AS max FROM public.versions v3) = "
            + MAX
            + " WHERE (v2.id ="
            + " v.id)))",
        // Uncorrelated (one group), or other references to the outer query.
        "(version = " + MAX + "))",
        "(version = " + MAX + " WHERE (v2.id < v.id)))",
        "(version = " + MAX + " WHERE ((v2.id = v.id) OR (v2.id IS NULL))))",
        "(version = " + MAX + " WHERE ((v2.id = v.id) AND (v2.version < v.version))))",
        "(version = " + MAX + " WHERE ((v2.id + 0) = v.id)))",
        "(version = " + MAX + " WHERE (v2.id = (v.id + v2.version))))",
        "(version = ( SELECT max(v2.version) AS max FROM (public.versions v2 JOIN"
            + " public.versions v3 ON ((v3.id = v.id))) WHERE (v2.id = v.id)))",
        // Grouping, limits, nested subqueries, other FROM items.
        "(version = " + MAX + " WHERE (v2.id = v.id) GROUP BY v2.payload))",
        "(version = " + MAX + " WHERE (v2.id = v.id) LIMIT 1))",
        "(version = "
            + MAX
            + " WHERE ((v2.id = v.id) AND (v2.id IN ( SELECT p.p_partkey FROM"
            + " public.part p)))))",
        "(version = ( SELECT max(s.version) AS max FROM ( SELECT v2.id, v2.version FROM"
            + " public.versions v2) s WHERE (s.id = v.id)))",
        "(version = ( SELECT max(g.g) AS max FROM generate_series(1, 3) g(g) WHERE (g.g ="
            + " v.id)))",
      })
  void shapesThatMayNotMeanTheSameAreLeftAsTheyAre(String where) {
    assertThat(ScalarSubqueryAsJoin.rewrite(latestWith(where), runs)).isEmpty();
  }

  @Test
  void aTextPostgreSqlCannotRunIsNotUsed() {
    assertThat(ScalarSubqueryAsJoin.rewrite(LATEST, facts(false))).isEmpty();
    assertThat(asked).hasSize(1);
  }

  @Test
  void aSetOperationIsLeftAsItIs() {
    assertThat(ScalarSubqueryAsJoin.rewrite(LATEST + "\nUNION ALL\n" + LATEST, runs)).isEmpty();
    assertThat(asked).isEmpty();
  }

  private static final StableName VERSIONS = new StableName("00000000000000e1");

  /**
   * The model is the query as written (its subquery's table frozen), with the joined form beside it
   * for the refreshes in which that table changed: there the block is grouped, nothing frozen.
   */
  @Test
  void theJoinedModelReadsTheBlockAsGroupedSoItsTableIsNotFrozen() throws Exception {
    QueryModel model =
        QueryModeler.model(
            LATEST, Map.of(List.of("public", "versions"), VERSIONS), name -> false, runs);
    assertThat(model.frozen()).containsExactly(VERSIONS);
    QueryModel joined = model.whenFrozenChange().orElseThrow();
    assertThat(joined.frozen()).isEmpty();
    assertThat(joined.branches().get(0).nested()).hasSize(1);
    assertThat(joined.branches().get(0).nested().get(0).grouped()).isPresent();
    QueryModel asWritten =
        QueryModeler.model(
            LATEST, Map.of(List.of("public", "versions"), VERSIONS), name -> false, facts(false));
    assertThat(asWritten.frozen()).containsExactly(VERSIONS);
    assertThat(asWritten.whenFrozenChange()).isEmpty();
  }

  @Test
  void aRewrittenTextTheEngineDoesNotModelFallsBackToTheTextAsWritten() throws Exception {
    // Grouped by a column of a LEFT JOIN's nullable side inside the block: refused there.
    String text =
        latestWith(
            "(version = ( SELECT max(v2.version) AS max FROM (public.versions v3 LEFT JOIN"
                + " public.versions v2 ON ((v2.payload = v3.payload))) WHERE (v2.id = v.id)))");
    assertThat(ScalarSubqueryAsJoin.rewrite(text, runs)).isPresent();
    QueryModel model =
        QueryModeler.model(
            text, Map.of(List.of("public", "versions"), VERSIONS), name -> false, runs);
    assertThat(model.frozen()).containsExactly(VERSIONS);
    assertThat(model.text()).isEqualTo(text);
  }
}
