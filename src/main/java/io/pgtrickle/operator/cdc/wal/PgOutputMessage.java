package io.pgtrickle.operator.cdc.wal;

import java.util.List;

/** A decoded pgoutput message (protocol version 1). Column values are in text form. */
public sealed interface PgOutputMessage {
  /** Start of a transaction; {@code finalLsn} is the LSN of its commit record. */
  record Begin(long finalLsn, long commitTimeMicros, int xid) implements PgOutputMessage {}

  /** End of a transaction: {@code commitLsn} is the commit record, {@code endLsn} just after it. */
  record Commit(long commitLsn, long endLsn, long commitTimeMicros) implements PgOutputMessage {}

  /** The shape of a relation, sent before its first change in a session. */
  record Relation(
      int relationId, String namespace, String name, char replicaIdentity, List<Column> columns)
      implements PgOutputMessage {}

  /** A column of a Relation: name, type OID and whether it is part of the replica identity key. */
  record Column(String name, int typeOid, int typeModifier, boolean key) {}

  record Insert(int relationId, List<Value> newRow) implements PgOutputMessage {}

  /** {@code oldRow} is present with REPLICA IDENTITY FULL, or when a key column changed. */
  record Update(int relationId, List<Value> oldRow, List<Value> newRow)
      implements PgOutputMessage {}

  record Delete(int relationId, List<Value> oldRow) implements PgOutputMessage {}

  record Truncate(List<Integer> relationIds, boolean cascade, boolean restartIdentity)
      implements PgOutputMessage {}

  /** Messages we read past: Origin, Type, and logical decoding messages. */
  record Other(char kind) implements PgOutputMessage {}

  /** One column value of a tuple. */
  record Value(Kind kind, String text) {
    public enum Kind {
      NULL,
      /** An unchanged TOASTed value that pgoutput does not resend. */
      UNCHANGED_TOAST,
      TEXT
    }
  }
}
