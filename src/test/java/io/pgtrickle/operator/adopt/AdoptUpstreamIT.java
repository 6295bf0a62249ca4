package io.pgtrickle.operator.adopt;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.pgtrickle.operator.catalog.CatalogMigrator;
import io.pgtrickle.operator.catalog.UpstreamInstall;
import io.pgtrickle.operator.cdc.wal.SlotReader;
import io.pgtrickle.operator.engine.StreamTableEngine;
import io.pgtrickle.operator.naming.ObjectNames;
import io.pgtrickle.operator.naming.QualifiedTable;
import io.pgtrickle.operator.naming.StableName;
import io.pgtrickle.operator.testing.TestDatabase;
import io.pgtrickle.operator.testing.TestPostgres;
import io.pgtrickle.operator.testing.UpstreamFixture;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Adopting the upstream 0.31 layout ({@link UpstreamFixture}) with changes pending in its trigger
 * buffer and in its slot: the pending changes are converted once, the slot is handed over (copy,
 * advance, drop), the stream tables equal their queries afterwards and after further writes, and an
 * adoption stopped between its commit and the end of the handover is finished by a re-run.
 */
class AdoptUpstreamIT {
  private TestDatabase db;

  @AfterEach
  void dropSlots() throws Exception {
    if (db != null) {
      db.dropReplicationSlots();
    }
  }

  @Test
  void pendingChangesOfTheBufferAndTheSlotAreTakenOnceAndTheTablesEqualTheirQueries()
      throws Exception {
    db = TestPostgres.freshDatabase();
    UpstreamFixture fixture = UpstreamFixture.build(db);
    // More pending: an update and a delete in the trigger buffer, a second insert in the slot.
    db.execute(
        "UPDATE public.orders SET amount = 25 WHERE id = 2",
        "DELETE FROM public.orders WHERE id = 3",
        "INSERT INTO public.events VALUES (5, 'k5')");
    StreamTableEngine engine = new StreamTableEngine(db.dataSource());

    AdoptionReport report = new Adoption(db.dataSource(), engine).adopt();

    // orders: I(6,60), D(2,20) I(2,25), D(3,30); events: I(4,k4), I(5,k5)
    assertThat(report.convertedRows()).isEqualTo(6);
    assertThat(report.slotsHandedOver()).isEqualTo(1);
    assertThat(report.keptByOid()).isEmpty();
    assertThat(report.streamTables())
        .containsExactlyInAnyOrder("\"public\".\"orders_total\"", "\"public\".\"event_count\"");
    assertThat(report.notAdopted()).isEmpty();
    ObjectNames orders = names("orders");
    ObjectNames events = names("events");
    assertThat(bufferRows(orders)).isEqualTo("D (2,20),D (3,30),I (2,25),I (6,60)");
    assertThat(bufferRows(events)).isEqualTo("I (4,k4),I (5,k5)");
    assertHandedOver(fixture.walSources().get(0), events);
    long ordersOid = fixture.triggerSources().get(0);
    assertThat(
            db.queryLong(
                "SELECT count(*) FROM pg_trigger WHERE tgname ~ '^pg_trickle_cdc_.*_"
                    + ordersOid
                    + "$' AND tgenabled = 'D'"))
        .isEqualTo(4);
    assertThat(
            db.queryLong(
                "SELECT count(*) FROM pg_trigger WHERE tgname ~ '^pg_trickle_cdc_.*_"
                    + orders.stableName().value()
                    + "$' AND tgenabled = 'O'"))
        .isEqualTo(4);
    // The upstream catalog and storage are parked, ours is in place; the catalog opens again.
    assertThat(db.queryLong("SELECT count(*) FROM pgtrickle_upstream.pgt_stream_tables"))
        .isEqualTo(2);
    assertThat(db.queryLong("SELECT count(*) FROM pgtrickle_upstream.storage_1")).isEqualTo(1);
    assertThat(db.queryLong("SELECT count(*) FROM pgtrickle.pgt_stream_tables")).isEqualTo(2);
    CatalogMigrator.migrate(db.dataSource());
    assertTablesEqualQueries();

    // Decoding reads flushed WAL: commit as a real server's default does.
    db.execute(
        "SET synchronous_commit = on",
        "INSERT INTO public.orders VALUES (7, 70)",
        "UPDATE public.orders SET amount = amount + 1 WHERE id = 1",
        "INSERT INTO public.events VALUES (6, 'k6'), (7, 'k7')");
    engine.refresh("public", "orders_total");
    engine.refresh("public", "event_count");
    assertTablesEqualQueries();
    assertThat(db.queryLong("SELECT n FROM public.event_count")).isEqualTo(7);
  }

  @Test
  void anAdoptionStoppedAfterItsCommitIsFinishedByARerunWithNothingLostOrDoubled()
      throws Exception {
    for (String stop : new String[] {"COMMITTED", "COPIED", "ADVANCED"}) {
      db = TestPostgres.freshDatabase();
      UpstreamFixture fixture = UpstreamFixture.build(db);
      StreamTableEngine engine = new StreamTableEngine(db.dataSource());
      Adoption crashing =
          new Adoption(
              db.dataSource(),
              engine,
              step -> {
                if (step.equals(stop)) {
                  throw new SQLException("stopped at " + step);
                }
              });
      assertThatThrownBy(crashing::adopt)
          .as(stop)
          .isInstanceOf(AdoptionException.class)
          .hasMessageContaining("stopped at " + stop);
      // Writes while the adoption is half done: the trigger source is ours already, the WAL
      // source's changes wait in whichever slot exists.
      db.execute(
          "INSERT INTO public.orders VALUES (8, 80)", "INSERT INTO public.events VALUES (8, 'k8')");

      AdoptionReport report = new Adoption(db.dataSource(), engine).adopt();

      assertThat(report.convertedRows()).as(stop).isZero();
      assertThat(report.streamTables()).as(stop).hasSize(2);
      ObjectNames events = names("events");
      assertHandedOver(fixture.walSources().get(0), events);
      assertTablesEqualQueries();
      db.execute("SET synchronous_commit = on", "INSERT INTO public.events VALUES (9, 'k9')");
      engine.refresh("public", "event_count");
      engine.refresh("public", "orders_total");
      assertTablesEqualQueries();
      assertThat(db.queryLong("SELECT n FROM public.event_count")).as(stop).isEqualTo(6);
      // A third run has nothing left to do.
      AdoptionReport again = new Adoption(db.dataSource(), engine).adopt();
      assertThat(again.slotsHandedOver() + again.streamTables().size() + again.sources().size())
          .as(stop)
          .isZero();
      db.dropReplicationSlots();
    }
  }

  @Test
  void releaseGivesTheDatabaseBackUnderTheOldNamesAndTheUpstreamCapturesAgain() throws Exception {
    db = TestPostgres.freshDatabase();
    UpstreamFixture fixture = UpstreamFixture.build(db);
    long ordersOid = fixture.triggerSources().get(0);
    long eventsOid = fixture.walSources().get(0);
    List<String> before = oidNamedObjects();
    StreamTableEngine engine = new StreamTableEngine(db.dataSource());
    new Adoption(db.dataSource(), engine).adopt();
    db.execute(
        "SET synchronous_commit = on",
        "INSERT INTO public.orders VALUES (10, 100)",
        "INSERT INTO public.events VALUES (10, 'k10')");
    engine.refresh("public", "orders_total");
    engine.refresh("public", "event_count");
    db.execute(
        "SET synchronous_commit = on",
        "INSERT INTO public.orders VALUES (11, 110)",
        "INSERT INTO public.events VALUES (11, 'k11')");

    List<String> lines = new Release(db.dataSource()).release();

    assertThat(lines).anyMatch(l -> l.contains("handed 1 slot(s) back"));
    assertThat(oidNamedObjects()).isEqualTo(before);
    try (Connection connection = db.connect()) {
      UpstreamInstall found = UpstreamInstall.detect(connection).orElseThrow();
      assertThat(found.adopted()).isFalse();
      assertThat(found.upstreamCatalog()).isTrue();
      assertThat(found.extensionVersion()).contains(UpstreamFixture.VERSION);
    }
    assertThat(
            db.queryLong(
                "SELECT count(*) FROM pg_trigger WHERE tgname ~ '^pg_trickle_cdc_.*_"
                    + ordersOid
                    + "$' AND tgenabled = 'O'"))
        .isEqualTo(4);
    assertThat(
            db.queryLong("SELECT count(*) FROM pg_namespace WHERE nspname = 'pgtrickle_upstream'"))
        .isZero();
    assertThat(
            db.queryLong(
                "SELECT count(*) FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid"
                    + " WHERE d.objid = 'pgtrickle_changes'::regnamespace AND d.deptype = 'e'"))
        .isEqualTo(1);
    assertThat(
            db.queryLong(
                "SELECT count(*) FROM pg_publication WHERE pubname LIKE 'pgtrickle_pub_%'"))
        .isZero();
    // Its storage holds the query's result as of the release, its frontier is the release; the
    // hidden columns only the upstream computes are empty, and each stream table is marked for
    // the upstream's full rebuild, which gives them their values.
    assertTablesEqualQueries();
    for (String table : List.of("orders_total", "event_count")) {
      assertThat(
              db.queryString(
                  "SELECT string_agg(__pgt_row_id IS NULL || ' ' || __pgt_count, ',') FROM public."
                      + table))
          .as(table)
          .isEqualTo("true 0");
    }
    assertThat(db.queryLong("SELECT count(*) FROM pgtrickle.pgt_stream_tables WHERE needs_reinit"))
        .isEqualTo(2);
    assertThat(fixture.reinitializeLikeTheUpstream())
        .containsExactlyInAnyOrder("orders_total", "event_count");
    for (String table : List.of("orders_total", "event_count")) {
      assertThat(rows("SELECT * FROM public." + table))
          .as(table)
          .isEqualTo(rows(fixture.storageContent(table)));
    }
    assertTablesEqualQueries();
    String frontier =
        db.queryString(
            "SELECT frontier -> 'sources' -> '"
                + ordersOid
                + "' ->> 'lsn'"
                + " FROM pgtrickle.pgt_stream_tables WHERE pgt_id = 1");
    assertThat(frontier).isNotNull();

    // The upstream captures again, each change once: its trigger writes its buffer above the
    // frontier, its slot holds the write after the release alone.
    db.execute(
        "SET synchronous_commit = on",
        "INSERT INTO public.orders VALUES (12, 120)",
        "INSERT INTO public.events VALUES (12, 'k12')");
    assertThat(
            db.queryString(
                "SELECT string_agg(action || new_id, ',') FROM pgtrickle_changes.changes_"
                    + ordersOid
                    + " WHERE lsn > '"
                    + frontier
                    + "'"))
        .isEqualTo("I12");
    try (Connection connection = db.connect()) {
      List<String> slotRows = new java.util.ArrayList<>();
      SlotReader.peekUpTo(connection, "pgtrickle_" + eventsOid, "pgtrickle_cdc_" + eventsOid, 1000)
          .transactions()
          .forEach(t -> t.changes().forEach(c -> slotRows.add(c.op() + " " + c.rowText())));
      assertThat(slotRows).containsExactly("I (12,k12)");
    }
    // Our operator refuses it again; adopting it again works.
    assertThatThrownBy(() -> CatalogMigrator.migrate(db.dataSource()))
        .isInstanceOf(io.pgtrickle.operator.catalog.UpstreamInstallException.class);
    AdoptionReport again = new Adoption(db.dataSource(), engine).adopt();
    assertThat(again.streamTables()).hasSize(2);
    assertTablesEqualQueries();
  }

  @Test
  void aReleaseStoppedAfterItsCommitIsFinishedByARerunAndOneWithNewStreamTablesIsRefused()
      throws Exception {
    db = TestPostgres.freshDatabase();
    UpstreamFixture fixture = UpstreamFixture.build(db);
    long eventsOid = fixture.walSources().get(0);
    List<String> before = oidNamedObjects();
    StreamTableEngine engine = new StreamTableEngine(db.dataSource());
    new Adoption(db.dataSource(), engine).adopt();
    engine.apply(
        io.pgtrickle.operator.engine.StreamTableDefinition.from(
            spec("order_count", "SELECT count(*) AS n FROM public.orders")),
        "ours");
    String untouched =
        oidNamedObjects() + db.queryString("SELECT string_agg(nspname, ',') FROM pg_namespace");

    assertThatThrownBy(() -> new Release(db.dataSource()).release())
        .isInstanceOf(AdoptionException.class)
        .hasMessageContaining("\"public\".\"order_count\"");
    assertThat(
            oidNamedObjects() + db.queryString("SELECT string_agg(nspname, ',') FROM pg_namespace"))
        .isEqualTo(untouched);
    engine.drop("public", "order_count", "ours");

    Release crashing =
        new Release(
            db.dataSource(),
            step -> {
              if (step.equals("COMMITTED")) {
                throw new SQLException("stopped at " + step);
              }
            });
    assertThatThrownBy(crashing::release).hasMessageContaining("stopped at COMMITTED");
    db.execute("SET synchronous_commit = on", "INSERT INTO public.events VALUES (20, 'k20')");
    List<String> lines = new Release(db.dataSource()).release();

    assertThat(lines).anyMatch(l -> l.contains("released earlier"));
    assertThat(lines).anyMatch(l -> l.contains("handed 1 slot(s) back"));
    assertThat(oidNamedObjects()).isEqualTo(before);
    try (Connection connection = db.connect()) {
      List<String> slotRows = new java.util.ArrayList<>();
      SlotReader.peekUpTo(connection, "pgtrickle_" + eventsOid, "pgtrickle_cdc_" + eventsOid, 1000)
          .transactions()
          .forEach(t -> t.changes().forEach(c -> slotRows.add(c.op() + " " + c.rowText())));
      // Written after the release committed: the upstream's, once.
      assertThat(slotRows).containsExactly("I (20,k20)");
    }
  }

  private static io.pgtrickle.operator.api.StreamTableSpec spec(String name, String query) {
    io.pgtrickle.operator.api.StreamTableSpec spec =
        new io.pgtrickle.operator.api.StreamTableSpec();
    spec.setSchema("public");
    spec.setName(name);
    spec.setQuery(query);
    return spec;
  }

  private List<String> oidNamedObjects() throws SQLException {
    try (Connection connection = db.connect()) {
      return UpstreamInstall.detect(connection).orElseThrow().oidNamedObjects();
    }
  }

  @Test
  void aDatabaseWithoutTheUpstreamHasNothingToAdopt() throws Exception {
    db = TestPostgres.freshDatabase();
    assertThatThrownBy(
            () -> new Adoption(db.dataSource(), new StreamTableEngine(db.dataSource())).adopt())
        .isInstanceOf(AdoptionException.class)
        .hasMessageContaining("nothing to adopt");
    assertThat(db.queryLong("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'pgtrickle%'"))
        .isZero();
  }

  private void assertHandedOver(long upstreamOid, ObjectNames ours) throws SQLException {
    assertThat(
            db.queryLong(
                "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'pgtrickle_"
                    + upstreamOid
                    + "'"))
        .isZero();
    assertThat(
            db.queryLong(
                "SELECT count(*) FROM pg_replication_slots s, pgtrickle_upstream.pgt_adopted_source a"
                    + " WHERE s.slot_name = '"
                    + ours.replicationSlot()
                    + "' AND a.source_oid = "
                    + upstreamOid
                    + " AND s.confirmed_flush_lsn >= a.adoption_lsn AND a.slot_handed_over"))
        .isEqualTo(1);
  }

  /** The rows of a query, hidden columns included, as text. */
  private String rows(String query) throws SQLException {
    return db.queryString(
        "SELECT coalesce(string_agg(r::text, ',' ORDER BY r::text), '') FROM (" + query + ") r");
  }

  private void assertTablesEqualQueries() throws SQLException {
    assertThat(db.queryLong("SELECT total FROM public.orders_total"))
        .isEqualTo(db.queryLong("SELECT sum(amount) FROM public.orders"));
    assertThat(db.queryLong("SELECT n FROM public.event_count"))
        .isEqualTo(db.queryLong("SELECT count(*) FROM public.events"));
  }

  private String bufferRows(ObjectNames names) throws SQLException {
    return db.queryString(
        "SELECT string_agg(op::text || ' ' || row_data, ',' ORDER BY op::text, row_data) FROM "
            + names.changeBufferQualified()
            + " WHERE xid = (SELECT min(xid) FROM "
            + names.changeBufferQualified()
            + ")");
  }

  private ObjectNames names(String table) {
    return new ObjectNames(StableName.of(new QualifiedTable(db.name(), "public", table)));
  }
}
