-- peer_history is a plain table with a BRIN index on recorded_at (in the model). Where
-- TimescaleDB is installed it becomes a hypertable; Timescale needs the time column in
-- every unique index, so the primary key widens to (id, recorded_at) first.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
        ALTER TABLE peer_history DROP CONSTRAINT peer_history_pkey;
        ALTER TABLE peer_history ADD PRIMARY KEY (id, recorded_at);
        PERFORM create_hypertable('peer_history', 'recorded_at',
                                  chunk_time_interval => interval '1 week',
                                  migrate_data => true);
    END IF;
END
$$;
