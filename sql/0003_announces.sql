-- announces: one row per announce received, range-partitioned by month so old months
-- are archived and dropped whole. PostgreSQL needs the partition key in the primary key.
CREATE TABLE announces (
    id                  uuid        NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    torrent_id          uuid        NOT NULL REFERENCES torrents (id) ON DELETE CASCADE,
    user_id             uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    peer_id             bytea       NOT NULL CHECK (length(peer_id) = 20),
    ip                  inet        NOT NULL,
    port                integer     NOT NULL CHECK (port BETWEEN 1 AND 65535),
    event               varchar(16) NOT NULL DEFAULT ''
                        CHECK (event IN ('', 'started', 'completed', 'stopped', 'paused')),
    uploaded            bigint      NOT NULL CHECK (uploaded >= 0),
    downloaded          bigint      NOT NULL CHECK (downloaded >= 0),
    "left"              bigint      NOT NULL CHECK ("left" >= 0),
    uploaded_delta      bigint      NOT NULL DEFAULT 0 CHECK (uploaded_delta >= 0),
    downloaded_delta    bigint      NOT NULL DEFAULT 0 CHECK (downloaded_delta >= 0),
    credited_uploaded   bigint      NOT NULL DEFAULT 0 CHECK (credited_uploaded >= 0),
    credited_downloaded bigint      NOT NULL DEFAULT 0 CHECK (credited_downloaded >= 0),
    numwant             smallint    NOT NULL DEFAULT 0 CHECK (numwant >= 0),
    client              varchar(64)  NOT NULL DEFAULT '',
    user_agent          varchar(255) NOT NULL DEFAULT '',
    PRIMARY KEY (id, created_at)
) PARTITION BY RANGE (created_at);

CREATE INDEX announces_torrent_idx ON announces (torrent_id, created_at DESC);
CREATE INDEX announces_user_idx ON announces (user_id, created_at DESC);
CREATE INDEX announces_created_brin ON announces USING brin (created_at);

-- Catches rows outside every monthly partition (a clock far off); moved out by
-- ensure_monthly_partitions when their month's partition is made.
CREATE TABLE announces_default PARTITION OF announces DEFAULT;
SELECT ensure_monthly_partitions('announces', 3);
