"""Freeleech tokens: used on a torrent, seen by the tracker (its member record is dropped),
expired by time or download volume."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from domain.bonus import services
from domain.bonus.models import FreeleechToken
from domain.bonus.selectors import tokens_for_user
from domain.bonus.services import (
    bonus_buy_tokens,
    freeleech_token_activate,
    freeleech_tokens_expire,
)
from domain.errors import Conflict, NotFound, NotPermitted, ValidationFailed
from tests.domain.bonus.factories import fund, history, peer
from tests.factories import make_torrent, make_user

GIB = 1024**3

pytestmark = pytest.mark.django_db


@pytest.fixture
def invalidated(monkeypatch):
    """The member ids whose tracker record was dropped (the tracker's own tests cover what
    invalidate_user does; these check that the economy calls it)."""
    calls: list[uuid.UUID] = []
    monkeypatch.setattr(services, "invalidate_user", lambda user_id, **_: calls.append(user_id))
    return calls


@pytest.fixture
def holder(settings):
    settings.BONUS_TOKEN_PRICE = "10"
    settings.BONUS_TOKEN_LIFETIME_SECONDS = 3600
    settings.BONUS_TOKEN_MAX_DOWNLOAD_BYTES = 5 * GIB
    user = make_user()
    fund(user, 100)
    bonus_buy_tokens(user=user, quantity=2)
    return user


def test_using_a_token_makes_it_active_on_the_torrent_and_tells_the_tracker(holder,
                                                                            invalidated):
    torrent = make_torrent()
    now = timezone.now()

    token = freeleech_token_activate(user=holder, torrent_id=torrent.pk, now=now)

    token.refresh_from_db()
    assert (token.status, token.torrent_id, token.activated_at) == ("active", torrent.pk, now)
    assert token.expires_at == now + timedelta(hours=1)
    assert token.max_download_bytes == 5 * GIB
    assert invalidated == [holder.pk]
    assert FreeleechToken.objects.filter(user=holder, status="available").count() == 1


def test_one_active_token_per_torrent(holder, invalidated):
    torrent = make_torrent()
    freeleech_token_activate(user=holder, torrent_id=torrent.pk)

    with pytest.raises(Conflict, match="active on that torrent already"):
        freeleech_token_activate(user=holder, torrent_id=torrent.pk)
    assert FreeleechToken.objects.filter(user=holder, status="available").count() == 1


def test_without_an_unused_token_nothing_happens(member, invalidated):
    with pytest.raises(ValidationFailed, match="no unused freeleech token"):
        freeleech_token_activate(user=member, torrent_id=make_torrent().pk)
    assert invalidated == []


@pytest.mark.parametrize(("kind", "error", "message"), [
    ("pending", NotFound, "not available"),
    ("missing", NotFound, "not available"),
    ("freeleech", ValidationFailed, "freeleech already"),
    ("complete", ValidationFailed, "complete already"),
])
def test_tokens_are_kept_when_the_torrent_does_not_need_one(holder, invalidated, kind, error,
                                                           message):
    torrent = make_torrent(status="pending" if kind == "pending" else "approved",
                           is_freeleech=kind == "freeleech")
    if kind == "complete":
        peer(user=holder, torrent=torrent, seeder=True)
    torrent_id = uuid.uuid4() if kind == "missing" else torrent.pk

    with pytest.raises(error, match=message):
        freeleech_token_activate(user=holder, torrent_id=torrent_id)
    assert FreeleechToken.objects.filter(user=holder, status="available").count() == 2


def test_banned_members_cannot_use_tokens(banned):
    FreeleechToken.objects.create(user=banned)
    with pytest.raises(NotPermitted):
        freeleech_token_activate(user=banned, torrent_id=make_torrent().pk)


def test_tokens_expire_by_time(holder, invalidated):
    torrent = make_torrent()
    start = timezone.now()
    token = freeleech_token_activate(user=holder, torrent_id=torrent.pk, now=start)
    invalidated.clear()

    assert freeleech_tokens_expire(now=start + timedelta(minutes=59)) == 0
    assert freeleech_tokens_expire(now=start + timedelta(hours=1)) == 1
    assert freeleech_tokens_expire(now=start + timedelta(hours=1)) == 0  # safe twice

    token.refresh_from_db()
    assert token.status == "expired"
    assert invalidated == [holder.pk]


def test_tokens_expire_once_the_tracker_has_counted_their_cap(holder, invalidated):
    torrent = make_torrent()
    start = timezone.now()
    token = freeleech_token_activate(user=holder, torrent_id=torrent.pk, now=start)
    # What the tracker's flush writes: the bytes the token made free (see
    # tests/domain/tracker/test_token_allowance.py for how they are counted).
    FreeleechToken.objects.filter(pk=token.pk).update(downloaded_bytes=3 * GIB)
    assert freeleech_tokens_expire(now=start + timedelta(minutes=10)) == 0
    token.refresh_from_db()
    assert (token.status, token.downloaded_bytes) == ("active", 3 * GIB)

    FreeleechToken.objects.filter(pk=token.pk).update(downloaded_bytes=5 * GIB)
    assert freeleech_tokens_expire(now=start + timedelta(minutes=10)) == 1
    token.refresh_from_db()
    assert (token.status, token.downloaded_bytes) == ("expired", 5 * GIB)


def test_raw_downloads_that_the_token_did_not_free_do_not_use_it(holder, invalidated):
    """peer_history holds what the client downloaded, including bytes charged past the cap
    or made free by a torrent-wide freeleech: none of it spends the token."""
    torrent = make_torrent()
    start = timezone.now()
    token = freeleech_token_activate(user=holder, torrent_id=torrent.pk, now=start)
    history(user=holder, torrent=torrent, recorded_at=start + timedelta(minutes=5),
            seedtime=0, downloaded=9 * GIB)
    assert freeleech_tokens_expire(now=start + timedelta(minutes=10)) == 0
    token.refresh_from_db()
    assert (token.status, token.downloaded_bytes) == ("active", 0)


def test_members_see_their_own_tokens_unused_first(holder, invalidated):
    torrent = make_torrent(name="Some.Linux.ISO")
    freeleech_token_activate(user=holder, torrent_id=torrent.pk)
    FreeleechToken.objects.create(user=make_user())

    tokens = list(tokens_for_user(user_id=holder.pk))

    assert [(t.status, t.torrent.name if t.torrent else None) for t in tokens] == [
        ("available", None), ("active", "Some.Linux.ISO")]
