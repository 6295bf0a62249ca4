package io.pgtrickle.operator.differential.model;

import io.pgtrickle.operator.naming.SqlIdentifiers;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import net.sf.jsqlparser.JSQLParserException;
import net.sf.jsqlparser.parser.CCJSqlParserUtil;
import net.sf.jsqlparser.schema.Column;
import net.sf.jsqlparser.schema.Table;
import net.sf.jsqlparser.statement.Statement;
import net.sf.jsqlparser.statement.select.FromItem;
import net.sf.jsqlparser.statement.select.Join;
import net.sf.jsqlparser.statement.select.ParenthesedFromItem;
import net.sf.jsqlparser.statement.select.ParenthesedSelect;
import net.sf.jsqlparser.statement.select.PlainSelect;
import net.sf.jsqlparser.statement.select.Select;
import net.sf.jsqlparser.statement.select.SetOperationList;

/**
 * Writes a query's {@code JOIN … USING (c, …)} as {@code JOIN … ON (l.c = r.c AND …)}, so that an
 * outer join has a condition the engine can read as a piece of the text. The two mean the same
 * here: PostgreSQL prints a column merged by an inner, LEFT or RIGHT join as the column of the side
 * it comes from ({@code l.c}, or {@code r.c} for RIGHT), so nothing in the text names the merged
 * column itself. FULL JOIN's merged column is printed unqualified (it is a COALESCE): a query with
 * one is left as it is, as is one whose USING columns cannot be traced to a table (a subquery, a
 * function or a renamed column on the left).
 */
final class UsingJoins {
  private final String text;
  private final DatabaseFacts facts;
  private final List<TextEdit> edits = new ArrayList<>();

  /**
   * Which table (by the qualifier the text uses) each column name of a FROM item comes from; or
   * opaque, when the item reads something whose columns are not traced (then no USING over it is
   * rewritten: a column it has could be the one a USING means).
   */
  private static final class Columns {
    /** Lower-case unquoted name to qualifier; empty when two tables have it (ambiguous). */
    final Map<String, Optional<String>> byName = new HashMap<>();

    boolean opaque;

    void add(String name, String qualifier) {
      byName.merge(name, Optional.of(qualifier), (a, b) -> Optional.empty());
    }

    void addAll(Columns other, java.util.Set<String> except) {
      opaque |= other.opaque;
      other.byName.forEach(
          (name, qualifier) -> {
            if (!except.contains(name)) {
              byName.merge(name, qualifier, (a, b) -> Optional.empty());
            }
          });
    }

    String traced(String name) throws Untraceable {
      Optional<String> qualifier = byName.get(name);
      if (opaque || qualifier == null || qualifier.isEmpty()) {
        throw new Untraceable();
      }
      return qualifier.get();
    }

    static Columns opaque() {
      Columns columns = new Columns();
      columns.opaque = true;
      return columns;
    }
  }

  /** Thrown when a USING cannot be traced: the text is then left as it is. */
  private static final class Untraceable extends Exception {
    private static final long serialVersionUID = 1L;
  }

  private UsingJoins(String text, DatabaseFacts facts) {
    this.text = text;
    this.facts = facts;
  }

  /** {@code text} with its USING joins written with ON, or as it is when that cannot be done. */
  static String asOn(String text, DatabaseFacts facts) {
    if (!text.contains(" USING (")) {
      return text;
    }
    Statement statement;
    try {
      statement = CCJSqlParserUtil.parse(text);
    } catch (JSQLParserException e) {
      return text; // the modeler says why it cannot read the query
    }
    UsingJoins joins = new UsingJoins(text, facts);
    String rewritten;
    try {
      if (!(statement instanceof Select select)) {
        return text;
      }
      joins.select(select);
      if (select.getWithItemsList() != null) {
        for (var with : select.getWithItemsList()) {
          joins.select(with.getSelect());
        }
      }
      if (joins.edits.isEmpty()) {
        return text;
      }
      rewritten = TextEdit.apply(text, new Span(0, text.length()), joins.edits);
    } catch (Untraceable | NotDifferentialException e) {
      return text;
    }
    // A merged column PostgreSQL had to cast (USING over int and bigint) is printed unqualified,
    // which the ON form makes ambiguous: PostgreSQL itself then refuses the rewritten text.
    return facts.typeOf(rewritten).isPresent() ? rewritten : text;
  }

  private void select(Select select) throws Untraceable, NotDifferentialException {
    if (select instanceof ParenthesedSelect parenthesed) {
      select(parenthesed.getSelect());
    } else if (select instanceof SetOperationList list) {
      for (Select each : list.getSelects()) {
        select(each);
      }
    } else if (select instanceof PlainSelect plain && plain.getFromItem() != null) {
      from(plain.getFromItem(), plain.getJoins());
    }
  }

  /** The columns a FROM item and its joins offer, rewriting their USING clauses on the way. */
  private Columns from(FromItem item, List<Join> joins)
      throws Untraceable, NotDifferentialException {
    Columns left = leaf(item);
    if (joins == null) {
      return left;
    }
    for (Join join : joins) {
      Columns right = leaf(join.getRightItem());
      List<Column> using = join.getUsingColumns();
      if (using == null || using.isEmpty()) {
        left.addAll(right, java.util.Set.of());
        continue;
      }
      if (join.isFull() || join.isNatural()) {
        throw new Untraceable();
      }
      boolean fromRight = join.isRight();
      List<String> equal = new ArrayList<>();
      Columns merged = new Columns();
      java.util.Set<String> names = new java.util.HashSet<>();
      for (Column column : using) {
        String printed = column.getColumnName();
        String name = key(printed);
        String l = left.traced(name);
        String r = right.traced(name);
        equal.add(l + "." + printed + " = " + r + "." + printed);
        merged.add(name, fromRight ? r : l);
        names.add(name);
      }
      merged.addAll(left, names);
      merged.addAll(right, names);
      left = merged;
      edits.add(new TextEdit(usingClause(using), "ON (" + String.join(" AND ", equal) + ")"));
    }
    return left;
  }

  private Columns leaf(FromItem item) throws Untraceable, NotDifferentialException {
    if (item instanceof ParenthesedFromItem parenthesed) {
      if (parenthesed.getAlias() != null) {
        throw new Untraceable();
      }
      return from(parenthesed.getFromItem(), parenthesed.getJoins());
    }
    if (item instanceof ParenthesedSelect subquery) {
      select(subquery.getSelect()); // its own joins; its columns are not traced
      return Columns.opaque();
    }
    if (!(item instanceof Table table)
        || (table.getAlias() != null && table.getAlias().getAliasColumns() != null)
        || table.getSchemaName() == null) {
      // A WITH query's name (no schema: PostgreSQL prints every table schema-qualified here), a
      // function, or columns renamed by the alias.
      return Columns.opaque();
    }
    Optional<List<String>> names = facts.columnsOf(table.getFullyQualifiedName());
    if (names.isEmpty()) {
      return Columns.opaque();
    }
    String qualifier = table.getAlias() == null ? table.getName() : table.getAlias().getName();
    Columns columns = new Columns();
    for (String column : names.get()) {
      columns.add(column, qualifier);
    }
    return columns;
  }

  private Span usingClause(List<Column> columns) throws NotDifferentialException, Untraceable {
    int first = Span.of(columns.get(0)).begin();
    int open = text.lastIndexOf('(', first);
    int keyword = text.lastIndexOf("USING", open);
    int close = text.indexOf(')', Span.of(columns.get(columns.size() - 1)).end());
    if (open < 0
        || keyword < 0
        || close < 0
        || !text.substring(keyword + 5, open).isBlank()
        || !text.substring(open + 1, first).isBlank()) {
      throw new Untraceable();
    }
    return new Span(keyword, close + 1);
  }

  /** A column name as PostgreSQL stores it: unquoted, or folded to lower case when not quoted. */
  private static String key(String printed) {
    String name = SqlIdentifiers.splitQualified(printed).get(0);
    return printed.startsWith("\"") ? name : name.toLowerCase(java.util.Locale.ROOT);
  }
}
