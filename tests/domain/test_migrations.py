"""Migrations apply to an empty database, reverse to zero, and apply again.

Run in a throwaway database of its own (made and dropped here) through `manage.py`, so the
suite's test database and its default rows are left alone.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from psycopg import sql
from psycopg.conninfo import make_conninfo

from tests.domain.seed import SEED_TABLES

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def scratch_database():
    db = settings.DATABASES["default"]
    conninfo = make_conninfo(host=db["HOST"] or None, port=db["PORT"] or None,
                             user=db["USER"], password=db["PASSWORD"] or None)
    name = f"migcheck_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(conninfo, dbname="postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = (f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or 'localhost'}:"
           f"{db['PORT'] or 5432}/{name}")
    try:
        yield url, lambda: psycopg.connect(conninfo, dbname=name, autocommit=True)
    finally:
        with psycopg.connect(conninfo, dbname="postgres", autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                         .format(sql.Identifier(name)))


def manage(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url}
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def tables(connect) -> set[str]:
    with connect() as conn:
        return {r[0] for r in conn.execute(
            "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace "
            "AND relkind IN ('r', 'p')")}


def test_migrations_apply_from_zero_reverse_and_apply_again(scratch_database):
    url, connect = scratch_database
    manage(url, "migrate", "--noinput")
    assert tables(connect) >= SEED_TABLES
    with connect() as conn:
        assert conn.execute("SELECT count(*) FROM user_groups").fetchone() == (13,)

    # Every other domain app depends on the user model, except search: these two unapply all.
    manage(url, "migrate", "search", "zero", "--noinput")
    manage(url, "migrate", "accounts", "zero", "--noinput")
    left = tables(connect)
    assert left & SEED_TABLES == set()
    assert not any(t.startswith(("announces_", "audit_logs_")) for t in left)
    with connect() as conn:
        functions = {r[0] for r in conn.execute(
            "SELECT proname FROM pg_proc WHERE pronamespace = 'public'::regnamespace")}
    assert functions == set()

    manage(url, "migrate", "--noinput")
    assert tables(connect) >= SEED_TABLES
    with connect() as conn:
        assert conn.execute("SELECT count(*) FROM torrent_categories").fetchone() == (28,)


def test_models_and_migrations_agree(scratch_database):
    """No model change is waiting for a migration."""
    url, _ = scratch_database
    manage(url, "makemigrations", "--check", "--dry-run")
