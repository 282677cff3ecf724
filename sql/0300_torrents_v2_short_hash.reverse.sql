DROP INDEX IF EXISTS torrents_info_hash_v2_short_idx;
