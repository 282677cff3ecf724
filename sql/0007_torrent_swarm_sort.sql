-- The browse, API and Torznab lists sort by seeders, leechers and snatches (issue 16).
-- Those live in torrent_statistics, and a LEFT JOIN cannot be read in the order of the
-- statistics' own index: every sort read all approved torrents and their statistics and
-- sorted them (280-560 ms at 200k torrents). torrents.stat_* are copies, kept here by a
-- trigger on every write to torrent_statistics (the tracker's flush, the reaper, the
-- housekeeping fix, uploads, admin), so each sort key has a partial btree over the listed
-- (approved, live) torrents in the list's exact order, ties included. NULL when the
-- torrent has no statistics row: the lists' NULLS LAST, as the LEFT JOIN gave.
-- The columns are not model fields: Django never writes them, so a torrent saved from a
-- stale instance cannot overwrite the tracker's counts.
ALTER TABLE torrents ADD COLUMN stat_seeders integer,
                     ADD COLUMN stat_leechers integer,
                     ADD COLUMN stat_snatches integer;

CREATE OR REPLACE FUNCTION torrent_statistics_sort_copy() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        UPDATE torrents SET stat_seeders = NULL, stat_leechers = NULL, stat_snatches = NULL
         WHERE id = OLD.torrent_id;
        RETURN OLD;
    END IF;
    UPDATE torrents
       SET stat_seeders = NEW.seeders, stat_leechers = NEW.leechers,
           stat_snatches = NEW.snatches
     WHERE id = NEW.torrent_id
       AND (stat_seeders, stat_leechers, stat_snatches)
           IS DISTINCT FROM (NEW.seeders, NEW.leechers, NEW.snatches);
    RETURN NEW;
END
$$;

CREATE TRIGGER torrent_statistics_sort_copy_ins_del
    AFTER INSERT OR DELETE ON torrent_statistics
    FOR EACH ROW EXECUTE FUNCTION torrent_statistics_sort_copy();

-- Only when a count changed: a flush rewrites every touched torrent's row, most of them
-- for their byte totals alone.
CREATE TRIGGER torrent_statistics_sort_copy_upd
    AFTER UPDATE OF seeders, leechers, snatches ON torrent_statistics
    FOR EACH ROW
    WHEN ((OLD.seeders, OLD.leechers, OLD.snatches)
          IS DISTINCT FROM (NEW.seeders, NEW.leechers, NEW.snatches))
    EXECUTE FUNCTION torrent_statistics_sort_copy();

UPDATE torrents t
   SET stat_seeders = s.seeders, stat_leechers = s.leechers, stat_snatches = s.snatches
  FROM torrent_statistics s
 WHERE s.torrent_id = t.id;

-- In the lists' order (domain.catalog.selectors._browse_queryset): the count NULLS LAST,
-- then id descending, both directions; over the rows the member lists read.
CREATE INDEX torrents_seeders_desc_idx ON torrents (stat_seeders DESC NULLS LAST, id DESC)
    WHERE status = 'approved' AND deleted_at IS NULL;
CREATE INDEX torrents_seeders_asc_idx ON torrents (stat_seeders ASC NULLS LAST, id DESC)
    WHERE status = 'approved' AND deleted_at IS NULL;
CREATE INDEX torrents_leechers_desc_idx ON torrents (stat_leechers DESC NULLS LAST, id DESC)
    WHERE status = 'approved' AND deleted_at IS NULL;
CREATE INDEX torrents_leechers_asc_idx ON torrents (stat_leechers ASC NULLS LAST, id DESC)
    WHERE status = 'approved' AND deleted_at IS NULL;
CREATE INDEX torrents_snatches_desc_idx ON torrents (stat_snatches DESC NULLS LAST, id DESC)
    WHERE status = 'approved' AND deleted_at IS NULL;
CREATE INDEX torrents_snatches_asc_idx ON torrents (stat_snatches ASC NULLS LAST, id DESC)
    WHERE status = 'approved' AND deleted_at IS NULL;
