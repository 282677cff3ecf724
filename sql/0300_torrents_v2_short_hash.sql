-- BEP 52: clients announce a v2 or hybrid torrent under its SHA-256 hash truncated to
-- 20 bytes. The tracker's cache fill finds the torrent by that prefix through this index.
CREATE INDEX torrents_info_hash_v2_short_idx
    ON torrents (substring(info_hash_v2 from 1 for 20))
    WHERE info_hash_v2 IS NOT NULL;
