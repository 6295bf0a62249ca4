package io.pgtrickle.operator.engine;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.regex.Pattern;
import org.postgresql.PGConnection;
import org.postgresql.core.BaseConnection;
import org.postgresql.core.NativeQuery;
import org.postgresql.core.Parser;
import org.postgresql.jdbc.PreferQueryMode;

/**
 * Guards the one place user text reaches the server: a stream table's query must be exactly one
 * statement, because pgjdbc splits text at top-level semicolons and would run every piece with the
 * operator's role ({@code SELECT 1; DROP TABLE t} would drop the table). The pieces are counted
 * with pgjdbc's own parser, the code that decides what is sent, so there is no second SQL lexer to
 * disagree with it; a semicolon inside a literal, a quoted identifier, a dollar-quoted string or a
 * comment is not a split. Behind it the server checks again: in pgjdbc's extended protocol (every
 * query mode but {@code simple}, which is refused) a Parse message holding several commands is
 * rejected. That the one statement is a query follows from where it goes: {@code CREATE VIEW ...
 * AS} accepts only SELECT, VALUES, TABLE and WITH ... SELECT, and refuses data-modifying WITH.
 */
final class SingleQuery {
  // A piece made of blanks and comments only, such as the "-- note" after "SELECT ...;". Nested
  // block comments do not match and are refused: the safe side.
  private static final Pattern ONLY_COMMENTS =
      Pattern.compile("(?s)(\\s|--[^\\n]*(\\n|$)|/\\*((?!/\\*).)*?\\*/)*");

  private SingleQuery() {}

  /** Fails with InvalidQuery unless {@code query} is one statement (trailing comments allowed). */
  static void require(Connection connection, String query) throws SQLException, EngineException {
    PGConnection pg = connection.unwrap(PGConnection.class);
    if (pg.getPreferQueryMode() == PreferQueryMode.SIMPLE) {
      throw new EngineException(
          Reason.InvalidSpec,
          "the connection uses preferQueryMode=simple, in which the server would run several"
              + " statements sent as one; remove preferQueryMode from the JDBC URL");
    }
    boolean standardStrings =
        connection.unwrap(BaseConnection.class).getStandardConformingStrings();
    List<NativeQuery> pieces =
        Parser.parseJdbcSql(query, standardStrings, false, true, false, false);
    long statements =
        pieces.stream().filter(p -> !ONLY_COMMENTS.matcher(p.nativeSql).matches()).count();
    if (statements != 1) {
      throw new EngineException(
          Reason.InvalidQuery,
          "spec.query must be exactly one query (SELECT, VALUES, TABLE or WITH ... SELECT), but it"
              + " holds "
              + statements
              + " statements separated by ';'; a ';' is allowed only inside literals, quoted"
              + " identifiers and comments");
    }
  }
}
