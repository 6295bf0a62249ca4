package io.pgtrickle.operator.cdc.wal;

import io.pgtrickle.operator.cdc.wal.PgOutputMessage.Value;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Decodes pgoutput's binary protocol, version 1 (PostgreSQL's logical replication output plugin).
 * Written by hand: no maintained Java library exposes a pgoutput decoder (pgjdbc streams raw bytes;
 * Debezium's decoder is internal to its connector). The format is small and documented in
 * PostgreSQL's "Logical Replication Message Formats".
 */
public final class PgOutputDecoder {
  private PgOutputDecoder() {}

  public static PgOutputMessage decode(byte[] message) {
    ByteBuffer buffer = ByteBuffer.wrap(message);
    char kind = (char) buffer.get();
    return switch (kind) {
      case 'B' -> new PgOutputMessage.Begin(buffer.getLong(), buffer.getLong(), buffer.getInt());
      case 'C' -> {
        buffer.get(); // flags, unused
        yield new PgOutputMessage.Commit(buffer.getLong(), buffer.getLong(), buffer.getLong());
      }
      case 'R' -> relation(buffer);
      case 'I' -> {
        int relation = buffer.getInt();
        expect(buffer, 'N');
        yield new PgOutputMessage.Insert(relation, tuple(buffer));
      }
      case 'U' -> {
        int relation = buffer.getInt();
        char next = (char) buffer.get();
        List<Value> old = null;
        if (next == 'K' || next == 'O') {
          old = tuple(buffer);
          next = (char) buffer.get();
        }
        if (next != 'N') {
          throw new IllegalArgumentException("pgoutput Update: expected N, got " + next);
        }
        yield new PgOutputMessage.Update(relation, old, tuple(buffer));
      }
      case 'D' -> {
        int relation = buffer.getInt();
        char next = (char) buffer.get();
        if (next != 'K' && next != 'O') {
          throw new IllegalArgumentException("pgoutput Delete: expected K or O, got " + next);
        }
        yield new PgOutputMessage.Delete(relation, tuple(buffer));
      }
      case 'T' -> {
        int count = buffer.getInt();
        byte options = buffer.get();
        List<Integer> relations = new ArrayList<>(count);
        for (int i = 0; i < count; i++) {
          relations.add(buffer.getInt());
        }
        yield new PgOutputMessage.Truncate(relations, (options & 1) != 0, (options & 2) != 0);
      }
      default -> new PgOutputMessage.Other(kind);
    };
  }

  private static PgOutputMessage.Relation relation(ByteBuffer buffer) {
    int id = buffer.getInt();
    String namespace = string(buffer);
    String name = string(buffer);
    char identity = (char) buffer.get();
    int count = buffer.getShort();
    List<PgOutputMessage.Column> columns = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      boolean key = (buffer.get() & 1) != 0;
      columns.add(
          new PgOutputMessage.Column(string(buffer), buffer.getInt(), buffer.getInt(), key));
    }
    return new PgOutputMessage.Relation(id, namespace, name, identity, columns);
  }

  private static List<Value> tuple(ByteBuffer buffer) {
    int count = buffer.getShort();
    List<Value> values = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      char kind = (char) buffer.get();
      switch (kind) {
        case 'n' -> values.add(new Value(Value.Kind.NULL, null));
        case 'u' -> values.add(new Value(Value.Kind.UNCHANGED_TOAST, null));
        case 't' -> {
          byte[] bytes = new byte[buffer.getInt()];
          buffer.get(bytes);
          values.add(new Value(Value.Kind.TEXT, new String(bytes, StandardCharsets.UTF_8)));
        }
        default ->
            throw new IllegalArgumentException("pgoutput tuple: unknown column kind " + kind);
      }
    }
    return values;
  }

  /** A NUL-terminated string. */
  private static String string(ByteBuffer buffer) {
    int start = buffer.position();
    int end = start;
    while (buffer.get(end) != 0) {
      end++;
    }
    byte[] bytes = new byte[end - start];
    buffer.get(bytes);
    buffer.get(); // the terminating NUL
    return new String(bytes, StandardCharsets.UTF_8);
  }

  private static void expect(ByteBuffer buffer, char wanted) {
    char got = (char) buffer.get();
    if (got != wanted) {
      throw new IllegalArgumentException("pgoutput: expected " + wanted + ", got " + got);
    }
  }
}
