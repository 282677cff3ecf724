-- torrent_history for what was announced before it existed: transfer, client, first and
-- last announce and completion from the announces log, seed and leech time from
-- peer_history (those rows followed the swarm's two-interval rule, not the history's
-- 1.5). Archived announce partitions are not read: their members' rows start empty.
INSERT INTO torrent_history (id, user_id, torrent_id, uploaded, downloaded, uploaded_raw,
                             downloaded_raw, seedtime_seconds, leechtime_seconds, client,
                             first_announce_at, last_announce_at, completed_at, immune)
SELECT gen_random_uuid(), a.user_id, a.torrent_id,
       greatest(sum(a.credited_uploaded), 0), greatest(sum(a.credited_downloaded), 0),
       greatest(sum(a.uploaded_delta), 0), greatest(sum(a.downloaded_delta), 0),
       coalesce(max(s.seed), 0), coalesce(max(s.leech), 0),
       (array_agg(a.client ORDER BY a.created_at DESC))[1],
       min(a.created_at), max(a.created_at),
       min(a.created_at) FILTER (WHERE a.event = 'completed'), false
FROM announces a
JOIN torrents t ON t.id = a.torrent_id
JOIN users u ON u.id = a.user_id
LEFT JOIN (SELECT user_id, torrent_id, sum(seedtime_seconds) AS seed,
                  sum(leechtime_seconds) AS leech
           FROM peer_history GROUP BY user_id, torrent_id) s
       ON s.user_id = a.user_id AND s.torrent_id = a.torrent_id
GROUP BY a.user_id, a.torrent_id
ON CONFLICT (user_id, torrent_id) DO NOTHING;
