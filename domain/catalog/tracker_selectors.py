"""The tracker's data as the catalog's member-facing pages (and the API) show it: a
member's torrent history lists, a torrent's peers and snatches, and the promotions a
torrent carries. Here, above the tracker, because each reads the catalog's torrents (and
bonus' freeleech tokens) as well as the tracker's rows.

Paranoia: each list is guarded by its UserPrivacy setting through
domain.accounts.selectors.profile_visible_fields (the one check): seeding ->
show_seeding, leeching -> show_leeching, snatched -> show_snatched, uploaded ->
show_uploads. On a torrent's peer and snatch lists a member who hides that list appears
as "anonymous" (staff with USERS_VIEW_PRIVATE see through). Hit-and-run states are shown
to the member and to staff only.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models import F, FloatField, QuerySet
from django.db.models.functions import Cast, NullIf
from django.utils import timezone

from domain.accounts.models import User
from domain.accounts.permissions import Perm, require_perm, user_has_perm
from domain.accounts.selectors import profile_for_viewer, profile_visible_fields
from domain.bonus.models import FreeleechToken, TokenStatus
from domain.catalog.models import Torrent, TorrentStatus
from domain.catalog.selectors import torrents_visible
from domain.errors import NotFound, NotPermitted
from domain.tracker.hnr import (
    HnrRules,
    HnrStatus,
    SeedOwed,
    history_row_state,
    hnr_rules,
    member_hnr_status,
)
from domain.tracker.models import Peer, TorrentHistory
from domain.tracker.ratiowatch import RatioWatchStatus, member_ratio_watch_status

HISTORY_KINDS: dict[str, tuple[str, str]] = {
    "seeding": ("show_seeding", "Seeding"),
    "leeching": ("show_leeching", "Leeching"),
    "snatched": ("show_snatched", "Snatched"),
    "uploaded": ("show_uploads", "Uploaded"),
}
HISTORY_SORTS: dict[str, str] = {
    "name": "torrent__name", "size": "torrent__size", "uploaded": "uploaded",
    "downloaded": "downloaded", "ratio": "ratio", "seedtime": "seedtime_seconds",
    "last_announce": "last_announce_at", "completed": "completed_at",
}
PER_PAGE = 50


# --- Promotions ---

@dataclass(frozen=True, slots=True)
class Badge:
    code: str   # css class: freeleech, neutral, double-upload, token
    label: str
    title: str


def active_token_torrents(*, user: User | Any) -> frozenset[uuid.UUID]:
    """Torrents on which `user` has a freeleech token running now."""
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    now = timezone.now()
    rows = FreeleechToken.objects.filter(user_id=user.pk, status=TokenStatus.ACTIVE,
                                         torrent__isnull=False)
    return frozenset(t for t, until in rows.values_list("torrent_id", "expires_at")
                     if until is None or until > now)


def promotion_badges(torrent: Torrent, *, token_active: bool = False,
                     now: datetime | None = None) -> list[Badge]:
    """The promotions `torrent` carries now, as the tracker applies them (cache.py):
    neutral wins over freeleech and double upload; a token is the member's own."""
    now = now or timezone.now()
    out: list[Badge] = []
    if torrent.is_neutral_leech:
        out.append(Badge("neutral", "Neutral", "Neither upload nor download is counted"))
        return out
    site_wide = bool(settings.TRACKER_FREELEECH)
    free = site_wide or (torrent.is_freeleech and (
        torrent.freeleech_until is None or torrent.freeleech_until > now))
    if free:
        until = ("" if site_wide or torrent.freeleech_until is None
                 else f" until {torrent.freeleech_until:%Y-%m-%d %H:%M} UTC")
        out.append(Badge("freeleech", "Freeleech", f"Downloads cost no ratio{until}"))
    if torrent.is_double_upload:
        out.append(Badge("double-upload", "2x upload", "Uploads count twice"))
    if token_active and not free:
        out.append(Badge("token", "Token", "Your freeleech token makes this download free"))
    return out


# --- A member's history lists ---

@dataclass
class HistoryRow:
    torrent: Torrent
    history: TorrentHistory | None
    badges: list[Badge]
    owed: SeedOwed | None  # None when the viewer may not see hit-and-run states

    @property
    def ratio(self) -> float | None:
        h = self.history
        if h is None or h.downloaded == 0:
            return None if h is None or h.uploaded == 0 else math.inf
        return h.uploaded / h.downloaded


@dataclass
class HistoryPage:
    member: User
    kind: str
    kinds: list[tuple[str, str]]  # the lists this viewer may open: (kind, label)
    page: Page[HistoryRow]
    sort: str
    order: str
    is_self: bool
    shows_hnr: bool
    hnr: HnrStatus | None = None
    ratio_watch: RatioWatchStatus | None = None
    rows: list[HistoryRow] = field(default_factory=list)


def _history_rows(member: User, kind: str, now: datetime, *, sees_hidden: bool
                  ) -> QuerySet[TorrentHistory]:
    qs = TorrentHistory.objects.filter(user=member).select_related("torrent")
    if not sees_hidden:
        qs = qs.filter(torrent__deleted_at__isnull=True,
                       torrent__status=TorrentStatus.APPROVED)
    if kind == "seeding":
        return qs.filter(seeding_until__gt=now)
    if kind == "leeching":
        return qs.filter(active_until__gt=now).exclude(seeding_until__gt=now)
    return qs.filter(completed_at__isnull=False)


def member_history(*, viewer: User | Any, username: str, kind: str, sort: str = "",
                   order: str = "desc", page: int = 1) -> HistoryPage:
    """One of a member's history lists as `viewer` may see it, a page at a time.
    Unknown sorts fall back to the list's default; a hidden list is NotPermitted."""
    profile = profile_for_viewer(viewer, username)
    member = profile.member
    if kind not in HISTORY_KINDS:
        raise NotFound("There is no such list.")
    kinds = [(k, label) for k, (setting, label) in HISTORY_KINDS.items()
             if setting in profile.visible]
    if HISTORY_KINDS[kind][0] not in profile.visible:
        raise NotPermitted(f"{member.username} keeps their {kind} list private.")
    staff = user_has_perm(viewer, Perm.USERS_VIEW_PRIVATE)
    sees_hidden = profile.is_self or staff
    now = timezone.now()
    order = "asc" if order == "asc" else "desc"
    rules = hnr_rules()
    class_immune = str(member.group_id) in rules.immune_group_ids
    tokens = active_token_torrents(user=member) if sees_hidden else frozenset()

    if kind == "uploaded":
        sort = sort if sort in ("name", "size", "time") else "time"
        key = {"name": "name", "size": "size", "time": "created_at"}[sort]
        tq = Torrent.objects.filter(uploader=member)
        if not sees_hidden:
            tq = tq.filter(deleted_at__isnull=True, status=TorrentStatus.APPROVED,
                           is_anonymous=False)
        tq = tq.order_by(f"-{key}" if order == "desc" else key, "id")
        paginator: Paginator[Any] = Paginator(tq, PER_PAGE)
        torrents = paginator.get_page(page)
        mine = {h.torrent_id: h for h in TorrentHistory.objects.filter(
            user=member, torrent_id__in=[t.pk for t in torrents.object_list])}
        rows = [HistoryRow(t, mine.get(t.pk), promotion_badges(t, now=now,
                           token_active=t.pk in tokens),
                           _owed(mine.get(t.pk), t, rules, now, class_immune)
                           if sees_hidden else None)
                for t in torrents.object_list]
        torrents.object_list = rows
        result_page: Page[Any] = torrents
    else:
        sort = sort if sort in HISTORY_SORTS else (
            "completed" if kind == "snatched" else "last_announce")
        qs = _history_rows(member, kind, now, sees_hidden=sees_hidden).annotate(
            ratio=Cast("uploaded", FloatField()) / NullIf(Cast("downloaded", FloatField()),
                                                          0.0))
        key = HISTORY_SORTS[sort]
        expr = F(key).desc(nulls_last=True) if order == "desc" else F(key).asc(
            nulls_first=True)
        paginator = Paginator(qs.order_by(expr, "id"), PER_PAGE)
        result_page = paginator.get_page(page)
        rows = [HistoryRow(h.torrent, h, promotion_badges(
                    h.torrent, now=now, token_active=h.torrent_id in tokens),
                    _owed(h, h.torrent, rules, now, class_immune) if sees_hidden else None)
                for h in result_page.object_list]
        result_page.object_list = rows
    out = HistoryPage(member=member, kind=kind, kinds=kinds, page=result_page, sort=sort,
                      order=order, is_self=profile.is_self, shows_hnr=sees_hidden,
                      rows=rows)
    if sees_hidden:
        out.hnr = member_hnr_status(user_id=member.pk)
        out.ratio_watch = member_ratio_watch_status(user_id=member.pk)
    return out


def _owed(h: TorrentHistory | None, torrent: Torrent, rules: HnrRules, now: datetime,
          class_immune: bool) -> SeedOwed | None:
    if h is None:
        return None
    return history_row_state(h, torrent_size=int(torrent.size),
                             torrent_deleted=torrent.deleted_at is not None, rules=rules,
                             now=now, class_immune=class_immune)


# --- A torrent's peers and snatches ---

@dataclass(frozen=True, slots=True)
class PeerRow:
    member: User | None  # None: shown as anonymous
    is_seeder: bool
    uploaded: int
    downloaded: int
    percent: float
    client: str
    connectable: bool | None
    last_announce_at: datetime


@dataclass(frozen=True, slots=True)
class SnatchRow:
    member: User | None
    completed_at: datetime
    uploaded: int
    downloaded: int
    seedtime_seconds: int
    seeding: bool


def _visible_torrent(viewer: User | Any, torrent_id: uuid.UUID) -> Torrent:
    torrent = torrents_visible(viewer).filter(pk=torrent_id).first()
    if torrent is None:
        raise NotFound("There is no such torrent.")
    return torrent


def _shown(viewer: User | Any, member: User, setting: str,
           cache: dict[uuid.UUID, frozenset[str]]) -> User | None:
    visible = cache.get(member.pk)
    if visible is None:
        visible = cache[member.pk] = profile_visible_fields(viewer, member)
    return member if setting in visible else None


def torrent_peers(*, viewer: User | Any, torrent_id: uuid.UUID, page: int = 1
                  ) -> tuple[Torrent, Page[PeerRow]]:
    """The torrent's current peers (seeders first), a page at a time."""
    require_perm(viewer, Perm.SITE_ACCESS)
    torrent = _visible_torrent(viewer, torrent_id)
    fresh = timezone.now() - timedelta(
        seconds=2 * int(settings.TRACKER_ANNOUNCE_INTERVAL))
    qs = (Peer.objects.filter(torrent=torrent, last_announce_at__gt=fresh)
          .select_related("user", "user__privacy", "user__group")
          .order_by("-is_seeder", "-uploaded", "id"))
    result: Page[Any] = Paginator(qs, PER_PAGE).get_page(page)
    seen: dict[uuid.UUID, frozenset[str]] = {}
    size = max(1, int(torrent.size))
    result.object_list = [PeerRow(
        member=_shown(viewer, p.user, "show_seeding" if p.is_seeder else "show_leeching",
                      seen),
        is_seeder=p.is_seeder, uploaded=p.uploaded, downloaded=p.downloaded,
        percent=round(100.0 * max(0, size - p.left) / size, 1), client=p.client,
        connectable=p.is_connectable, last_announce_at=p.last_announce_at)
        for p in result.object_list]
    return torrent, result


def torrent_snatches(*, viewer: User | Any, torrent_id: uuid.UUID, page: int = 1
                     ) -> tuple[Torrent, Page[SnatchRow]]:
    """Members who completed the torrent, latest first."""
    require_perm(viewer, Perm.SITE_ACCESS)
    torrent = _visible_torrent(viewer, torrent_id)
    now = timezone.now()
    qs = (TorrentHistory.objects.filter(torrent=torrent, completed_at__isnull=False)
          .select_related("user", "user__privacy", "user__group")
          .order_by("-completed_at", "id"))
    result: Page[Any] = Paginator(qs, PER_PAGE).get_page(page)
    seen: dict[uuid.UUID, frozenset[str]] = {}
    result.object_list = [SnatchRow(
        member=_shown(viewer, h.user, "show_snatched", seen), completed_at=h.completed_at,
        uploaded=h.uploaded, downloaded=h.downloaded, seedtime_seconds=h.seedtime_seconds,
        seeding=bool(h.seeding_until and h.seeding_until > now))
        for h in result.object_list]
    return torrent, result
