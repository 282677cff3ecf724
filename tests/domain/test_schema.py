"""The database has the seed's shape: every table under its own name, UUID keys, the
partitioned log tables, the indexes search and the tracker rely on."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.db import connection

from tests.domain.seed import OUR_TABLES, SEED_TABLES

pytestmark = pytest.mark.django_db

DOMAIN_APPS = ("accounts", "catalog", "tracker", "bonus", "community", "moderation", "search")


def _query(sql: str, params: list | None = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchall()


def test_every_seed_table_exists_under_its_name():
    present = {name for (name,) in _query(
        "SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace "
        "AND relkind IN ('r', 'p')")}
    assert SEED_TABLES - present == set()


def test_domain_models_map_exactly_onto_the_seed_tables():
    tables = {m._meta.db_table
              for app in DOMAIN_APPS for m in apps.get_app_config(app).get_models()}
    # Tables of our own beside the seed's are listed here as they are added.
    assert tables - OUR_TABLES == SEED_TABLES


@pytest.mark.parametrize("table", sorted(SEED_TABLES))
def test_primary_key_is_a_uuid_named_id(table):
    rows = _query(
        """SELECT a.attname, format_type(a.atttypid, a.atttypmod)
           FROM pg_index i JOIN pg_attribute a
             ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
           WHERE i.indrelid = %s::regclass AND i.indisprimary""", [table])
    columns = dict(rows)
    assert columns.get("id") == "uuid"
    # Partitioned tables carry their partition key in the primary key, nothing else.
    assert set(columns) - {"id"} <= {"created_at"}


def test_user_model_is_the_users_table():
    from django.contrib.auth import get_user_model

    assert get_user_model()._meta.db_table == "users"


@pytest.mark.parametrize("table", ["announces", "audit_logs"])
def test_log_tables_are_partitioned_by_month_with_months_ahead(table, settings):
    (kind,) = _query("SELECT relkind FROM pg_class WHERE oid = %s::regclass", [table])[0]
    assert kind == "p"
    (strategy, key) = _query(
        """SELECT partstrat, pg_get_partkeydef(partrelid) FROM pg_partitioned_table
           WHERE partrelid = %s::regclass""", [table])[0]
    assert strategy == "r" and key == "RANGE (created_at)"
    expected = {name for (name,) in _query(
        """SELECT %s || '_' || to_char(date_trunc('month', now() AT TIME ZONE 'UTC')
                                        + make_interval(months => n), 'YYYY_MM')
           FROM generate_series(0, 3) AS n""", [table])}
    partitions = {name for (name,) in _query(
        "SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = %s::regclass",
        [table])}
    assert expected | {f"{table}_default"} <= partitions


def test_peer_history_is_a_plain_table_with_brin_on_time():
    (kind,) = _query("SELECT relkind FROM pg_class WHERE oid = 'peer_history'::regclass")[0]
    assert kind == "r"
    rows = _query("SELECT indexdef FROM pg_indexes WHERE tablename = 'peer_history'")
    assert any("USING brin (recorded_at)" in d for (d,) in rows)


@pytest.mark.parametrize(("table", "method", "fragment"), [
    ("torrents", "gin", "(search_vector)"),
    ("torrents", "gin", "upper((name)::text) gin_trgm_ops"),
    ("torrent_tags", "gin", "gin_trgm_ops"),
    ("torrent_metadata", "gin", "(extra)"),
    ("user_groups", "gin", "(permissions)"),
    ("chat_messages", "gin", "(mentions)"),
    ("audit_logs", "gin", "jsonb_path_ops"),
    ("bans", "gist", "inet_ops"),
    ("announces", "brin", "(created_at)"),
])
def test_search_and_lookup_indexes_exist(table, method, fragment):
    rows = _query("SELECT indexdef FROM pg_indexes WHERE tablename = %s", [table])
    assert any(f"USING {method}" in d and fragment in d for (d,) in rows), rows


def test_partial_indexes_cover_soft_deleted_and_open_rows():
    """Compared by predicate pieces: PostgreSQL versions print the clauses in other orders."""
    rows = {name: d for name, d in _query(
        "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'")}

    def predicate(index: str) -> str:
        return rows[index].split(" WHERE ", 1)[1]

    assert "deleted_at IS NULL" in predicate("torrents_browse_idx")
    assert "'approved'" in predicate("torrents_browse_idx")
    assert "deleted_at IS NULL" in predicate("comments_target_idx")
    assert "recipient_deleted_at IS NULL" in predicate("pm_unread_idx")
    assert "is_read" in predicate("pm_unread_idx")


def test_pg_trgm_is_installed():
    assert _query("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'") == [(1,)]


def test_every_foreign_key_is_enforced_by_the_database():
    """Every FK column in the seed tables has a real constraint (the ORM-only
    db_constraint=False of the partitioned log models is backed by the SQL's REFERENCES)."""
    missing = []
    for app in DOMAIN_APPS:
        for model in apps.get_app_config(app).get_models():
            for field in model._meta.concrete_fields:
                if not field.is_relation:
                    continue
                found = _query(
                    """SELECT 1 FROM pg_constraint c
                       JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
                       WHERE c.contype = 'f' AND c.conrelid = %s::regclass AND a.attname = %s""",
                    [model._meta.db_table, field.column])
                if not found:
                    missing.append(f"{model._meta.db_table}.{field.column}")
    assert missing == []


def test_torrent_search_vector_is_maintained_by_the_trigger(uploader):
    from tests.factories import make_torrent

    torrent = make_torrent(name="Some.Movie.2024.1080p.BluRay-GRP",
                           description="A heist that goes wrong")
    rows = _query(
        """SELECT id FROM torrents
           WHERE search_vector @@ (plainto_tsquery('simple', 'movie bluray')
                                   && plainto_tsquery('simple', 'grp'))""")
    assert rows == [(torrent.id,)]
    assert _query("SELECT id FROM torrents WHERE search_vector @@ plainto_tsquery("
                  "'english', 'heists')") == [(torrent.id,)]
    torrent.name = "Other.Film.2020.720p"
    torrent.save()
    assert _query("SELECT id FROM torrents WHERE search_vector @@ "
                  "plainto_tsquery('simple', 'bluray')") == []
