package io.pgtrickle.operator.naming;

/**
 * FNV-1a, 64-bit. Written by hand: it is ten lines, fully specified by its two constants, and no
 * well-kept Java library ships it (Guava and commons-codec offer other hashes only).
 */
public final class Fnv1a64 {
  private static final long OFFSET_BASIS = 0xcbf29ce484222325L;
  private static final long PRIME = 0x100000001b3L;

  private Fnv1a64() {}

  public static long hash(byte[] bytes) {
    long hash = OFFSET_BASIS;
    for (byte b : bytes) {
      hash ^= b & 0xff;
      hash *= PRIME;
    }
    return hash;
  }

  /** The hash as 16 lower-case hex digits, zero-padded. */
  public static String hex(byte[] bytes) {
    return String.format("%016x", hash(bytes));
  }
}
