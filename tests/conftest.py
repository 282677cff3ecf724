from __future__ import annotations

import os

import pytest
from django.conf import settings as django_settings
from django.db.backends.postgresql.creation import DatabaseCreation
from django.db.backends.postgresql.operations import DatabaseOperations

from tests.factories import make_user

# The cache (rate limits, ban and session lookups) lives in the shared Redis: give this test
# process its own key prefix, emptied after every test, so counts never leak from one test
# into the next or between processes running at the same time.
TEST_CACHE_PREFIX = f"test{os.getpid()}"
django_settings.CACHES["default"]["KEY_PREFIX"] = TEST_CACHE_PREFIX

# Argon2 at the production cost is ~0.2-0.4 s a password on a 2-core machine, paid by
# every factory-made member: the run hashes with the same Argon2 at its smallest cost
# (tests/hashers.py). Servers the tests start read server.settings, the real parameters.
PRODUCTION_PASSWORD_HASHERS = list(django_settings.PASSWORD_HASHERS)
django_settings.PASSWORD_HASHERS = ["tests.hashers.CheapArgon2PasswordHasher",
                                    *PRODUCTION_PASSWORD_HASHERS]

_django_sql_flush = DatabaseOperations.sql_flush

# Tests import server.asgi: the server's gc.freeze() (server/gctuning.py) would pin
# whatever this test process had made by then for the rest of the run.
os.environ.setdefault("SERVER_GC_FREEZE", "0")


@pytest.fixture(autouse=True)
def _empty_cache_after_each_test():
    yield
    from django.core.cache import cache

    # The redis-py client behind Django's RedisCache (not in its public API or stubs).
    client = cache._cache.get_client(write=True)  # type: ignore[attr-defined]
    keys = list(client.scan_iter(match=f"{TEST_CACHE_PREFIX}:*", count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture(autouse=True)
def _tracker_fills_in_the_test_transaction(request, settings):
    """The tracker fills cache misses on threads of its own, each with its own database
    connection, which cannot see rows that live only inside a test's transaction: tests
    that run in one fill on the test's thread instead (TRACKER_FILL_THREADS = 0), the
    others use the real pool. No background bulk load in tests (they call it directly)."""
    settings.TRACKER_BULK_LOAD = False
    marker = request.node.get_closest_marker("django_db")
    transactional = ("transactional_db" in request.fixturenames
                     or "live_server" in request.fixturenames
                     or (marker is not None and bool(marker.kwargs.get("transaction")
                                                     or (marker.args and marker.args[0]))))
    if not transactional:
        settings.TRACKER_FILL_THREADS = 0


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None) -> None:
    """One test database per pytest process, so two runs on one machine (a developer's and
    CI's, or parallel work) never drop each other's database."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    test = db.setdefault("TEST", {})
    if not test.get("NAME"):
        test["NAME"] = f"test_{db['NAME']}_{os.getpid()}"


@pytest.fixture(scope="session", autouse=True)
def _test_database_can_be_dropped(django_db_setup, django_db_blocker):
    """Worker threads and servers the tests started may leave a connection to the test
    database behind; end them before pytest-django drops it, so no test_tracker_<pid>
    databases pile up on a machine between runs."""
    yield
    with django_db_blocker.unblock():
        from django.db import connection

        if connection.settings_dict["NAME"] != connection.settings_dict["TEST"]["NAME"]:
            return  # no test in this run used the database: none was created
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE datname = current_database() AND pid <> pg_backend_pid()")


@pytest.fixture
def member(db):
    return make_user("member")


@pytest.fixture
def uploader(db):
    return make_user("uploader")


@pytest.fixture
def moderator(db):
    return make_user("moderator")


@pytest.fixture
def sysop(db):
    return make_user("sysop")


@pytest.fixture
def banned(db):
    return make_user("banned")



def _flush_by_delete(self, style, tables, *, reset_sequences=False, allow_cascade=False):
    """The test run's flush (after every transactional test): DELETE from the tables that
    hold rows instead of one TRUNCATE of all 70, which PostgreSQL pays for per table (new
    files for every table and index, unlinked at commit): ~1.5 s a test on a loaded 2-core
    machine against a few milliseconds. Every table ends up just as empty (sequences are
    not reset by either). Tables with DELETE triggers of their own (audit_logs refuses
    deletes) are truncated; if one of those is referenced by a foreign key, or sequences
    are to be reset, Django's TRUNCATE of everything runs as before."""
    if reset_sequences or allow_cascade or not tables:
        return _django_sql_flush(self, style, tables, reset_sequences=reset_sequences,
                                 allow_cascade=allow_cascade)
    from psycopg import sql

    exists = sql.SQL(" UNION ALL ").join(
        sql.SQL("SELECT {} WHERE EXISTS (SELECT FROM {})").format(sql.Literal(table),
                                                                 sql.Identifier(table))
        for table in tables)
    with self.connection.cursor() as cursor:
        cursor.execute(exists.as_string(cursor.cursor))
        filled = [name for (name,) in cursor.fetchall()]
        if not filled:
            return []
        cursor.execute(
            "SELECT tgrelid::regclass::text, EXISTS (SELECT FROM pg_constraint c "
            "  WHERE c.contype = 'f' AND c.confrelid = t.tgrelid) "
            "FROM pg_trigger t WHERE NOT t.tgisinternal AND t.tgtype & 8 = 8 "
            "AND t.tgrelid::regclass::text = ANY(%s)", [filled])
        triggered = dict(cursor.fetchall())
    if any(triggered.values()):
        return _django_sql_flush(self, style, tables)
    statements = []
    if triggered:
        statements.append(sql.SQL("TRUNCATE {}").format(
            sql.SQL(", ").join(map(sql.Identifier, triggered))))
    deleted = [table for table in filled if table not in triggered]
    if deleted:
        # One statement: foreign keys between these tables (Django's are deferred, the
        # ON DELETE CASCADE ones of sql/ act at its end) see them all emptied together.
        statements.append(sql.SQL("WITH {} SELECT 1").format(sql.SQL(", ").join(
            sql.SQL("{} AS (DELETE FROM {})").format(sql.Identifier(f"d{n}"),
                                                     sql.Identifier(table))
            for n, table in enumerate(deleted))))
    with self.connection.cursor() as cursor:
        return [statement.as_string(cursor.cursor) for statement in statements]


def _deserialize_inserting_into_emptied_tables(self, data: str) -> None:
    """Django's reload of the migrations' rows before each transactional test (~430 rows:
    permissions, content types, groups, categories...), except that a row going into a
    table that was empty when the reload reached it is INSERTed straight away instead of
    after an UPDATE that finds nothing: half the statements. Rows are still saved one by
    one (raw saves, signals sent as before) and the constraints checked at the end."""
    from io import StringIO

    from django.core import serializers
    from django.db.transaction import atomic

    alias = self.connection.alias
    empty: dict[type, bool] = {}
    table_names = set()
    with atomic(using=alias), self.connection.constraint_checks_disabled():
        for obj in serializers.deserialize("json", StringIO(data), using=alias):
            model = type(obj.object)
            if model not in empty:
                empty[model] = (not model._meta.parents
                                and not model._base_manager.using(alias).exists())
            obj.save(force_insert=empty[model])
            table_names.add(model._meta.db_table)
        self.connection.check_constraints(table_names=table_names)


@pytest.fixture(scope="session", autouse=True)
def _flush_deletes_rows_instead_of_truncating_every_table():
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DatabaseOperations, "sql_flush", _flush_by_delete)
        patch.setattr(DatabaseCreation, "deserialize_db_from_string",
                      _deserialize_inserting_into_emptied_tables)
        yield


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Transactional tests (channels consumers, Celery workers) commit for real, so Django
    empties the database after each one; serialized_rollback puts the migrations' default
    rows (groups, categories, forums...) back before the next, for every such test."""
    for item in items:
        marker = item.get_closest_marker("django_db")
        if marker is None or not marker.kwargs.get("transaction"):
            continue
        kwargs = {"serialized_rollback": True, **marker.kwargs}
        item.add_marker(pytest.mark.django_db(**kwargs), append=False)


class PublishedEvents(list):
    """What went to the channel layer during a test, in order: (group, type, payload)."""

    def of(self, event_type: str) -> list[dict]:
        """The payloads of every `event_type` event sent."""
        return [payload for _group, type_, payload in self if type_ == event_type]

    def types(self) -> list[str]:
        return [type_ for _group, type_, _payload in self]


@pytest.fixture
def published_events(monkeypatch) -> PublishedEvents:
    """Records every event domain.events sends (and still sends it). Events leave after
    commit: a test in the default rolled-back transaction runs the commit callbacks with
    pytest-django's `django_capture_on_commit_callbacks(execute=True)`."""
    from domain import events

    sent = PublishedEvents()
    original = events._group_send

    async def recording(layer, group: str, message: dict) -> None:
        sent.append((group, message["type"], message["payload"]))
        await original(layer, group, message)

    monkeypatch.setattr(events, "_group_send", recording)
    return sent
