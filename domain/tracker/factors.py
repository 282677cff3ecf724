"""What the tracker will credit a member for a torrent, as factors clients understand
(Torznab's downloadvolumefactor / uploadvolumefactor): the rule the announce applies in
domain/tracker/announcing.py, stated for many torrents at once for the API and Torznab.

Neutral leech counts nothing either way; double upload doubles upload; freeleech (the
torrent's, until its end, or the site-wide switch) or an active token of the member's own
frees the download.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from domain.bonus.models import FreeleechToken, TokenStatus
from domain.tracker import store
from domain.tracker.conf import setting


@dataclass(frozen=True, slots=True)
class VolumeFactors:
    download: float
    upload: float


def global_freeleech() -> bool:
    """The site-wide freeleech switch as the tracker reads it (its Redis, else the setting)."""
    raw = store.client().get(store.global_freeleech_key())
    if raw is None:
        return bool(setting("TRACKER_FREELEECH"))
    return raw == b"1"


def volume_factors(*, neutral: bool, double_upload: bool, freeleech: bool,
                   token: bool) -> VolumeFactors:
    if neutral:
        return VolumeFactors(download=0.0, upload=0.0)
    return VolumeFactors(download=0.0 if freeleech or token else 1.0,
                         upload=2.0 if double_upload else 1.0)


def torrent_is_freeleech(torrent: object, now: datetime) -> bool:
    until = getattr(torrent, "freeleech_until", None)
    return bool(getattr(torrent, "is_freeleech", False)) and (until is None or until > now)


def tokens_active_for(*, user_id: uuid.UUID, torrent_ids: Iterable[uuid.UUID],
                      now: datetime | None = None) -> set[uuid.UUID]:
    """Which of these torrents the member has an active freeleech token on (one query)."""
    ids = list(torrent_ids)
    if not ids:
        return set()
    now = now or timezone.now()
    return set(FreeleechToken.objects.filter(
        user_id=user_id, status=TokenStatus.ACTIVE, torrent_id__in=ids, expires_at__gt=now,
    ).values_list("torrent_id", flat=True))


def factors_for(*, user_id: uuid.UUID, torrents: list[object]) -> dict[uuid.UUID, VolumeFactors]:
    """{torrent id: factors} for the member, in one query and one Redis read."""
    now = timezone.now()
    site_free = global_freeleech()
    tokens = tokens_active_for(user_id=user_id, torrent_ids=[t.pk for t in torrents],  # type: ignore[attr-defined]
                               now=now)
    return {
        t.pk: volume_factors(  # type: ignore[attr-defined]
            neutral=bool(getattr(t, "is_neutral_leech", False)),
            double_upload=bool(getattr(t, "is_double_upload", False)),
            freeleech=site_free or torrent_is_freeleech(t, now),
            token=t.pk in tokens)  # type: ignore[attr-defined]
        for t in torrents
    }
