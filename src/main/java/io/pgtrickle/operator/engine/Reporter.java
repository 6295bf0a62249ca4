package io.pgtrickle.operator.engine;

import io.pgtrickle.operator.capture.CaptureNode;
import io.pgtrickle.operator.capture.TopologyFollower;
import io.pgtrickle.operator.capture.WalCapture;
import io.pgtrickle.operator.catalog.CdcMode;
import io.pgtrickle.operator.catalog.ChangeTrackingRegistry;
import io.pgtrickle.operator.catalog.TrackedSource;
import io.pgtrickle.operator.cdc.ChangeBuffer;
import io.pgtrickle.operator.engine.StreamTableReport.NodeReport;
import io.pgtrickle.operator.engine.StreamTableReport.RefreshReport;
import io.pgtrickle.operator.engine.StreamTableReport.SourceReport;
import io.pgtrickle.operator.naming.ObjectNames;
import io.pgtrickle.operator.naming.SqlIdentifiers;
import io.pgtrickle.operator.naming.StableName;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import javax.sql.DataSource;

/** Reads a stream table's state for status: sources, per-node frontiers and lag, last refresh. */
final class Reporter {
  private final DataSource dataSource;
  private final ChangeTrackingRegistry registry;

  private final WalCapture wal;

  Reporter(DataSource dataSource, ChangeTrackingRegistry registry, WalCapture wal) {
    this.dataSource = dataSource;
    this.registry = registry;
    this.wal = wal;
  }

  StreamTableReport report(String schema, String name) throws EngineException {
    try (Connection connection = dataSource.getConnection()) {
      StreamTableRecord record =
          StreamTableCatalog.find(connection, schema, name)
              .orElseThrow(
                  () ->
                      new EngineException(
                          Reason.SourceMissing,
                          "stream table "
                              + SqlIdentifiers.qualified(schema, name)
                              + " does not exist"));
      List<SourceReport> sources = new ArrayList<>();
      for (StableName source : StreamTableCatalog.dependencies(connection, record.id())) {
        Optional<TrackedSource> tracked = registry.find(connection, source);
        Optional<NodeMark> mark = record.frontier().mark(source, Refresher.LOCAL_NODE_ID);
        boolean walCaptured = tracked.map(t -> t.cdcMode() == CdcMode.WAL).orElse(false);
        // WAL capture: per node, its frontier LSN and the WAL its slot still holds back there;
        // triggers: the local node, lagging only while unconsumed changes wait in the buffer.
        List<NodeReport> nodes =
            walCaptured
                ? wal.report(connection, tracked.get())
                : List.of(triggerNode(connection, source, mark));
        sources.add(
            new SourceReport(
                tracked
                    .map(t -> t.table().name().schema() + "." + t.table().name().table())
                    .orElse("?"),
                source.value(),
                tracked.map(t -> t.placement().catalogValue()).orElse("local"),
                tracked.map(t -> t.cdcMode().catalogValue()).orElse("trigger"),
                nodes,
                walCaptured
                    ? TopologyFollower.lastChange(connection, source)
                        .filter(c -> c.at().isAfter(record.createdAt()))
                    : Optional.empty()));
      }
      Optional<RefreshReport> last =
          record.lastRefreshAt() == null
              ? Optional.empty()
              : Optional.of(
                  new RefreshReport(
                      record.lastRefreshAt(),
                      record.lastRefreshMode(),
                      record.lastRefreshMillis() == null ? 0 : record.lastRefreshMillis(),
                      record.lastRefreshRows() == null ? 0 : record.lastRefreshRows(),
                      Optional.ofNullable(record.lastRefreshReason())));
      return new StreamTableReport(
          record.schema() + "." + record.name(),
          record.refreshMode(),
          record.placement(),
          sources,
          last,
          Optional.ofNullable(record.lastError()),
          record.timeDependentOn(),
          StreamTableGraph.load(connection).upstreamOf(record.schema(), record.name()));
    } catch (SQLException e) {
      throw StreamTableEngine.unexpected("read the state of " + schema + "." + name, e);
    }
  }

  private static NodeReport triggerNode(
      Connection connection, StableName source, Optional<NodeMark> mark) throws SQLException {
    boolean pending =
        ChangeBuffer.hasUnconsumed(
            connection, new ObjectNames(source), mark.map(NodeMark::snapshot).orElse(null));
    String lsn = mark.map(NodeMark::lsn).orElse(null);
    long lag = pending && lsn != null ? lagBytes(connection, lsn) : 0;
    return new NodeReport(Refresher.LOCAL_NODE_ID, CaptureNode.LOCAL.name(), lsn, lag);
  }

  private static long lagBytes(Connection connection, String lsn) throws SQLException {
    try (PreparedStatement statement =
        connection.prepareStatement(
            "SELECT pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_insert_lsn(), ?::pg_lsn)")) {
      statement.setString(1, lsn);
      try (ResultSet rs = statement.executeQuery()) {
        rs.next();
        return Math.max(0, rs.getLong(1));
      }
    }
  }
}
