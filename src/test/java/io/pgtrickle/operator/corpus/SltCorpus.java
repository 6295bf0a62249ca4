package io.pgtrickle.operator.corpus;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.JarURLConnection;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.regex.Pattern;
import net.hydromatic.sqllogictest.ISqlTestOperation;
import net.hydromatic.sqllogictest.OptionsParser;
import net.hydromatic.sqllogictest.SltSqlStatement;
import net.hydromatic.sqllogictest.SltTestFile;
import net.hydromatic.sqllogictest.SqlTestQuery;

/**
 * SQLite's sqllogictest files, as {@code net.hydromatic:sql-logic-test} ships them (resources under
 * {@code test/}), read with that library's own parser: it keeps the records a PostgreSQL run keeps
 * ({@code skipif postgresql} records dropped, {@code onlyif <other>} records dropped, {@code onlyif
 * postgresql} kept), strips comments and the expected results, and reads {@code hash-threshold} and
 * {@code halt}.
 */
final class SltCorpus {
  /** A record of a file: a statement that builds or changes tables, or a query. */
  sealed interface SltRecord permits Statement, Query {}

  /** {@code statement ok} (or {@code statement error}: {@code shouldPass} false). */
  record Statement(String sql, boolean shouldPass) implements SltRecord {}

  /**
   * A {@code query}, named by its key: its position among the file's queries for PostgreSQL (from
   * 0), or {@code x<n>} for the n-th query the file excludes from PostgreSQL runs ({@code
   * excludedBy} is then the condition, else null).
   */
  record Query(String file, String key, String sql, String excludedBy) implements SltRecord {
    String id() {
      return "slt:" + file + "#" + key;
    }
  }

  private SltCorpus() {}

  /** The {@code .test} resources whose path matches {@code files}, sorted. */
  static List<String> files(Pattern files) throws IOException {
    URL anchor = loader().getResource("test/select1.test");
    if (anchor == null || !(anchor.openConnection() instanceof JarURLConnection jar)) {
      return List.of();
    }
    List<String> found = new ArrayList<>();
    try (JarFile file = new JarFile(jar.getJarFileURL().getPath())) {
      Enumeration<JarEntry> entries = file.entries();
      while (entries.hasMoreElements()) {
        String name = entries.nextElement().getName();
        if (name.startsWith("test/") && name.endsWith(".test") && files.matcher(name).find()) {
          found.add(name);
        }
      }
    }
    found.sort(null);
    return found;
  }

  /** The file's records, in order, as the library's parser reads them for PostgreSQL. */
  static List<SltRecord> parse(String resource) throws IOException {
    PrintStream quiet =
        new PrintStream(OutputStream.nullOutputStream(), true, StandardCharsets.UTF_8);
    OptionsParser.SuppliedOptions options = new OptionsParser(false, quiet, quiet).getOptions();
    SltTestFile file = new SltTestFile(resource);
    file.parse(options);
    List<SltRecord> records = new ArrayList<>();
    int ordinal = 0;
    for (ISqlTestOperation operation : file.fileContents) {
      if (operation instanceof SltSqlStatement statement) {
        records.add(new Statement(statement.statement, statement.shouldPass));
      } else if (operation instanceof SqlTestQuery query) {
        records.add(new Query(resource, Integer.toString(ordinal++), query.getQuery(), null));
      }
    }
    return records;
  }

  /**
   * The query records the file's own conditions exclude from a PostgreSQL run (those the parser
   * drops: {@code skipif postgresql}, {@code onlyif <another database>}), read by a small reader of
   * the record format, each with its first excluding condition line, comment included, as {@code
   * excludedBy}; keys {@code x0}, {@code x1}, ... in file order.
   */
  static List<Query> excludedQueries(String resource) throws IOException {
    List<Query> excluded = new ArrayList<>();
    try (InputStream in = loader().getResourceAsStream(resource)) {
      if (in == null) {
        return excluded;
      }
      String reason = null;
      StringBuilder sql = null;
      for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n", -1)) {
        String trimmed = line.strip();
        if (sql != null) {
          if (trimmed.isEmpty() || trimmed.startsWith("----")) {
            excluded.add(
                new Query(resource, "x" + excluded.size(), sql.toString().strip(), reason));
            sql = null;
            reason = null;
          } else {
            sql.append(line).append('\n');
          }
        } else if (trimmed.startsWith("skipif ") || trimmed.startsWith("onlyif ")) {
          String database = trimmed.substring(7).split("#", -1)[0].strip();
          boolean excludes =
              trimmed.startsWith("skipif ")
                  ? database.equals("postgresql")
                  : !database.equals("postgresql");
          if (excludes && reason == null) {
            reason = trimmed;
          }
        } else if (trimmed.startsWith("query") && reason != null) {
          sql = new StringBuilder();
        } else if (trimmed.isEmpty() || trimmed.startsWith("statement")) {
          reason = null;
        }
      }
      if (sql != null) {
        excluded.add(new Query(resource, "x" + excluded.size(), sql.toString().strip(), reason));
      }
    }
    return excluded;
  }

  private static ClassLoader loader() {
    return Thread.currentThread().getContextClassLoader();
  }
}
