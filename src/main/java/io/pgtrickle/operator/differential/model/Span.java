package io.pgtrickle.operator.differential.model;

import net.sf.jsqlparser.parser.ASTNodeAccess;
import net.sf.jsqlparser.parser.SimpleNode;

/** A range {@code [begin, end)} of the deparsed query text that one parsed node covers. */
public record Span(int begin, int end) {
  public Span {
    if (begin < 0 || end < begin) {
      throw new IllegalArgumentException("bad span [" + begin + ", " + end + ")");
    }
  }

  /**
   * The span of a node as JSqlParser's tokens place it. Its token offsets are one past the
   * character they start at; {@code end} is exclusive after the same shift.
   */
  static Span of(ASTNodeAccess node) throws NotDifferentialException {
    SimpleNode ast = node.getASTNode();
    if (ast == null || ast.jjtGetFirstToken() == null || ast.jjtGetLastToken() == null) {
      throw new NotDifferentialException(
          "the query form " + node.getClass().getSimpleName() + " cannot be located in its text");
    }
    return new Span(
        ast.jjtGetFirstToken().absoluteBegin - 1, ast.jjtGetLastToken().absoluteEnd - 1);
  }

  /**
   * The span of a select-list item's expression. JSqlParser does not place every parenthesized
   * expression ({@code (a.id >= 3) AS c1}); the item itself it does, and the expression is then the
   * item without its alias.
   */
  static Span ofExpression(String text, net.sf.jsqlparser.statement.select.SelectItem<?> item)
      throws NotDifferentialException {
    if (item.getExpression().getASTNode() != null) {
      return of(item.getExpression());
    }
    Span whole = of(item);
    if (item.getAlias() == null) {
      return whole;
    }
    String written = text.substring(whole.begin(), whole.end()).stripTrailing();
    String alias = item.getAlias().toString();
    if (!written.endsWith(alias)) {
      throw new NotDifferentialException("a select-list item it cannot locate");
    }
    int end = whole.begin() + written.length() - alias.length();
    while (end > whole.begin() && Character.isWhitespace(text.charAt(end - 1))) {
      end--;
    }
    return new Span(whole.begin(), end);
  }

  public boolean contains(Span other) {
    return begin <= other.begin && other.end <= end;
  }

  public boolean overlaps(Span other) {
    return begin < other.end && other.begin < end;
  }
}
