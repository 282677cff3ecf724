"""`make bench-bonus`: how long one earning period takes over 1M active peers.

Makes a scratch database (created and dropped here, so the dev and test databases are left
alone), migrates it, seeds 50k members, 50k torrents, 1M peers and their peer_history rows
for one hour (two 30-minute announce intervals per peer: 2M rows) with generate_series, then
times, in the same run:
  - baseline: SELECT count(*) over that hour's peer_history rows (a full pass over the data
    the period reads, with nothing computed);
  - one earning period: bonus_award_period (the real function: rules, ledger rows, balances).
and prints both and their ratio. Sizes can be changed: BENCH_PEERS, BENCH_USERS,
BENCH_TORRENTS.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from scratch import USERS_SEED, create_scratch_database, drop_scratch_database, step

ROOT = Path(__file__).resolve().parents[2]
PEERS = int(os.environ.get("BENCH_PEERS", "1000000"))
USERS = int(os.environ.get("BENCH_USERS", "50000"))
TORRENTS = int(os.environ.get("BENCH_TORRENTS", "50000"))
START = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
END = START + timedelta(hours=1)



SEED = """

CREATE TEMP TABLE bench_users AS
SELECT row_number() OVER (ORDER BY id) AS n, id FROM users WHERE username LIKE 'bench%%';

INSERT INTO torrents (id, created_at, updated_at, info_hash_v1, version, name, description,
                      is_anonymous, status, size, file_count, piece_length, info_dict, source,
                      is_freeleech, is_neutral_leech, is_double_upload, is_featured,
                      category_id)
SELECT gen_random_uuid(), now(), now(), substring(sha256(('t' || i)::bytea) FROM 1 FOR 20),
       'v1', 'Bench.Torrent.' || i, '', false, 'approved',
       (100 * 1024 * 1024)::bigint * (1 + (i * 7919) %% 1000), 1, 262144, '\\x00'::bytea, '',
       i %% 20 = 0, false, false, false,
       (SELECT id FROM torrent_categories ORDER BY slug LIMIT 1)
FROM generate_series(1, %(torrents)s) i;

CREATE TEMP TABLE bench_torrents AS
SELECT row_number() OVER (ORDER BY id) AS n, id FROM torrents;

INSERT INTO torrent_statistics (id, created_at, updated_at, torrent_id, seeders, leechers,
                                snatches, total_uploaded, total_downloaded)
SELECT gen_random_uuid(), now(), now(), id, 1 + (n * 31) %% 40, n %% 7, 0, 0, 0
FROM bench_torrents;

-- Peer i: member 1 + i mod USERS, torrent 1 + (i * 7) mod TORRENTS; 80%% seeders.
CREATE TEMP TABLE bench_peers AS
SELECT i, u.id AS user_id, t.id AS torrent_id,
       substring(sha256(('p' || i)::bytea) FROM 1 FOR 20) AS peer_id, i %% 5 <> 0 AS seeder
FROM generate_series(1, %(peers)s) i
JOIN bench_users u ON u.n = 1 + i %% %(users)s
JOIN bench_torrents t ON t.n = 1 + (i * 7) %% %(torrents)s;

INSERT INTO peers (id, torrent_id, user_id, peer_id, peer_key, ip, port, uploaded,
                   downloaded, "left", is_seeder, client, user_agent, announce_count,
                   seedtime_seconds, leechtime_seconds, started_at, last_announce_at)
SELECT gen_random_uuid(), torrent_id, user_id, peer_id, '', '127.0.0.1', 6881, 0, 0,
       CASE WHEN seeder THEN 0 ELSE 1024 END, seeder, 'bench', '', 2, 3600, 0,
       %(start)s, %(end)s - interval '5 minutes'
FROM bench_peers;

INSERT INTO peer_history (id, recorded_at, torrent_id, user_id, peer_id, uploaded_delta,
                          downloaded_delta, "left", is_seeder, seedtime_seconds,
                          leechtime_seconds)
SELECT gen_random_uuid(), %(start)s + make_interval(mins => m + (i %% 20)), torrent_id,
       user_id, peer_id, 0, CASE WHEN seeder THEN 0 ELSE 1048576 END,
       CASE WHEN seeder THEN 0 ELSE 1024 END, seeder,
       CASE WHEN seeder THEN 1800 ELSE 0 END, CASE WHEN seeder THEN 0 ELSE 1800 END
FROM bench_peers CROSS JOIN (VALUES (5), (35)) AS intervals(m);

ANALYZE;
"""


def main() -> int:
    name, admin = create_scratch_database("bonus")
    os.environ["LOG_LEVEL"] = "WARNING"
    sys.path.insert(0, str(ROOT))
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        from domain.bonus.earning import bonus_award_period

        print(f"scratch database {name}: {PEERS:,} peers, {USERS:,} members, "
              f"{TORRENTS:,} torrents", flush=True)
        t = time.perf_counter()
        call_command("migrate", verbosity=0, interactive=False)
        t = step("migrate", t)
        with connection.cursor() as cursor:
            cursor.execute(USERS_SEED, {"users": USERS})
            cursor.execute(SEED, {"users": USERS, "torrents": TORRENTS, "peers": PEERS,
                                  "start": START, "end": END})
            t = step("seed (generate_series)", t)
            cursor.execute("SELECT count(*) FROM peer_history")
            history_rows = cursor.fetchone()[0]

            baseline = float("inf")
            for _ in range(3):  # warm the cache as the period will find it; keep the best
                began = time.perf_counter()
                cursor.execute("SELECT count(*) FROM peer_history "
                               "WHERE recorded_at >= %s AND recorded_at < %s", [START, END])
                cursor.fetchone()
                baseline = min(baseline, time.perf_counter() - began)

        began = time.perf_counter()
        result = bonus_award_period(period_start=START, period_end=END,
                                    now=END + timedelta(minutes=15))
        period = time.perf_counter() - began
        replay_began = time.perf_counter()
        replay = bonus_award_period(period_start=START, period_end=END,
                                    now=END + timedelta(minutes=15))
        replay_time = time.perf_counter() - replay_began

        print()
        print(f"peer_history rows in the period: {history_rows:,} ({PEERS:,} peers)")
        print(f"baseline  SELECT count(*) over the period's rows: {baseline * 1000:8.0f} ms")
        print(f"earning   one period (rules, ledger, balances):   {period * 1000:8.0f} ms"
              f"  -> {result.members:,} members, {result.points:,} points")
        print(f"ratio     earning / baseline: {period / baseline:.1f}x")
        print(f"share of the period's hour: {period / 3600:.3%}")
        print(f"replay of the same period (no-op): {replay_time * 1000:.0f} ms, "
              f"awarded={replay.awarded}")
        connection.close()
    finally:
        drop_scratch_database(name, admin)
    return 0


if __name__ == "__main__":
    sys.exit(main())
