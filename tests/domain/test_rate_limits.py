"""Rate limits on what members write (comments, tags), on sign-ups per address, and on the
password asked again in settings. Each limit refuses with RateLimited and writes nothing."""

from __future__ import annotations

import pytest

from domain.accounts.services import (
    account_register,
    email_change,
    password_change,
    two_factor_backup_codes_regenerate,
)
from domain.catalog.models import Comment, TorrentTagAssignment
from domain.catalog.services import comment_edit, comment_post, torrent_tag_add
from domain.errors import RateLimited, ValidationFailed
from tests.domain.accounts.factories import PASSWORD, enable_two_factor, fresh_ip
from tests.factories import make_torrent, make_user

pytestmark = pytest.mark.django_db


def test_comments_are_limited_per_member_and_the_refused_one_is_not_saved(member, settings):
    settings.CATALOG_COMMENTS_PER_MINUTE = 3
    torrent = make_torrent()
    first = comment_post(author=member, torrent_id=torrent.pk, body="one")
    comment_post(author=member, torrent_id=torrent.pk, body="two")
    comment_edit(actor=member, comment_id=first.pk, body="one, edited")
    with pytest.raises(RateLimited, match="commenting too fast"):
        comment_post(author=member, torrent_id=torrent.pk, body="four")
    assert not Comment.objects.filter(body="four").exists()
    # Another member's budget is their own.
    assert comment_post(author=make_user(), torrent_id=torrent.pk, body="mine").pk


def test_tag_actions_are_limited_per_member(member, settings):
    settings.CATALOG_TAG_ACTIONS_PER_MINUTE = 2
    torrent = make_torrent()
    torrent_tag_add(user=member, torrent_id=torrent.pk, name="drama")
    torrent_tag_add(user=member, torrent_id=torrent.pk, name="comedy")
    with pytest.raises(RateLimited, match="tagging too fast"):
        torrent_tag_add(user=member, torrent_id=torrent.pk, name="horror")
    assert not TorrentTagAssignment.objects.filter(tag__name="horror").exists()


def test_sign_ups_are_limited_per_address(settings):
    settings.REGISTRATION_MODE = "open"
    settings.REGISTRATION_PER_IP_PER_HOUR = 2
    ip = fresh_ip()
    for i in range(2):
        account_register(username=f"bot{i}", email=f"bot{i}@example.test", password=PASSWORD,
                         ip=ip, confirm_url="http://testserver/confirm/")
    with pytest.raises(RateLimited, match="Too many sign-ups"):
        account_register(username="bot2", email="bot2@example.test", password=PASSWORD,
                         ip=ip, confirm_url="http://testserver/confirm/")
    assert account_register(username="human", email="human@example.test", password=PASSWORD,
                            ip=fresh_ip(), confirm_url="http://testserver/confirm/").pk


def test_password_rechecks_in_settings_run_out(member, settings):
    """A session left open must not be a way to guess the password: wrong answers to the
    re-asked password count across the settings forms, and then even the right one waits."""
    settings.PASSWORD_RECHECK_MAX_FAILURES = 3
    enable_two_factor(member)
    with pytest.raises(ValidationFailed):
        email_change(user=member, password="guess-1", new_email="x@example.test")
    with pytest.raises(ValidationFailed):
        two_factor_backup_codes_regenerate(user=member, password="guess-2")
    with pytest.raises(ValidationFailed):
        password_change(user=member, old_password="guess-3", new_password="Another-pass-99",
                        current_session_key=None)
    with pytest.raises(RateLimited, match="Too many wrong passwords"):
        email_change(user=member, password=PASSWORD, new_email="x@example.test")
    member.refresh_from_db()
    assert member.email != "x@example.test"
    assert member.check_password(PASSWORD)
