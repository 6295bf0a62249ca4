-- The placement asked for (auto, local, reference, distributed); st_placement is the one applied
-- (auto resolves to local or distributed from the sources when the stream table is created).
ALTER TABLE pgtrickle.pgt_stream_tables
    ADD COLUMN placement_spec TEXT NOT NULL DEFAULT 'auto'
    CHECK (placement_spec IN ('auto', 'local', 'reference', 'distributed'));
