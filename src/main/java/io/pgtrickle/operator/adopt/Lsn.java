package io.pgtrickle.operator.adopt;

import org.postgresql.replication.LogSequenceNumber;

/** WAL positions in their text form ({@code 0/16B3748}), compared as the numbers they are. */
final class Lsn {
  private Lsn() {}

  static int compare(String a, String b) {
    return Long.compareUnsigned(
        LogSequenceNumber.valueOf(a).asLong(), LogSequenceNumber.valueOf(b).asLong());
  }
}
