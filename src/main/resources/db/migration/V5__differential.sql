-- The differential engine. differential_blocker: why the query is not maintained differentially
-- (NULL: it is), decided when the stream table was created or last rebuilt. differential_storage:
-- the storage carries the hidden pgt_ columns of a differential layout (and a state view
-- pgtrickle.pgt_state_<id> holds the query that computes them). storage_format: stream tables of
-- an earlier format are rebuilt once when next applied. last_refresh_reason: why the last refresh
-- ran FULL when the stream table could have run DIFFERENTIAL.
ALTER TABLE pgtrickle.pgt_stream_tables
    ADD COLUMN differential_blocker TEXT,
    ADD COLUMN differential_storage BOOLEAN NOT NULL DEFAULT false,
    ADD COLUMN storage_format SMALLINT NOT NULL DEFAULT 1,
    ADD COLUMN last_refresh_reason TEXT;
