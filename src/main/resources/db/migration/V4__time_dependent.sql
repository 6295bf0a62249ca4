-- What makes a stream table's contents depend on the clock as well as on its sources (now(),
-- CURRENT_DATE, ...), as found in its query when it was created or last rebuilt. Such a stream
-- table is refreshed in full on every schedule tick, changes or not. Empty: it depends on its
-- sources only.
ALTER TABLE pgtrickle.pgt_stream_tables
    ADD COLUMN time_dependent_on TEXT[] NOT NULL DEFAULT '{}';
