"""Every refusal is HTTP 200 with a bencoded `failure reason` a member can act on."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from domain.accounts.models import UserGroup, UserStatus
from domain.moderation.models import Ban, BanType
from domain.tracker.models import ClientRule
from tests.announce.factories import announce, bdecode, failure, peer_id, query, raw_get
from tests.factories import make_torrent, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def ih(db):
    return bytes(make_torrent().info_hash_v1)


def _params(ih, **over):
    base = {"info_hash": ih, "peer_id": peer_id(), "port": 6881, "uploaded": 0,
            "downloaded": 0, "left": 10}
    base.update(over)
    return {k: v for k, v in base.items() if v is not None}


def _fail(path: str, **params) -> str:
    status, body = raw_get(path, query(**params))
    assert status == 200
    return failure(bdecode(body))


def test_unknown_passkey(ih):
    assert "Unknown passkey" in _fail(f"/announce/{'0' * 32}", **_params(ih))
    assert "Unknown passkey" in _fail("/announce/not-a-passkey", **_params(ih))
    assert "Unknown passkey" in _fail(f"/scrape/{'0' * 32}", info_hash=ih)


def test_wrong_path(member, ih):
    assert "must be /announce/<passkey>" in _fail(f"/announcex/{member.passkey}",
                                                  **_params(ih))


def test_unregistered_torrent(member):
    assert "Unregistered torrent" in failure(announce(member, b"\x07" * 20, peer_id()))


def test_deleted_torrent(member):
    t = make_torrent(deleted_at=timezone.now())
    assert "deleted from the site" in failure(announce(member, bytes(t.info_hash_v1),
                                                       peer_id()))


@pytest.mark.parametrize(("status", "words"), [("pending", "Torrent pending"),
                                               ("rejected", "Torrent rejected")])
def test_pending_or_rejected_torrent(member, status, words):
    t = make_torrent(status=status)
    assert words in failure(announce(member, bytes(t.info_hash_v1), peer_id()))


@pytest.mark.parametrize(("field", "value", "words"), [
    ("info_hash", None, "info_hash is missing"),
    ("info_hash", b"\x01" * 19, "info_hash must be 20 bytes (got 19)"),
    ("peer_id", b"short", "peer_id must be 20 bytes (got 5)"),
    ("port", None, "port is missing"),
    ("port", 0, "port must be between 1 and 65535"),
    ("port", 70000, "port must be between 1 and 65535"),
    ("uploaded", "-5", "uploaded must be a whole number"),
    ("downloaded", "lots", "downloaded must be a whole number"),
    ("left", None, "left is missing"),
    ("event", "finished", "event must be started, completed, stopped, paused or empty"),
    ("numwant", "x", "numwant must be a whole number"),
    ("key", "k" * 65, "key must be at most 64 bytes (got 65)"),
    ("uploaded", "9" * 5000, "uploaded must be between 0 and 9007199254740992"),
    ("left", "1" * 17, "left must be between 0 and 9007199254740992"),
])
def test_malformed_request_names_the_field(member, ih, field, value, words):
    reason = _fail(f"/announce/{member.passkey}", **_params(ih, **{field: value}))
    assert reason == f"Malformed request: {words}."


def test_malformed_scrape_hash(member):
    assert "info_hash must be 20 bytes" in _fail(f"/scrape/{member.passkey}",
                                                 info_hash=b"abc")


@pytest.mark.parametrize(("status", "words"), [
    (UserStatus.DISABLED, "Your account is disabled"),
    (UserStatus.BANNED, "Your account is banned"),
    (UserStatus.VALIDATING, "not confirmed yet"),
])
def test_account_not_active(ih, status, words):
    user = make_user("member", status=status)
    assert words in failure(announce(user, ih, peer_id()))


def test_account_ban(ih, member, moderator):
    Ban.objects.create(ban_type=BanType.ACCOUNT, user=member, reason="ratio cheating",
                       issued_by=moderator)
    assert failure(announce(member, ih, peer_id())) == \
        "Your account is banned: ratio cheating"


def test_expired_ban_does_not_count(ih, member, moderator):
    Ban.objects.create(ban_type=BanType.ACCOUNT, user=member, reason="old",
                       issued_by=moderator, expires_at=timezone.now() - timedelta(days=1))
    assert b"failure reason" not in announce(member, ih, peer_id())


def test_download_ban_refuses_leeching_but_not_seeding(ih, member, moderator):
    Ban.objects.create(ban_type=BanType.DOWNLOAD, user=member, reason="hit and run",
                       issued_by=moderator)
    reason = failure(announce(member, ih, peer_id(), left=10))
    assert reason.startswith("Download forbidden") and "hit and run" in reason
    assert b"failure reason" not in announce(member, ih, peer_id(), left=0)


def test_group_without_download_permission(ih):
    group = UserGroup.objects.get(name="member")
    group.permissions = [p for p in group.permissions if p != "download"]
    group.save()
    user = make_user("member")
    assert "members of Member may not download" in failure(announce(user, ih, peer_id(),
                                                                     left=10))


def test_ip_banned(ih, member, moderator):
    Ban.objects.create(ban_type=BanType.IP, ip_range="203.0.113.0/24", reason="abuse",
                       issued_by=moderator)
    reason = failure(announce(member, ih, peer_id(), ip="203.0.113.50"))
    assert reason.startswith("IP banned: your address 203.0.113.50") and "abuse" in reason
    assert b"failure reason" not in announce(member, ih, peer_id(), ip="203.0.114.1")


def test_client_blacklisted(ih, member):
    ClientRule.objects.create(kind="deny", peer_id_prefix="-qB4170-", name="",
                              reason="corrupts pieces")
    reason = failure(announce(member, ih, peer_id(b"-qB4170-")))
    assert reason.startswith("Client not allowed: qBittorrent 4.1.7 is blocked")
    assert "corrupts pieces" in reason


def test_client_whitelist(ih, member):
    ClientRule.objects.create(kind="allow", peer_id_prefix="-TR", name="Transmission")
    ClientRule.objects.create(kind="allow", peer_id_prefix="-lt", name="libtorrent")
    reason = failure(announce(member, ih, peer_id(b"-qB4650-")))
    assert reason == ("Client not allowed: qBittorrent 4.6.5 is not on this tracker's list "
                      "of allowed clients (Transmission, libtorrent).")
    assert b"failure reason" not in announce(member, ih, peer_id(b"-TR4060-"))


def test_too_many_peers_on_one_torrent(ih, member):
    limit = member.group.max_peers_per_torrent
    for n in range(limit):
        assert b"failure reason" not in announce(member, ih, peer_id(), port=7000 + n)
    reason = failure(announce(member, ih, peer_id(), port=7999))
    assert reason == (f"Too many peers: you already have {limit} clients on this torrent "
                      f"(your limit is {limit}). Stop one of them first.")


def test_announcing_faster_than_min_interval(ih, member, settings):
    pid = peer_id()
    announce(member, ih, pid, event="started")
    reason = failure(announce(member, ih, pid))
    assert reason.startswith("Announcing too fast: wait ")
    assert f"(minimum interval {settings.TRACKER_MIN_INTERVAL} s)" in reason
    # Events are never held back: a stop or a completion must reach the tracker.
    assert b"failure reason" not in announce(member, ih, pid, left=0, event="completed")


def test_redis_trouble_is_a_failure_reply_not_a_500(ih, member, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    from domain.tracker import cache

    cache.local_clear()
    reason = failure(announce(member, ih, peer_id()))
    assert reason.startswith("The tracker is briefly unavailable")
