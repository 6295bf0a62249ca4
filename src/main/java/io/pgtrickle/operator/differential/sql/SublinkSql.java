package io.pgtrickle.operator.differential.sql;

import io.pgtrickle.operator.differential.model.Aggregate;
import io.pgtrickle.operator.differential.model.Branch;
import io.pgtrickle.operator.differential.model.QueryModel;
import io.pgtrickle.operator.differential.model.Span;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A sublink ({@code EXISTS}, {@code IN}, a scalar subquery of counts and sums) over its tables,
 * inner joined, as a delta term needs it: its value before the change, computed from its value now
 * and the change's weights (never from a snapshot), and the conditions on the outer row under which
 * that value can differ. Every piece is the subquery's own text with its select list swapped, run
 * against the tables now or against the change of the subquery's rows (the telescoping sum over its
 * changed tables, each row with its weight).
 */
final class SublinkSql {
  private static final String S = "pgt__s";

  private final QueryModel model;
  private final BranchSql branches;

  SublinkSql(QueryModel model, BranchSql branches) {
    this.model = model;
    this.branches = branches;
  }

  /** The text that stands for the sublink as it was before its table's change. */
  String before(Branch.NonLinear sublink) {
    return switch (sublink.kind()) {
      case EXISTS -> "((" + count(sublink, "") + ") > 0)";
      case IN -> inBefore(sublink);
      case SCALAR -> scalarBefore(sublink);
      case GROUPED_IN -> groupedIn(sublink, true);
      case LEFT_JOIN, FULL_JOIN -> throw new IllegalArgumentException("not a sublink");
    };
  }

  /**
   * The text that stands for the sublink as it is now, where its own text would read too much: an
   * IN over groups would aggregate its whole table; this looks at x's group only. Empty when the
   * sublink's text serves.
   */
  java.util.Optional<String> now(Branch.NonLinear sublink) {
    return sublink.kind() == Branch.NonLinear.Kind.GROUPED_IN
        ? java.util.Optional.of(groupedIn(sublink, false))
        : java.util.Optional.empty();
  }

  /**
   * Conditions on the outer row, at least one of which holds wherever the sublink's value may have
   * changed: a changed row of its table matches it (for IN also: a NULL came or went, which can
   * turn every row's answer to or from NULL; or the row's own operand is NULL).
   */
  List<String> candidates(Branch.NonLinear sublink) {
    if (sublink.kind() == Branch.NonLinear.Kind.GROUPED_IN) {
      return List.of(
          "EXISTS (SELECT 1 FROM "
              + changeOf(sublink, item(sublink) + " AS pgt__y")
              + " "
              + S
              + " WHERE "
              + operand(sublink)
              + " = "
              + S
              + ".pgt__y)");
    }
    if (sublink.kind() != Branch.NonLinear.Kind.IN) {
      return List.of("EXISTS (SELECT 1 FROM " + changeOf(sublink, "") + " " + S + ")");
    }
    String operand = operand(sublink);
    String change = "SELECT 1 FROM " + changeOf(sublink, item(sublink) + " AS pgt__y") + " " + S;
    return List.of(
        "EXISTS (" + change + " WHERE " + operand + " = " + S + ".pgt__y)",
        "EXISTS (" + change + " WHERE " + S + ".pgt__y IS NULL)",
        "(" + operand + " IS NULL AND EXISTS (" + change + "))");
  }

  /** The subquery over its table now, selecting {@code list}. */
  private String now(Branch.NonLinear sublink, String list) {
    return branches.render(sublink.subquery().orElseThrow(), list, Map.of());
  }

  /**
   * The change of the subquery's rows ({@link BranchSql#changeTerms}: the subquery is linear in
   * each of its tables), parenthesized for a FROM: {@code list} (may be empty) and each row's
   * weight as {@code pgt__w}.
   */
  private String changeOf(Branch.NonLinear sublink, String list) {
    return "("
        + String.join(" UNION ALL ", branches.changeTerms(sublink.subquery().orElseThrow(), list))
        + ")";
  }

  /**
   * How many rows of the subquery there were before the change, among those its item satisfies
   * {@code filter} for ({@code ""}: all): the count now less the change's weight.
   */
  private String count(Branch.NonLinear sublink, String filter) {
    String w = S + "." + ChangedSources.WEIGHT;
    if (sublink.kind() == Branch.NonLinear.Kind.EXISTS) {
      return "("
          + now(sublink, "count(*)")
          + ") - (SELECT "
          + sum(w)
          + " FROM "
          + changeOf(sublink, "")
          + " "
          + S
          + ")";
    }
    String y = item(sublink) + " AS pgt__y";
    String where = filter.isEmpty() ? "" : " WHERE " + filter;
    return "(SELECT count(*) FROM ("
        + now(sublink, y)
        + ") "
        + S
        + where
        + ") - (SELECT "
        + sum(w)
        + " FROM "
        + changeOf(sublink, y)
        + " "
        + S
        + where
        + ")";
  }

  private static String sum(String weight) {
    return "coalesce(sum(" + weight + "), 0)";
  }

  /**
   * {@code x IN (SELECT y ...)} before: true if a row with {@code y = x} was there; else NULL if a
   * NULL {@code y} was, or {@code x} is NULL and any row was; else false (SQL's three-valued IN).
   */
  private String inBefore(Branch.NonLinear sublink) {
    String operand = operand(sublink);
    return "(CASE WHEN ("
        + count(sublink, operand + " = " + S + ".pgt__y")
        + ") > 0 THEN true WHEN ("
        + count(sublink, S + ".pgt__y IS NULL")
        + ") > 0 OR ("
        + operand
        + " IS NULL AND ("
        + count(sublink, "")
        + ") > 0) THEN NULL ELSE false END)";
  }

  /**
   * A scalar subquery's item with each aggregate call replaced by its value before the change:
   * counts and sums now ({@code pgt__n}) less those of the change ({@code pgt__c}, rows added and
   * removed summed apart so a sum keeps its type); avg as PostgreSQL computes it, numeric sum over
   * count.
   */
  private String scalarBefore(Branch.NonLinear sublink) {
    List<Aggregate> calls = sublink.aggregates();
    // Now: the calls' own arguments over the subquery; the change: each argument selected as a
    // column of the change's rows (pgt__a<i>), summed outside with the rows' weights.
    List<String> arguments = new ArrayList<>();
    List<String> columns = new ArrayList<>();
    List<String> changedArguments = new ArrayList<>();
    for (int i = 0; i < calls.size(); i++) {
      Optional<Span> argument = calls.get(i).argument();
      arguments.add(argument.map(model::slice).orElse(""));
      argument.ifPresent(a -> columns.add(model.slice(a) + " AS pgt__a" + columns.size()));
      changedArguments.add(argument.isPresent() ? S + ".pgt__a" + (columns.size() - 1) : "");
    }
    Kept now = kept(calls, arguments, "");
    Kept change = kept(calls, changedArguments, S + "." + ChangedSources.WEIGHT);
    Span item = sublink.subquery().orElseThrow().itemExpressions().get(0);
    return "(SELECT "
        + withCalls(item, calls, now.before())
        + " FROM ("
        + now(sublink, String.join(", ", now.now()))
        + ") pgt__n, (SELECT "
        + String.join(", ", change.change())
        + " FROM "
        + changeOf(sublink, String.join(", ", columns))
        + " "
        + S
        + ") pgt__c)";
  }

  /**
   * {@code x IN (SELECT k ... GROUP BY k HAVING h)} (as a condition of its own: NULL counts as
   * false) now or before: x's group had rows and passed h, h's calls computed over x's rows only.
   * The subquery's rows are read through a derived table ({@code pgt__s}), so x keeps the meaning
   * it has outside the subquery.
   */
  private String groupedIn(Branch.NonLinear sublink, boolean before) {
    List<Aggregate> calls = sublink.aggregates();
    StringBuilder inner = new StringBuilder(item(sublink) + " AS pgt__y");
    List<String> arguments = new ArrayList<>();
    for (int i = 0; i < calls.size(); i++) {
      if (calls.get(i).argument().isPresent()) {
        inner.append(", ").append(model.slice(calls.get(i).argument().get()));
        inner.append(" AS pgt__a").append(i);
      }
      arguments.add(S + ".pgt__a" + i);
    }
    String match = " WHERE " + operand(sublink) + " = " + S + ".pgt__y";
    String w = S + "." + ChangedSources.WEIGHT;
    Kept kept = kept(calls, arguments, w);
    String rows = "pgt__n.pgt__rows";
    List<String> values = new ArrayList<>();
    for (int i = 0; i < calls.size(); i++) {
      values.add("pgt__n.pgt__v" + i);
    }
    List<String> nowList = new ArrayList<>(List.of("count(*) AS pgt__rows"));
    if (before) {
      nowList.addAll(kept.now());
      rows = "(" + rows + " - coalesce(pgt__c.pgt__rows, 0))";
      values = kept.before();
    } else {
      for (int i = 0; i < calls.size(); i++) {
        nowList.add(withArgument(calls.get(i), arguments.get(i)) + " AS pgt__v" + i);
      }
    }
    List<String> called = values;
    String passes =
        sublink
            .having()
            .map(h -> " AND coalesce(" + withCalls(h, calls, called) + ", false)")
            .orElse("");
    String from =
        " FROM (SELECT "
            + String.join(", ", nowList)
            + " FROM ("
            + now(sublink, inner.toString())
            + ") "
            + S
            + match
            + ") pgt__n";
    if (before) {
      List<String> changeList = new ArrayList<>(List.of("sum(" + w + ") AS pgt__rows"));
      changeList.addAll(kept.change());
      from +=
          ", (SELECT "
              + String.join(", ", changeList)
              + " FROM "
              + changeOf(sublink, inner.toString())
              + " "
              + S
              + match
              + ") pgt__c";
    }
    return "(SELECT " + rows + " > 0" + passes + from + ")";
  }

  /** An aggregate call's text with its argument replaced by {@code argument}. */
  private String withArgument(Aggregate call, String argument) {
    if (call.argument().isEmpty()) {
      return model.slice(call.call());
    }
    Span a = call.argument().get();
    return model.text().substring(call.call().begin(), a.begin())
        + argument
        + model.text().substring(a.end(), call.call().end());
  }

  /** The text of {@code span} with each of {@code calls} replaced by its value. */
  private String withCalls(Span span, List<Aggregate> calls, List<String> values) {
    StringBuilder edited = new StringBuilder(model.slice(span));
    List<Integer> order = new ArrayList<>();
    for (int i = 0; i < calls.size(); i++) {
      order.add(i);
    }
    order.sort(Comparator.comparingInt((Integer i) -> calls.get(i).call().begin()).reversed());
    for (int i : order) {
      Span call = calls.get(i).call();
      edited.replace(call.begin() - span.begin(), call.end() - span.begin(), values.get(i));
    }
    return edited.toString();
  }

  /**
   * What keeps count/sum/avg calls: the columns to select now ({@code pgt__n<i>}, {@code
   * pgt__k<i>}) and from the change ({@code pgt__d<i>}, added {@code pgt__p<i>} and removed {@code
   * pgt__m<i>} sums apart, so a sum keeps its type), and each call's value before the change from
   * those ({@code pgt__n.}, {@code pgt__c.}); avg as PostgreSQL computes it, numeric sum over
   * count.
   */
  private record Kept(List<String> now, List<String> change, List<String> before) {}

  private static Kept kept(List<Aggregate> calls, List<String> arguments, String w) {
    List<String> now = new ArrayList<>();
    List<String> change = new ArrayList<>();
    List<String> values = new ArrayList<>();
    for (int i = 0; i < calls.size(); i++) {
      Aggregate call = calls.get(i);
      String a = arguments.get(i);
      String n = "pgt__n.pgt__n" + i;
      String k = "pgt__n.pgt__k" + i;
      String d = "coalesce(pgt__c.pgt__d" + i + ", 0)";
      switch (call.kind()) {
        case COUNT_STAR -> {
          now.add("count(*) AS pgt__n" + i);
          change.add("sum(" + w + ") AS pgt__d" + i);
          values.add("(" + n + " - " + d + ")::bigint");
        }
        case COUNT -> {
          now.add("count(" + a + ") AS pgt__n" + i);
          change.add("sum(" + w + ") FILTER (WHERE (" + a + ") IS NOT NULL) AS pgt__d" + i);
          values.add("(" + n + " - " + d + ")::bigint");
        }
        case SUM, AVG -> {
          now.add("sum(" + a + ") AS pgt__n" + i + ", count(" + a + ") AS pgt__k" + i);
          change.add(
              "sum("
                  + a
                  + ") FILTER (WHERE "
                  + w
                  + " > 0) AS pgt__p"
                  + i
                  + ", sum("
                  + a
                  + ") FILTER (WHERE "
                  + w
                  + " < 0) AS pgt__m"
                  + i
                  + ", sum("
                  + w
                  + ") FILTER (WHERE ("
                  + a
                  + ") IS NOT NULL) AS pgt__d"
                  + i);
          String rows = "(" + k + " - " + d + ")";
          String sum =
              "(coalesce("
                  + n
                  + ", 0) - coalesce(pgt__c.pgt__p"
                  + i
                  + ", 0) + coalesce(pgt__c.pgt__m"
                  + i
                  + ", 0))";
          String value =
              call.kind() == Aggregate.Kind.SUM ? sum : sum + "::numeric / " + rows + "::numeric";
          values.add("(CASE WHEN " + rows + " = 0 THEN NULL ELSE " + value + " END)");
        }
        default -> throw new IllegalStateException("not kept by sums: " + call.kind());
      }
    }
    return new Kept(now, change, values);
  }

  private String operand(Branch.NonLinear sublink) {
    return "(" + model.slice(sublink.operand().orElseThrow()) + ")";
  }

  private String item(Branch.NonLinear sublink) {
    return model.slice(sublink.subquery().orElseThrow().itemExpressions().get(0));
  }
}
