package io.pgtrickle.operator.adopt;

import java.io.PrintWriter;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.SQLFeatureNotSupportedException;
import java.util.Set;
import java.util.logging.Logger;
import javax.sql.DataSource;

/**
 * A DataSource whose every connection is the adoption's own, open transaction: Flyway creates our
 * catalog inside it (PostgreSQL's DDL is transactional), so parking the upstream catalog and
 * creating ours commit or roll back together. Flyway's commits, rollbacks, auto-commit switches and
 * closes are ignored; the adoption alone ends the transaction (a failed migration throws, and the
 * adoption rolls everything back).
 */
final class TransactionDataSource implements DataSource {
  private static final Set<String> IGNORED = Set.of("commit", "rollback", "setAutoCommit", "close");

  private final Connection connection;

  TransactionDataSource(Connection transaction) {
    Connection target = transaction;
    this.connection =
        (Connection)
            Proxy.newProxyInstance(
                Connection.class.getClassLoader(),
                new Class<?>[] {Connection.class},
                (proxy, method, args) -> {
                  if (IGNORED.contains(method.getName())) {
                    return null;
                  }
                  if (method.getName().equals("getAutoCommit")) {
                    return false;
                  }
                  try {
                    return method.invoke(target, args);
                  } catch (InvocationTargetException e) {
                    throw e.getCause();
                  }
                });
  }

  @Override
  public Connection getConnection() {
    return connection;
  }

  @Override
  public Connection getConnection(String username, String password) {
    return connection;
  }

  @Override
  public PrintWriter getLogWriter() {
    return null;
  }

  @Override
  public void setLogWriter(PrintWriter out) {}

  @Override
  public void setLoginTimeout(int seconds) {}

  @Override
  public int getLoginTimeout() {
    return 0;
  }

  @Override
  public Logger getParentLogger() throws SQLFeatureNotSupportedException {
    throw new SQLFeatureNotSupportedException();
  }

  @Override
  public <T> T unwrap(Class<T> iface) throws java.sql.SQLException {
    throw new java.sql.SQLException("not a wrapper");
  }

  @Override
  public boolean isWrapperFor(Class<?> iface) {
    return false;
  }
}
