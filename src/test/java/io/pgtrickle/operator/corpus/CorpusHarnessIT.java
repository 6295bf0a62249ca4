package io.pgtrickle.operator.corpus;

import static org.assertj.core.api.Assertions.assertThat;

import io.pgtrickle.operator.api.CdcModeSpec;
import io.pgtrickle.operator.corpus.Admission.Verdict;
import io.pgtrickle.operator.corpus.SltCorpus.Query;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * The corpus harnesses' own machinery, on cases made for it: each verdict of an admission, the two
 * readers of a sqllogictest file together seeing every query record once, and changes that replay
 * from their seed.
 */
class CorpusHarnessIT {
  @Test
  void eachVerdictIsToldApart() throws Exception {
    try (CorpusDatabase db = CorpusDatabase.fresh()) {
      db.execute("CREATE TABLE t (a int, b int)");
      db.execute("INSERT INTO t VALUES (1, 0), (2, 3)");

      assertThat(db.admit("plain", "SELECT a, b FROM t", CdcModeSpec.TRIGGER).verdict())
          .isEqualTo(Verdict.ACCEPTED);
      Admission renamed = db.admit("renamed", "SELECT a, a FROM t", CdcModeSpec.TRIGGER);
      assertThat(renamed.verdict()).isEqualTo(Verdict.ACCEPTED_RENAMED);
      assertThat(renamed.query()).isEqualTo("SELECT * FROM (SELECT a, a FROM t) AS q(c1, c2)");
      assertThat(db.differences("renamed", renamed.query())).isZero();

      Admission syntax = db.admit("syntax", "SELECT a DIV b FROM t", CdcModeSpec.TRIGGER);
      assertThat(syntax.verdict()).isEqualTo(Verdict.POSTGRES_REFUSES);
      assertThat(syntax.category()).isEqualTo("42601 syntax_error");
      Admission zero = db.admit("zero", "SELECT a / b FROM t", CdcModeSpec.TRIGGER);
      assertThat(zero.verdict()).isEqualTo(Verdict.FAILS_WHEN_RUN);
      assertThat(zero.category()).isEqualTo("22012 division_by_zero");

      Admission noTable = db.admit("no_table", "SELECT 1 AS one", CdcModeSpec.TRIGGER);
      assertThat(noTable.verdict()).isEqualTo(Verdict.ENGINE_REFUSES);
      assertThat(noTable.unexpectedEngineRefusal()).as(noTable.detail()).isFalse();
      Admission random = db.admit("random", "SELECT a, random() FROM t", CdcModeSpec.TRIGGER);
      assertThat(random.verdict()).isEqualTo(Verdict.ENGINE_REFUSES);
      assertThat(random.unexpectedEngineRefusal()).as(random.detail()).isFalse();
    }
  }

  @Test
  void theParserAndTheReaderOfExcludedRecordsSeeEveryQueryOnce() throws Exception {
    for (String file :
        SltCorpus.files(Pattern.compile("^test/(select1|random/groupby/slt_good_0)\\.test$"))) {
      String text;
      try (InputStream in =
          Thread.currentThread().getContextClassLoader().getResourceAsStream(file)) {
        text = new String(in.readAllBytes(), StandardCharsets.UTF_8);
      }
      long queryLines = text.lines().filter(l -> l.startsWith("query")).count();
      long parsed = SltCorpus.parse(file).stream().filter(Query.class::isInstance).count();
      List<Query> excluded = SltCorpus.excludedQueries(file);
      assertThat(parsed + excluded.size()).as(file).isEqualTo(queryLines);
      assertThat(excluded)
          .allSatisfy(
              q -> {
                assertThat(q.excludedBy()).matches("(skipif postgresql|onlyif (?!postgresql)).*");
                assertThat(q.sql()).isNotBlank().doesNotContain("----");
              });
    }
  }

  @Test
  void changesReplayFromTheirSeed() throws Exception {
    List<List<String>> logs = new ArrayList<>();
    for (int run = 0; run < 2; run++) {
      try (CorpusDatabase db = CorpusDatabase.fresh()) {
        db.execute("CREATE TABLE k (id int PRIMARY KEY, v text)");
        db.execute("CREATE TABLE u (a int, b int NOT NULL)");
        db.execute("INSERT INTO k VALUES (1, 'a'), (2, 'b'), (3, NULL)");
        db.execute("INSERT INTO u VALUES (1, 1), (1, 1), (NULL, 2)");
        RandomDml dml = new RandomDml(db, new Random(42));
        for (int round = 0; round < 4; round++) {
          dml.round(db.sourceTables());
        }
        // The same statements, but for where the rows chosen are (ctids may differ), and the
        // same contents.
        List<String> log = new ArrayList<>();
        dml.log().forEach(sql -> log.add(sql.replaceAll("ctid = '[^']*'", "ctid = ?")));
        log.addAll(db.column("SELECT k::text FROM k ORDER BY 1"));
        log.addAll(db.column("SELECT u::text FROM u ORDER BY 1"));
        logs.add(log);
        assertThat(db.column("SELECT count(*) FROM u WHERE b IS NULL")).containsExactly("0");
      }
    }
    assertThat(logs.get(1)).isEqualTo(logs.get(0));
  }
}
