package io.pgtrickle.operator.cli;

import io.pgtrickle.operator.naming.ObjectNames;
import io.pgtrickle.operator.naming.QualifiedTable;
import io.pgtrickle.operator.naming.SqlIdentifiers;
import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/** {@code names <database> <schema>.<table>}: the stable name and every derived object name. */
@Command(
    name = "names",
    mixinStandardHelpOptions = true,
    description = {
      "Prints the stable name of a source table and the name of every object derived from it.",
      "Needs no database. Names are raw catalog names (case kept); quote a part that contains a"
          + " dot: \"my.schema\".\"t\"."
    })
final class NamesCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Parameters(index = "0", paramLabel = "<database>", description = "database name")
  String database;

  @Parameters(index = "1", paramLabel = "<schema>.<table>", description = "qualified table name")
  String qualifiedTable;

  @Override
  public Integer call() {
    List<String> parts;
    try {
      parts = SqlIdentifiers.splitQualified(qualifiedTable);
    } catch (IllegalArgumentException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
    }
    if (parts.size() != 2) {
      throw new CommandLine.ParameterException(
          spec.commandLine(),
          "expected <schema>.<table>, got "
              + parts.size()
              + " part(s) in '"
              + qualifiedTable
              + "'; quote a name that contains a dot");
    }
    ObjectNames names = ObjectNames.of(new QualifiedTable(database, parts.get(0), parts.get(1)));
    PrintWriter out = spec.commandLine().getOut();
    out.println("stable_name=" + names.stableName());
    names.all().forEach((key, value) -> out.println(key + "=" + value));
    out.flush();
    return 0;
  }
}
