package io.pgtrickle.operator.differential.model;

import io.pgtrickle.operator.naming.SqlIdentifiers;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import net.sf.jsqlparser.JSQLParserException;
import net.sf.jsqlparser.parser.CCJSqlParserUtil;
import net.sf.jsqlparser.schema.Table;
import net.sf.jsqlparser.statement.Statement;
import net.sf.jsqlparser.statement.select.PlainSelect;
import net.sf.jsqlparser.statement.select.Select;
import net.sf.jsqlparser.statement.select.SelectItem;
import net.sf.jsqlparser.statement.select.WithItem;
import net.sf.jsqlparser.util.TablesNamesFinder;

/**
 * Writes each reading of a WITH query read more than once as a subquery of the WITH query's own
 * text: {@code w x} becomes {@code ( SELECT ... ) x [(columns)]}. The stream table's query has no
 * volatile function (it is refused at create otherwise), so a WITH query read twice in one snapshot
 * gives the same rows at each reading, MATERIALIZED or not: the rewritten query means the same.
 * Each reading then has its own table occurrences, which the delta terms telescope over one by one;
 * the WITH clause stays as written (a query it is no longer read by is never run), for the queries
 * other WITH queries read.
 */
final class RepeatedWith {
  private RepeatedWith() {}

  /** The text with readings inlined and the names of the WITH queries that were. */
  record Inlined(String text, Set<String> names) {}

  /** At most this many rounds of inlining (a WITH query read twice by one read twice ...). */
  private static final int MAX_ROUNDS = 8;

  /**
   * {@code text} with every reading of a WITH query read more than once inlined, or empty when no
   * WITH query is (or the text cannot be read, which the model then reports).
   */
  static Optional<Inlined> inline(String text) {
    String current = text;
    Set<String> names = new LinkedHashSet<>();
    for (int round = 0; round < MAX_ROUNDS; round++) {
      Optional<String> next = round(current, names);
      if (next.isEmpty()) {
        break;
      }
      current = next.get();
    }
    return names.isEmpty() ? Optional.empty() : Optional.of(new Inlined(current, names));
  }

  /** One round: the readings of the WITH queries now read more than once, inlined. */
  private static Optional<String> round(String text, Set<String> inlined) {
    Statement statement;
    try {
      statement = CCJSqlParserUtil.parse(text);
    } catch (JSQLParserException e) {
      return Optional.empty();
    }
    if (!(statement instanceof Select select)
        || select.getWithItemsList() == null
        || select.getWithItemsList().isEmpty()) {
      return Optional.empty();
    }
    Map<String, WithItem<?>> withs = new HashMap<>();
    for (WithItem<?> with : select.getWithItemsList()) {
      if (with.isRecursive() || !(with.getSelect().getSelect() instanceof PlainSelect)) {
        return Optional.empty(); // refused as it is
      }
      withs.put(unquoted(with.getAliasName()), with);
    }
    List<Table> readings = new ArrayList<>();
    boolean[] nestedWith = {false};
    new TablesNamesFinder<Void>() {
      @Override
      public <S> Void visit(Table table, S context) {
        if (table.getSchemaName() == null
            && table.getASTNode() != null
            && withs.containsKey(unquoted(table.getName()))) {
          readings.add(table);
        }
        return super.visit(table, context);
      }

      @Override
      public <S> Void visit(WithItem<?> with, S context) {
        nestedWith[0] |= !select.getWithItemsList().contains(with);
        return super.visit(with, context);
      }
    }.getTables(statement);
    if (nestedWith[0]) {
      return Optional.empty(); // a WITH inside a subquery could shadow a name: refused as it is
    }
    // The finder may visit a FROM item more than once: a reading is a place in the text.
    Map<Span, Table> places = new java.util.LinkedHashMap<>();
    Map<String, Integer> counts = new HashMap<>();
    List<TextEdit> edits = new ArrayList<>();
    try {
      for (Table table : readings) {
        if (places.putIfAbsent(Span.of(table), table) == null) {
          counts.merge(unquoted(table.getName()), 1, Integer::sum);
        }
      }
      for (Table table : places.values()) {
        String name = unquoted(table.getName());
        if (counts.get(name) < 2) {
          continue;
        }
        if (table.getAlias() != null && table.getAlias().getAliasColumns() != null) {
          return Optional.empty(); // refused as it is
        }
        WithItem<?> with = withs.get(name);
        Span body = Span.of(with.getSelect().getSelect());
        String alias = table.getAlias() == null ? table.getName() : table.getAlias().getName();
        edits.add(
            new TextEdit(
                Span.of(table),
                "("
                    + text.substring(body.begin(), body.end())
                    + ") "
                    + alias
                    + columns(text, with.getWithItemList())));
        inlined.add(name);
      }
      if (edits.isEmpty()) {
        return Optional.empty();
      }
      return Optional.of(TextEdit.apply(text, new Span(0, text.length()), edits));
    } catch (NotDifferentialException e) {
      return Optional.empty();
    }
  }

  /** A WITH query's column names as written ({@code (a, b)}), or nothing. */
  private static String columns(String text, List<SelectItem<?>> columns)
      throws NotDifferentialException {
    if (columns == null || columns.isEmpty()) {
      return "";
    }
    return " ("
        + text.substring(
            Span.of(columns.get(0)).begin(), Span.of(columns.get(columns.size() - 1)).end())
        + ")";
  }

  private static String unquoted(String name) {
    return SqlIdentifiers.splitQualified(name).get(0);
  }
}
