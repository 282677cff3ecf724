"""The catalog's access rules, read by its services (before a write) and its selectors
(what a page offers), so neither imports the other for them."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from domain.accounts.models import User
from domain.accounts.permissions import Perm, user_has_perm
from domain.catalog.models import RequestStatus, Torrent, TorrentRequest


def torrent_may_edit(actor: User, torrent: Torrent) -> bool:
    """Staff with TORRENTS_EDIT_ANY always; the uploader within
    TORRENT_EDIT_WINDOW_HOURS of the upload, while their account is active."""
    if user_has_perm(actor, Perm.TORRENTS_EDIT_ANY):
        return True
    window = timedelta(hours=settings.TORRENT_EDIT_WINDOW_HOURS)
    return (torrent.uploader_id == actor.pk and actor.is_active
            and timezone.now() - torrent.created_at <= window)


def request_may_edit(user: User, request: TorrentRequest) -> bool:
    """The requester, while the request is open, or staff with TORRENTS_EDIT_ANY."""
    if request.status != RequestStatus.OPEN or not user.is_active:
        return False
    return (request.requester_id == user.pk and user_has_perm(user, Perm.SITE_ACCESS)) or \
        user_has_perm(user, Perm.TORRENTS_EDIT_ANY)
