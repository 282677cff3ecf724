"""What the database benchmarks share: a scratch PostgreSQL database beside the configured
one (created empty, migrated by the benchmark, dropped at the end), its members seeded with
generate_series, and the timing line each phase prints."""

from __future__ import annotations

import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import dj_database_url
import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/tracker"

# %(users)s members of the default "member" class, named bench1..benchN, as raw rows (no
# password to hash: '!' is Django's unusable one).
USERS_SEED = """
INSERT INTO users (password, id, created_at, updated_at, username, email, status, passkey,
                   title, avatar_url, avatar, profile_text, bonus_points, warning_points,
                   group_id)
SELECT '!', gen_random_uuid(), now(), now(), 'bench' || i, 'bench' || i || '@example.test',
       'active', md5('passkey' || i), '', '', '', '', 0, 0,
       (SELECT id FROM user_groups WHERE name = 'member')
FROM generate_series(1, %(users)s) i;
"""


def conninfo(url: str) -> dict[str, Any]:
    db = dj_database_url.parse(url)
    return {"host": db["HOST"] or None, "port": db["PORT"] or None, "user": db["USER"],
            "password": db["PASSWORD"] or None, "dbname": db["NAME"]}


def step(label: str, started: float) -> float:
    now = time.perf_counter()
    print(f"  {label}: {now - started:.1f} s", flush=True)
    return now


def create_scratch_database(kind: str) -> tuple[str, dict[str, Any]]:
    """Create bench_<kind>_<random> on the configured server and point this process at it
    (DATABASE_URL, Django's settings, quiet logs). Returns its name and the connection
    to drop it with (drop_scratch_database)."""
    base_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    name = f"bench_{kind}_{uuid.uuid4().hex[:10]}"
    admin = {**conninfo(base_url), "dbname": "postgres"}
    with psycopg.connect(**admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    db = dj_database_url.parse(base_url)
    os.environ["DATABASE_URL"] = (f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@"
                                  f"{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{name}")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "server.settings")
    os.environ["LOG_LEVEL"] = "WARNING"
    sys.path.insert(0, str(ROOT))
    return name, admin


def reuse_scratch_database(name: str) -> tuple[str, dict[str, Any]]:
    """Point this process at a scratch database a previous run kept (BENCH_KEEP=1), as
    create_scratch_database would at a new one."""
    if not name.startswith("bench_"):
        raise SystemExit(f"{name}: not a scratch database (bench_...)")
    base_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    admin = {**conninfo(base_url), "dbname": "postgres"}
    db = dj_database_url.parse(base_url)
    os.environ["DATABASE_URL"] = (f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@"
                                  f"{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{name}")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "server.settings")
    os.environ["LOG_LEVEL"] = "WARNING"
    sys.path.insert(0, str(ROOT))
    return name, admin


def drop_scratch_database(name: str, admin: dict[str, Any]) -> None:
    with psycopg.connect(**admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                     .format(sql.Identifier(name)))
