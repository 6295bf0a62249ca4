-- What AUTO learned from a stream table's own refreshes (docs/design/differential.md, "AUTO"):
-- the last full refresh's duration, and the smallest change whose differential refresh took longer
-- than that (with its duration, for the reason AUTO gives). Reset when the storage is rebuilt.
ALTER TABLE pgtrickle.pgt_stream_tables
    ADD COLUMN auto_full_ms bigint,
    ADD COLUMN auto_slow_changes bigint,
    ADD COLUMN auto_slow_ms bigint;
