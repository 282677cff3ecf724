"""`make bench-catalog`: the requests browse page beside the torrents browse page, and the
top 10 refresh over 1M peer_history_daily rows (issue 13).

Makes a scratch database (created and dropped here), migrates it, and seeds with
generate_series (the bulk path tests/bench/api_bench.py uses): BENCH_TORRENTS approved
torrents (200,000; api_bench's SEED, with statistics and external ids), BENCH_USERS members
(20,000), BENCH_REQUESTS requests (50,000: two thirds open, a quarter filled, the rest
closed; bounties, votes and external ids spread) and BENCH_HISTORY peer_history_daily rows
(1,000,000 over the past 60 days), with a torrent_history row per (member, torrent) in them
(two in three completed: the period's snatched boards count completions). Then, in the same run:
  - pages: each requests browse filter and sort, and each torrents browse one, through
    Django's test client as a logged-in member (the whole view, middleware, template and
    database; no HTTP server), BENCH_PAGES times each (50): p50, p95 and queries per page,
    and every p95 against the torrents browse page's latest (the baseline); then four of
    them again with the count exact (BROWSE_COUNT_CAP=0, as the pages counted before
    domain/paging.py bounded it);
  - top 10: SELECT count(*) over the history joined to torrents and users (the baseline,
    best of three), then one top10_refresh (domain.catalog.top10, the beat task's
    function): its time against the baseline, goal under 10 s.
Records only in PostgreSQL; the cache gets a prefix of this run's own.
"""

from __future__ import annotations

import os
import secrets
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from api_bench import SEED as TORRENT_SEED  # the sibling script's seed
from scratch import USERS_SEED, create_scratch_database, drop_scratch_database, step

ROOT = Path(__file__).resolve().parents[2]
TORRENTS = int(os.environ.get("BENCH_TORRENTS", "200000"))
USERS = int(os.environ.get("BENCH_USERS", "20000"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "50000"))
HISTORY = int(os.environ.get("BENCH_HISTORY", "1000000"))
PAGES = int(os.environ.get("BENCH_PAGES", "50"))
GOAL_TOP10_S = 10.0

SEED = """

CREATE TEMP TABLE bench_users AS
SELECT row_number() OVER (ORDER BY id) - 1 AS n, id FROM users WHERE username LIKE 'bench%%';
CREATE TEMP TABLE bench_torrents AS
SELECT row_number() OVER (ORDER BY id) - 1 AS n, id, category_id FROM torrents;

-- Request i: requester i mod USERS; k = i mod 12 picks the state (0-7 open, 8-10 filled,
-- 11 closed); a bounty of 100 to 100,000 points; every third names an IMDb id.
INSERT INTO torrent_requests (id, created_at, updated_at, requester_id, category_id, title,
                              description, requirements, status, filled_torrent_id,
                              filler_id, filled_at, bounty_total, vote_count, deleted_at)
SELECT gen_random_uuid(), now() - make_interval(secs => i * 90), now(), u.id,
       t.category_id,
       w[1 + i %% 40] || ' ' || w[1 + (i / 40) %% 40] || ' ' || (1950 + i %% 75)::text,
       'Wanted: the ' || w[1 + i %% 40] || ' release.',
       CASE WHEN i %% 3 = 0
            THEN jsonb_build_object('imdb_id', 'tt' || lpad((2000000 + i)::text, 7, '0'),
                                    'resolution', '1080p')
            ELSE jsonb_build_object('resolution', '2160p') END,
       CASE WHEN i %% 12 < 8 THEN 'open' WHEN i %% 12 < 11 THEN 'filled' ELSE 'closed' END,
       CASE WHEN i %% 12 BETWEEN 8 AND 10 THEN t.id END,
       CASE WHEN i %% 12 BETWEEN 8 AND 10 THEN f.id END,
       CASE WHEN i %% 12 BETWEEN 8 AND 10 THEN now() - make_interval(secs => i * 30) END,
       100 + (i * 7919) %% 99901, 1 + (i * 31) %% 40, NULL
FROM generate_series(1, %(requests)s) i
CROSS JOIN bench_words
JOIN bench_users u ON u.n = i %% %(users)s
JOIN bench_users f ON f.n = (i * 13) %% %(users)s
JOIN bench_torrents t ON t.n = (i * 7) %% %(torrents)s;

-- Row i: day i mod 60 days ago, member i mod USERS, torrent (7919 i + i div 600000) mod
-- TORRENTS (distinct triples at the default sizes; a repeat is skipped and counted).
INSERT INTO peer_history_daily (id, day, torrent_id, user_id, uploaded, downloaded,
                                seedtime_seconds, leechtime_seconds, samples)
SELECT gen_random_uuid(), current_date - (s.i %% 60), t.id, u.id,
       (s.i %% 1000) * 1048576::bigint, (s.i %% 700) * 1048576::bigint,
       CASE WHEN s.i %% 4 = 0 THEN 0 ELSE 1800 + s.i %% 84600 END, s.i %% 3600, 1 + s.i %% 96
FROM generate_series(0, %(history)s - 1) s(i)
JOIN bench_users u ON u.n = s.i %% %(users)s
JOIN bench_torrents t ON t.n = (7919 * s.i::bigint + s.i / 600000) %% %(torrents)s
ON CONFLICT DO NOTHING;

-- torrent_history: one row per (member, torrent) the history names, as the tracker's flush
-- keeps it; two in three completed (the snatched board of a period counts completions),
-- at a time spread over the past 60 days.
INSERT INTO torrent_history (id, torrent_id, user_id, uploaded, downloaded, uploaded_raw,
                             downloaded_raw, seedtime_seconds, leechtime_seconds, client,
                             first_announce_at, last_announce_at, completed_at, immune)
SELECT gen_random_uuid(), torrent_id, user_id, up, down, up, down, seed, 0, '',
       now() - interval '60 days', now(),
       CASE WHEN n %% 3 < 2 THEN now() - make_interval(secs => (n * 7919) %% 5184000) END,
       false
FROM (SELECT torrent_id, user_id, SUM(uploaded) AS up, SUM(downloaded) AS down,
             SUM(seedtime_seconds) AS seed, row_number() OVER () AS n
      FROM peer_history_daily GROUP BY torrent_id, user_id) d;

ANALYZE;
"""



def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure(client: Any, path: str, params: dict[str, str], expect: bytes
            ) -> tuple[float, float, float]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(3):  # warm caches and connections as a running site has them
        client.get(path, params)
    times, queries = [], []
    for _ in range(PAGES):
        with CaptureQueriesContext(connection) as captured:
            began = time.perf_counter()
            response = client.get(path, params)
            times.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, (path, params, response.status_code)
        assert expect in response.content, (path, params, response.content[:300])
        queries.append(len(captured.captured_queries))
    return p(times, 0.5), p(times, 0.95), statistics.mean(queries)


def main() -> int:
    name, admin = create_scratch_database("catalog")
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ.setdefault("DJANGO_SECRET_KEY", secrets.token_urlsafe(48))
    os.environ["CACHE_PREFIX"] = f"bench-catalog-{uuid.uuid4().hex[:8]}"
    os.environ["TRACKER_REDIS_PREFIX"] = f"bench-catalog-{uuid.uuid4().hex[:8]}"
    sys.path.insert(0, str(ROOT))
    try:
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command
        from django.db import connection
        from django.test import Client, override_settings

        from domain.accounts.models import User, UserGroup, UserStatus
        from domain.catalog.top10 import top10_refresh

        print(f"count cap (BROWSE_COUNT_CAP) {settings.BROWSE_COUNT_CAP}; the 'exact "
              "count' rows run with 0", flush=True)
        print(f"scratch database {name}: {TORRENTS:,} torrents, {REQUESTS:,} requests, "
              f"{USERS:,} members, {HISTORY:,} peer_history_daily rows; {PAGES} pages each",
              flush=True)
        t = time.perf_counter()
        call_command("migrate", verbosity=0, interactive=False)
        t = step("migrate", t)
        with connection.cursor() as cursor:
            cursor.execute(TORRENT_SEED, {"torrents": TORRENTS})
            t = step("seed torrents (generate_series)", t)
            cursor.execute(USERS_SEED, {"users": USERS})
            cursor.execute(SEED, {"users": USERS, "torrents": TORRENTS,
                                  "requests": REQUESTS, "history": HISTORY})
            t = step("seed members, requests, history (generate_series)", t)
            cursor.execute("SELECT count(*) FROM peer_history_daily")
            history_rows = cursor.fetchone()[0]
            cursor.execute("SELECT count(*), count(completed_at) FROM torrent_history")
            pairs, completions = cursor.fetchone()
        member = User.objects.create_user(
            "benchviewer", "viewer@example.test", "bench-password-123",
            group=UserGroup.objects.get(name="member"), status=UserStatus.ACTIVE)
        client = Client()
        client.force_login(member)
        imdb = "tt" + str(2000000 + 3 * (REQUESTS // 6)).zfill(7)

        scenarios: list[tuple[str, str, dict[str, str]]] = [
            ("torrents: latest (baseline)", "/torrents/", {}),
            ("torrents: category movies-hd", "/torrents/", {"category": "movies-hd"}),
            ("torrents: sort seeders", "/torrents/", {"sort": "seeders"}),
            ("torrents: sort size asc", "/torrents/", {"sort": "size", "order": "asc"}),
            ("torrents: sort snatches", "/torrents/", {"sort": "snatches"}),
            ("torrents: freeleech", "/torrents/", {"freeleech": "on"}),
            ("torrents: q=comet river", "/torrents/", {"q": "comet river"}),
            ("torrents: page 100", "/torrents/", {"page": "100"}),
            ("requests: latest", "/requests/", {}),
            ("requests: category movies-hd", "/requests/", {"category": "movies-hd"}),
            ("requests: status open", "/requests/", {"status": "open"}),
            ("requests: status filled", "/requests/", {"status": "filled"}),
            ("requests: bounty 5000-20000", "/requests/",
             {"bounty_min": "5000", "bounty_max": "20000"}),
            ("requests: external id (imdb)", "/requests/", {"external_id": imdb}),
            ("requests: q=comet river", "/requests/", {"q": "comet river"}),
            ("requests: sort bounty", "/requests/", {"sort": "bounty"}),
            ("requests: open, sort bounty", "/requests/", {"status": "open", "sort": "bounty"}),
            ("requests: sort votes", "/requests/", {"sort": "votes"}),
            ("requests: sort age asc", "/requests/", {"sort": "created", "order": "asc"}),
            ("requests: sort filled", "/requests/", {"sort": "filled"}),
            ("requests: sort title asc", "/requests/", {"sort": "title", "order": "asc"}),
            ("requests: page 100", "/requests/", {"page": "100"}),
        ]
        # The count as it was before domain/paging.py bounded it (BROWSE_COUNT_CAP=0: an
        # exact count(*) over every match on every page), for the same pages.
        exact = [("torrents: latest, exact count", "/torrents/", {}),
                 ("torrents: sort seeders, exact count", "/torrents/", {"sort": "seeders"}),
                 ("requests: latest, exact count", "/requests/", {}),
                 ("requests: sort bounty, exact count", "/requests/", {"sort": "bounty"})]
        results = []
        for label, path, params in scenarios:
            results.append((label, *measure(client, path, params, b"<table")))
            print(f"  measured {label}", flush=True)
        with override_settings(BROWSE_COUNT_CAP=0):
            for label, path, params in exact:
                results.append((label, *measure(client, path, params, b"<table")))
                print(f"  measured {label}", flush=True)

        with connection.cursor() as cursor:
            baseline = float("inf")
            for _ in range(3):  # warm the cache as the job will find it; keep the best
                began = time.perf_counter()
                cursor.execute("SELECT count(*) FROM peer_history_daily h "
                               "JOIN torrents t ON t.id = h.torrent_id "
                               "JOIN users u ON u.id = h.user_id")
                cursor.fetchone()
                baseline = min(baseline, time.perf_counter() - began)
        refresh = top10_refresh()

        base_p95 = results[0][2]
        print()
        print(f"{'page':36} {'p50 ms':>8} {'p95 ms':>8} {'queries':>8} {'p95/torrents':>13}")
        for label, p50, p95, queries in results:
            print(f"{label:36} {p50:8.1f} {p95:8.1f} {queries:8.1f} {p95 / base_p95:12.2f}x")
        requests_p95 = [r[2] for r in results
                        if r[0].startswith("requests") and "exact" not in r[0]]
        torrents_p95 = [r[2] for r in results
                        if r[0].startswith("torrents") and "exact" not in r[0]]
        print(f"worst requests p95 {max(requests_p95):.1f} ms against worst torrents p95 "
              f"{max(torrents_p95):.1f} ms: {max(requests_p95) / max(torrents_p95):.2f}x")
        print()
        print(f"peer_history_daily rows: {history_rows:,}; torrent_history rows: {pairs:,} "
              f"({completions:,} completed)")
        print(f"baseline  SELECT count(*) over the joined rows: {baseline * 1000:8.0f} ms")
        print(f"top 10    one refresh (top10_refresh):          {refresh.seconds * 1000:8.0f} ms"
              f"  -> {refresh.entries} entries")
        print(f"ratio     refresh / baseline: {refresh.seconds / baseline:.1f}x")
        print(f"goal      under {GOAL_TOP10_S:.0f} s: "
              f"{'met' if refresh.seconds < GOAL_TOP10_S else 'MISSED'} "
              f"({refresh.seconds:.1f} s)")
        connection.close()
    finally:
        drop_scratch_database(name, admin)
    return 0


if __name__ == "__main__":
    sys.exit(main())
