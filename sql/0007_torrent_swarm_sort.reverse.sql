DROP TRIGGER IF EXISTS torrent_statistics_sort_copy_upd ON torrent_statistics;
DROP TRIGGER IF EXISTS torrent_statistics_sort_copy_ins_del ON torrent_statistics;
DROP FUNCTION IF EXISTS torrent_statistics_sort_copy();
ALTER TABLE torrents DROP COLUMN IF EXISTS stat_seeders,
                     DROP COLUMN IF EXISTS stat_leechers,
                     DROP COLUMN IF EXISTS stat_snatches;
