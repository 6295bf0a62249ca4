package io.pgtrickle.operator.engine.refresh;

import io.pgtrickle.operator.api.RefreshMode;
import java.sql.Connection;
import java.sql.SQLException;

/**
 * How a stream table's storage is brought up to date inside the refresh transaction. The caller
 * owns the transaction (REPEATABLE READ), the locks and the frontier; a strategy only applies the
 * difference, so a differential strategy can take FULL's place without touching the rest.
 */
public interface RefreshStrategy {
  RefreshMode mode();

  /**
   * Makes the storage table equal to the query as of the transaction's snapshot, touching only rows
   * that differ, so readers see the old contents or the new, never a partial or empty table.
   *
   * @return the number of rows inserted plus deleted
   */
  long apply(Connection connection, RefreshTarget target, ChangeWindow window) throws SQLException;
}
