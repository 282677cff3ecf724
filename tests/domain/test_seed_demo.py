"""`manage.py seed_demo`: loads a consistent demo community once, and only into an empty
database."""

from __future__ import annotations

import hashlib
import io
from decimal import Decimal

import bencodepy
import pytest
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.core.management import call_command
from django.db.models import Sum
from django.test import Client

from domain.accounts.models import User, UserStatus
from domain.bonus.models import BonusTransaction
from domain.catalog.models import Torrent, TorrentFile, TorrentModeration
from domain.community.models import ChatMessage, ForumPost, ForumTopic, PrivateMessage
from domain.moderation.models import AuditLog, ModerationQueueItem, Report, Warning
from tests.conftest import PRODUCTION_PASSWORD_HASHERS

DEMO_PASSWORD = "demo-password-123"


def _seed() -> str:
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def _tree_files(tree: dict, prefix: str = "") -> list[tuple[str, int, bytes | None]]:
    """A v2 file tree's files in order: (path, length, pieces root)."""
    found = []
    for key, node in tree.items():
        path = f"{prefix}{key.decode()}"
        if b"" in node:
            leaf = node[b""]
            found.append((path, leaf[b"length"], leaf.get(b"pieces root")))
        else:
            found.extend(_tree_files(node, f"{path}/"))
    return found


def _counts() -> dict[str, int]:
    models = (User, Torrent, TorrentFile, BonusTransaction, ForumTopic, ForumPost,
              ChatMessage, PrivateMessage, Report, Warning, ModerationQueueItem)
    return {m.__name__: m.objects.count() for m in models}


@pytest.fixture
def seeded(db, monkeypatch, settings) -> str:
    # Argon2 costs ~0.4 s a member; the real hasher is exercised by the DEMO_PASSWORD test.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    monkeypatch.delenv("DEMO_PASSWORD", raising=False)
    return _seed()


def test_prints_the_demo_login_once(seeded):
    lines = [line for line in seeded.splitlines() if line.startswith("Demo login:")]
    assert lines == [f"Demo login: reelfan / {DEMO_PASSWORD} (a member); sysop / "
                     f"{DEMO_PASSWORD} (staff: the code comes from `manage.py demo_2fa_code`)"]
    assert seeded.rstrip().splitlines()[-1] == lines[0]


def test_sysop_can_log_in_and_is_staff(seeded):
    sysop = User.objects.get(username="sysop")
    assert sysop.group.name == "sysop"
    assert sysop.status == UserStatus.ACTIVE
    assert sysop.is_staff and sysop.is_superuser
    assert Client().login(username="sysop", password=DEMO_PASSWORD)


def _log_in_through_the_form(username: str, code_command: bool = False) -> Client:
    client = Client()
    response = client.post("/login/", {"username": username, "password": DEMO_PASSWORD})
    assert response.status_code == 302, response.content.decode()[-1500:]
    if code_command:
        assert response["Location"].startswith("/login/2fa/")
        out = io.StringIO()
        call_command("demo_2fa_code", username, stdout=out, stderr=io.StringIO())
        response = client.post("/login/2fa/", {"code": out.getvalue().strip()})
        assert response.status_code == 302, response.content.decode()[-2500:]
    return client


def test_both_printed_logins_land_on_the_home_page(seeded):
    """What make run prints: the member logs in with the password, the staff account with
    the password and the code `manage.py demo_2fa_code` prints; neither is sent to a
    forced enrolment."""
    for username, needs_code in (("reelfan", False), ("sysop", True)):
        client = _log_in_through_the_form(username, code_command=needs_code)
        home = client.get("/")
        assert home.status_code == 200, (username, home.get("Location"))
        assert username in home.content.decode()
    assert client.get("/admin/").status_code == 200  # the staff session reaches admin


def test_the_code_command_refuses_accounts_that_are_not_the_demos(seeded):
    from django.core.management import CommandError

    from tests.domain.accounts.factories import enable_two_factor

    real = User.objects.create_user(username="realstaff", email="real@example.org",
                                    password=DEMO_PASSWORD, group=User.objects.get(
                                        username="sysop").group)
    enable_two_factor(real)
    with pytest.raises(CommandError, match="not a demo account"):
        call_command("demo_2fa_code", "realstaff", stdout=io.StringIO())


def test_members_share_the_password_and_span_the_groups(seeded):
    users = list(User.objects.select_related("group", "privacy", "statistics"))
    assert 8 <= len(users) <= 12
    groups = {u.group.name for u in users}
    assert {"sysop", "member", "power_user", "elite", "vip", "uploader", "forum_moderator",
            "moderator", "validating"} <= groups
    assert [u.username for u in users if u.status == UserStatus.VALIDATING] == ["newcomer"]
    assert Client().login(username="nightowl", password=DEMO_PASSWORD)
    for user in users:
        assert user.privacy is not None and user.statistics is not None
    assert sum(1 for u in users if u.statistics.uploaded > 0) >= 3


def test_password_comes_from_the_environment(db, monkeypatch, settings):
    settings.PASSWORD_HASHERS = PRODUCTION_PASSWORD_HASHERS
    monkeypatch.setenv("DEMO_PASSWORD", "another-secret-456")
    out = _seed()  # with the project's real (Argon2) hasher at its production cost
    assert "sysop / another-secret-456" in out.rstrip().splitlines()[-1]
    encoded = User.objects.get(username="sysop").password
    assert encoded.startswith("argon2")
    assert not Argon2PasswordHasher().must_update(encoded)  # the production parameters
    assert Client().login(username="sysop", password="another-secret-456")


def test_torrents_are_real_and_consistent(seeded):
    torrents = list(Torrent.objects.prefetch_related("files"))
    assert 10 <= len(torrents) <= 16
    assert {t.version for t in torrents} >= {"v1", "hybrid", "v2"}
    for torrent in torrents:
        raw = bytes(torrent.info_dict)
        info = bencodepy.decode(raw)
        assert bencodepy.encode(info) == raw  # canonical: sorted keys, byte for byte
        assert info[b"piece length"] == torrent.piece_length
        assert torrent.piece_length >= 16 * 1024
        assert torrent.piece_length & (torrent.piece_length - 1) == 0
        if torrent.version in {"v1", "hybrid"}:
            assert torrent.info_hash_v1 is not None
            assert bytes(torrent.info_hash_v1) == hashlib.sha1(raw).digest()  # noqa: S324
            assert len(info[b"pieces"]) % 20 == 0 and info[b"pieces"]
        else:
            assert torrent.info_hash_v1 is None
        if torrent.version in {"v2", "hybrid"}:
            assert torrent.info_hash_v2 is not None
            assert bytes(torrent.info_hash_v2) == hashlib.sha256(raw).digest()
            assert info[b"meta version"] == 2 and b"file tree" in info
        else:
            assert torrent.info_hash_v2 is None

        files = list(torrent.files.all())
        if b"file tree" in info:  # v2 / hybrid: the rows are the file tree, in order
            assert _tree_files(info[b"file tree"]) == [
                (f.path, f.size, None if f.pieces_root is None else bytes(f.pieces_root))
                for f in files]
        assert len(files) == torrent.file_count
        assert sum(f.size for f in files) == torrent.size
        assert [f.file_index for f in files] == list(range(len(files)))
        assert all(not f.path.startswith("/") for f in files)
        if b"files" in info:  # v1 multi-file: the same files (padding aside)
            listed = [(b"/".join(e[b"path"]).decode(), e[b"length"])
                      for e in info[b"files"] if e.get(b"attr") != b"p"]
            assert listed == [(f.path, f.size) for f in files]
        elif b"length" in info:
            assert info[b"length"] == torrent.size

    assert any(t.file_count == 1 for t in torrents)
    assert any(t.file_count > 1 for t in torrents)


def test_moderation_matches_torrent_status(seeded):
    pending = list(Torrent.objects.filter(status="pending"))
    assert len(pending) == 1
    queue = ModerationQueueItem.objects.get(target_type="torrent", target_id=pending[0].id)
    assert queue.source == "new_upload" and queue.status == "pending"
    for moderation in TorrentModeration.objects.select_related("torrent"):
        assert moderation.status == moderation.torrent.status
        if moderation.status == "approved":
            assert moderation.moderator_id is not None and moderation.decided_at is not None
    assert Report.objects.filter(status="open", target_type="torrent").count() == 1
    warning = Warning.objects.get()
    # The demo warning went through warning_take_effect: points and their audit row.
    assert User.objects.get(pk=warning.user_id).warning_points == warning.points == 1
    assert AuditLog.objects.filter(action="warning.points", target_id=warning.user_id).exists()


def test_bonus_ledger_adds_up_to_every_balance(seeded):
    funded = list(User.objects.filter(bonus_points__gt=0))
    assert len(funded) >= 3
    for user in funded:
        rows = list(BonusTransaction.objects.filter(user=user).order_by("created_at"))
        assert rows
        running = Decimal(0)
        for row in rows:
            running += row.amount
            assert row.balance_after == running
        assert running == user.bonus_points
    for user in User.objects.filter(bonus_points=0):
        total = BonusTransaction.objects.filter(user=user).aggregate(s=Sum("amount"))["s"]
        assert total in (None, Decimal(0))


def test_community_content_exists(seeded):
    assert ForumTopic.objects.filter(is_sticky=True, forum__slug="announcements").exists()
    assert {"general", "announcements", "support", "vip-lounge"} <= set(
        ForumTopic.objects.values_list("forum__slug", flat=True))
    for topic in ForumTopic.objects.all():
        assert topic.post_count == topic.posts.count()
    assert {"general", "vip"} <= set(ChatMessage.objects.values_list("room__name", flat=True))
    reply = PrivateMessage.objects.get(parent__isnull=False)
    assert reply.parent is not None
    assert reply.conversation_id == reply.parent.id == reply.parent.conversation_id


def test_second_run_writes_nothing(seeded):
    before = _counts()
    out = _seed()
    assert out.strip() == "Database already has members; demo data not loaded."
    assert _counts() == before


def test_refuses_a_database_with_members(db):
    User.objects.create_user(username="someone", email="someone@example.test",
                             password="x" * 12, status="active")
    out = _seed()
    assert "already has members" in out
    assert "Demo login" not in out
    assert Torrent.objects.count() == 0 and User.objects.count() == 1


def test_the_demo_catalog_is_queued_for_the_search_index(seeded):
    from domain.catalog.models import TorrentCollection, TorrentRequest
    from domain.search.models import SearchIndexQueueItem

    queued = set(SearchIndexQueueItem.objects.filter(status="pending")
                 .values_list("target_type", "target_id"))
    wanted = ({("torrent", pk) for pk in Torrent.objects.values_list("pk", flat=True)}
              | {("request", pk) for pk in TorrentRequest.objects.values_list("pk", flat=True)}
              | {("collection", pk)
                 for pk in TorrentCollection.objects.values_list("pk", flat=True)})
    assert wanted and wanted <= queued
