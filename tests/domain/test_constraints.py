"""The database itself refuses bad rows, whatever code writes them."""

from __future__ import annotations

import os
import uuid
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from psycopg import sql as pgsql

from domain.accounts.models import User, UserStatistics
from domain.bonus.models import BonusTransaction, FreeleechToken
from domain.catalog.models import Comment, TorrentTag, TorrentTagAssignment, TorrentTagVote
from domain.community.models import Forum, ForumSubscription, PrivateMessage
from domain.moderation.models import Ban, ModerationQueueItem, Report
from domain.tracker.models import Peer, TorrentStatistics
from tests.factories import make_torrent, make_user

pytestmark = pytest.mark.django_db


def rejected(exc: type[Exception] = IntegrityError):
    """Expect the database to refuse the write inside, without spoiling the test's
    transaction."""
    return _Rejected(exc)


class _Rejected:
    def __init__(self, exc: type[Exception]):
        self.raises = pytest.raises(exc)
        self.atomic = transaction.atomic()

    def __enter__(self):
        self.raises.__enter__()
        self.atomic.__enter__()
        return self

    def __exit__(self, *exc_info):
        self.atomic.__exit__(*exc_info)
        return self.raises.__exit__(*exc_info)


def sql(statement: str | pgsql.Composable, params: list | None = None) -> None:
    with connection.cursor() as cursor:
        if isinstance(statement, pgsql.Composable):
            statement = statement.as_string(cursor.cursor)
        cursor.execute(statement, params or [])


def set_column(table: str, column: str, value: object, row_id: object) -> None:
    """UPDATE one column of one row, the names quoted as identifiers, the values bound."""
    sql(pgsql.SQL("UPDATE {} SET {} = %s WHERE id = %s").format(
        pgsql.Identifier(table), pgsql.Identifier(column)), [value, row_id])


# Torrents ---------------------------------------------------------------------------------

def test_duplicate_v1_info_hash_is_refused():
    first = make_torrent()
    second = make_torrent()
    with rejected():
        sql("UPDATE torrents SET info_hash_v1 = %s WHERE id = %s",
            [bytes(first.info_hash_v1), second.id])


def test_duplicate_v2_info_hash_is_refused():
    first = make_torrent(version="v2")
    second = make_torrent(version="hybrid")
    with rejected():
        sql("UPDATE torrents SET info_hash_v2 = %s WHERE id = %s",
            [bytes(first.info_hash_v2), second.id])


@pytest.mark.parametrize(("column", "value"), [
    ("info_hash_v1", os.urandom(19)),
    ("info_hash_v1", os.urandom(32)),
    ("info_hash_v2", os.urandom(20)),
])
def test_info_hash_of_the_wrong_length_is_refused(column, value):
    torrent = make_torrent(version="hybrid")
    with rejected():
        set_column("torrents", column, value, torrent.id)


def test_torrent_without_any_info_hash_is_refused():
    torrent = make_torrent()
    with rejected():
        sql("UPDATE torrents SET info_hash_v1 = NULL WHERE id = %s", [torrent.id])


def test_version_must_match_the_hashes_present():
    torrent = make_torrent(version="v1")
    with rejected():
        sql("UPDATE torrents SET version = 'hybrid' WHERE id = %s", [torrent.id])


@pytest.mark.parametrize(("column", "value"), [
    ("status", "published"), ("version", "v3"), ("size", -1), ("piece_length", 1024)])
def test_bad_torrent_values_are_refused(column, value):
    torrent = make_torrent()
    with rejected():
        set_column("torrents", column, value, torrent.id)


# Counters ---------------------------------------------------------------------------------

@pytest.mark.parametrize("counter", UserStatistics.COUNTERS)
def test_negative_user_counters_are_refused(member, counter):
    with rejected():
        UserStatistics.objects.filter(user=member).update(**{counter: -1})


@pytest.mark.parametrize("counter", ["seeders", "leechers", "snatches", "total_uploaded"])
def test_negative_torrent_counters_are_refused(counter):
    torrent = make_torrent()
    with rejected():
        TorrentStatistics.objects.create(torrent=torrent, **{counter: -1})


def test_negative_bonus_balance_is_refused(member):
    with rejected():
        User.objects.filter(pk=member.pk).update(bonus_points=Decimal("-0.01"))


def test_peer_with_negative_transfer_or_bad_port_is_refused(member):
    torrent = make_torrent()
    base = {"torrent": torrent, "user": member, "ip": "192.0.2.1", "port": 6881}
    with rejected():
        Peer.objects.create(peer_id=os.urandom(20), uploaded=-5, **base)
    with rejected():
        Peer.objects.create(peer_id=os.urandom(20), **{**base, "port": 70000})
    with rejected():
        Peer.objects.create(peer_id=os.urandom(12), **base)
    peer_id = os.urandom(20)
    Peer.objects.create(peer_id=peer_id, **base)
    with rejected():
        Peer.objects.create(peer_id=peer_id, **base)


# Enumerations -----------------------------------------------------------------------------

@pytest.mark.parametrize(("table", "column", "value"), [
    ("users", "status", "wizard"),
    ("torrent_moderation", "status", "maybe"),
    ("torrent_requests", "status", "pending"),
    ("torrent_collections", "collection_type", "playlist"),
    ("comments", "target_type", "user"),
    ("reports", "target_type", "planet"),
    ("reports", "reason", "i_dont_like_it"),
    ("bans", "ban_type", "chat"),
    ("moderation_queue", "status", "lost"),
    ("search_index_queue", "operation", "truncate"),
    ("bonus_rules", "rule_type", "lottery"),
    ("bonus_transactions", "transaction_type", "theft"),
    ("freeleech_tokens", "status", "stolen"),
])
def test_unknown_enum_values_are_refused(table, column, value):
    """The CHECK is what stops it: the value is written with raw SQL so nothing in Python
    gets a say, against a table row that is otherwise valid."""
    constraints = [row for (row,) in _checks(table) if column in row]
    assert constraints, f"no CHECK on {table}.{column}"
    with rejected():
        set_column(table, column, value, _any_row(table))


def _checks(table: str) -> list[tuple[str]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                       "WHERE conrelid = %s::regclass AND contype = 'c'", [table])
        return cursor.fetchall()


def _any_row(table: str) -> uuid.UUID:
    """A valid row of `table` to break (default data where there is some)."""
    owner = make_user("member")
    torrent = make_torrent()
    makers = {
        "users": lambda: owner,
        "torrent_moderation": lambda: torrent.__class__.moderation.related.related_model
        .objects.create(torrent=torrent),
        "torrent_requests": lambda: _request(owner),
        "torrent_collections": lambda: _collection(owner),
        "comments": lambda: Comment.objects.create(target_type="torrent", target_id=torrent.id,
                                                   author=owner, body="Nice"),
        "reports": lambda: Report.objects.create(target_type="torrent", target_id=torrent.id,
                                                 reason="rules", reporter=owner),
        "bans": lambda: Ban.objects.create(ban_type="account", user=owner, reason="spam"),
        "moderation_queue": lambda: ModerationQueueItem.objects.create(
            target_type="torrent", target_id=torrent.id, source="new_upload"),
        "search_index_queue": lambda: _search_item(torrent),
        "bonus_rules": lambda: _rule(),
        "bonus_transactions": lambda: BonusTransaction.objects.create(
            user=owner, transaction_type="adjustment", amount=5, balance_after=5),
        "freeleech_tokens": lambda: FreeleechToken.objects.create(user=owner),
    }
    return makers[table]().id


def _request(owner):
    from domain.catalog.models import TorrentCategory, TorrentRequest

    return TorrentRequest.objects.create(requester=owner, title="Wanted",
                                         category=TorrentCategory.objects.get(slug="movies"))


def _collection(owner):
    from domain.catalog.models import TorrentCollection

    return TorrentCollection.objects.create(owner=owner, name="Favourites")


def _search_item(torrent):
    from domain.search.models import SearchIndexQueueItem

    return SearchIndexQueueItem.objects.create(target_type="torrent", target_id=torrent.id)


def _rule():
    from domain.bonus.models import BonusRule

    return BonusRule.objects.get(name="standard_seeding")


def test_announce_and_audit_enums_are_checked_in_the_partitioned_tables(member):
    torrent = make_torrent()
    with rejected():
        sql("""INSERT INTO announces (id, torrent_id, user_id, peer_id, ip, port, event,
                                      uploaded, downloaded, "left")
               VALUES (%s, %s, %s, %s, '192.0.2.7', 6881, 'exploded', 0, 0, 0)""",
            [uuid.uuid4(), torrent.id, member.id, os.urandom(20)])
    with rejected():
        sql("INSERT INTO audit_logs (id, action, target_type, target_id) "
            "VALUES (%s, 'user.edit', 'spaceship', %s)", [uuid.uuid4(), member.id])
    with rejected():
        sql("INSERT INTO audit_logs (id, action) VALUES (%s, 'Not An Action')", [uuid.uuid4()])


def test_audit_log_target_types_match_the_python_enum(member):
    """The SQL CHECK on audit_logs.target_type lists TargetType's values by hand."""
    from domain.base import TargetType

    for value in TargetType.values:
        sql("INSERT INTO audit_logs (id, action, target_type, target_id) "
            "VALUES (%s, 'test.target', %s, %s)", [uuid.uuid4(), value, member.id])


# Relationships and one-of rules ------------------------------------------------------------

def test_username_and_email_are_unique_ignoring_case(member):
    with rejected():
        make_user("member", username=member.username.upper())
    with rejected():
        make_user("member", email=member.email.upper())


@pytest.mark.parametrize("passkey", ["short", "G" * 32, "A" * 32])
def test_passkey_must_be_32_lowercase_hex(member, passkey):
    with rejected():
        User.objects.filter(pk=member.pk).update(passkey=passkey)


def test_ban_must_name_what_its_type_bans(member):
    with rejected():
        Ban.objects.create(ban_type="ip", user=member, reason="no range given")
    with rejected():
        Ban.objects.create(ban_type="email", reason="no pattern")
    with rejected():
        Ban.objects.create(ban_type="account", reason="no user")
    Ban.objects.create(ban_type="ip", ip_range="203.0.113.0/24", reason="proxy range")
    with rejected(Exception):
        sql("INSERT INTO bans (id, ban_type, ip_range, reason, email_pattern, appeal_status, "
            "appeal_text, created_at, updated_at) VALUES (%s, 'ip', 'not-an-ip', 'x', '', "
            "'none', '', now(), now())", [uuid.uuid4()])


def test_ip_range_containment_finds_the_ban():
    Ban.objects.create(ban_type="ip", ip_range="198.51.100.0/24", reason="abuse")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM bans WHERE ban_type = 'ip' "
                       "AND revoked_at IS NULL AND ip_range >>= %s::inet", ["198.51.100.77"])
        assert cursor.fetchone() == (1,)
        cursor.execute("SELECT count(*) FROM bans WHERE ip_range >>= %s::inet", ["198.51.101.1"])
        assert cursor.fetchone() == (0,)


def test_tag_votes_are_plus_or_minus_one_once_per_member(member):
    tag = TorrentTag.objects.create(name="science.fiction")
    assignment = TorrentTagAssignment.objects.create(torrent=make_torrent(), tag=tag)
    with rejected():
        TorrentTagVote.objects.create(assignment=assignment, user=member, vote=2)
    TorrentTagVote.objects.create(assignment=assignment, user=member, vote=1)
    with rejected():
        TorrentTagVote.objects.create(assignment=assignment, user=member, vote=-1)
    with rejected():
        TorrentTag.objects.create(name="Science Fiction")


def test_forum_subscription_is_to_a_topic_or_a_forum(member):
    with rejected():
        ForumSubscription.objects.create(user=member)
    forum = Forum.objects.get(slug="general")
    ForumSubscription.objects.create(user=member, forum=forum)
    with rejected():
        ForumSubscription.objects.create(user=member, forum=forum)


def test_private_message_has_exactly_one_recipient(member):
    other = make_user("member")
    conversation = uuid.uuid4()
    with rejected():
        PrivateMessage.objects.create(conversation_id=conversation, sender=member,
                                      subject="Hi", body="Hello")
    with rejected():
        PrivateMessage.objects.create(conversation_id=conversation, sender=member,
                                      recipient=other, recipient_group=other.group,
                                      subject="Hi", body="Hello")
    with rejected():
        PrivateMessage.objects.create(conversation_id=conversation, sender=member,
                                      recipient=other, subject="Hi", body="")


def test_only_one_open_moderation_item_per_target():
    torrent = make_torrent()
    ModerationQueueItem.objects.create(target_type="torrent", target_id=torrent.id,
                                       source="new_upload")
    with rejected():
        ModerationQueueItem.objects.create(target_type="torrent", target_id=torrent.id,
                                           source="user_report")


def test_ledger_idempotency_key_is_unique_per_member(member):
    BonusTransaction.objects.create(user=member, transaction_type="earning", amount=3,
                                    balance_after=3, idempotency_key="earning:2026-11-24T20")
    with rejected():
        BonusTransaction.objects.create(user=member, transaction_type="earning", amount=3,
                                        balance_after=6, idempotency_key="earning:2026-11-24T20")
    with rejected():
        BonusTransaction.objects.create(user=member, transaction_type="adjustment", amount=0,
                                        balance_after=6)


def test_a_member_with_ledger_rows_cannot_be_hard_deleted(member):
    BonusTransaction.objects.create(user=member, transaction_type="adjustment", amount=1,
                                    balance_after=1)
    from django.db.models import ProtectedError

    with pytest.raises(ProtectedError):
        member.delete()


def test_audit_rows_cannot_be_edited_or_deleted(member):
    row_id = uuid.uuid4()
    sql("INSERT INTO audit_logs (id, actor_id, action) VALUES (%s, %s, 'user.login')",
        [row_id, member.id])
    with rejected():
        sql("UPDATE audit_logs SET action = 'user.logout' WHERE id = %s", [row_id])
    with rejected():
        sql("DELETE FROM audit_logs WHERE id = %s", [row_id])


def test_removing_an_account_keeps_its_audit_trail_without_the_actor():
    gone = make_user("member")
    row_id = uuid.uuid4()
    sql("INSERT INTO audit_logs (id, actor_id, action) VALUES (%s, %s, 'user.login')",
        [row_id, gone.id])
    gone.delete()
    with connection.cursor() as cursor:
        cursor.execute("SELECT actor_id, action FROM audit_logs WHERE id = %s", [row_id])
        assert cursor.fetchone() == (None, "user.login")
