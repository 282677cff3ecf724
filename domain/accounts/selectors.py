"""Reads for accounts that respect permissions and paranoia.

`profile_visible_fields(viewer, member)` is THE paranoia check: every page, list, API
answer and live event that shows something about a member asks it which of the member's
UserPrivacy.SETTINGS the viewer may see. The member sees everything of their own; staff
holding Perm.USERS_VIEW_PRIVATE see through it; everyone else sees what the member allows.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.core.cache import cache
from django.db.models import QuerySet
from django.utils import timezone

from domain.accounts.models import (
    Invite,
    User,
    UserAchievement,
    UserPrivacy,
    UserSession,
    UserStatus,
    UserTwoFactor,
)
from domain.accounts.permissions import Perm, require_perm, user_has_perm
from domain.errors import NotFound
from domain.moderation.models import BanType
from domain.moderation.selectors import ip_ban_reason, user_ban_reasons

ALL_VISIBLE: frozenset[str] = frozenset(UserPrivacy.SETTINGS)


def profile_visible_fields(viewer: User | Any, member: User) -> frozenset[str]:
    """The names in UserPrivacy.SETTINGS (e.g. "show_ratio") that `viewer` may see of
    `member`. Stable API for every area (torrents, forums, live events): check
    `"show_uploads" in profile_visible_fields(request.user, uploader)` before showing it.
    Uses `member.privacy` (select_related it when listing many members)."""
    if getattr(viewer, "is_authenticated", False) and (
            viewer.pk == member.pk or user_has_perm(viewer, Perm.USERS_VIEW_PRIVATE)):
        return ALL_VISIBLE
    if not user_has_perm(viewer, Perm.SITE_ACCESS):
        return frozenset()  # outsiders see nothing of members
    try:
        privacy = member.privacy
    except UserPrivacy.DoesNotExist:
        return ALL_VISIBLE  # no row yet: the seed's defaults, all visible
    return frozenset(name for name in UserPrivacy.SETTINGS if getattr(privacy, name))


@dataclass
class ProfileView:
    """What a viewer may see of a member: hidden values are None (never the real value)."""

    member: User
    visible: frozenset[str]
    is_self: bool
    sees_private: bool
    stats: dict[str, Any] = field(default_factory=dict)
    achievements: list[UserAchievement] = field(default_factory=list)
    invited_count: int | None = None
    last_seen_at: Any = None


# Which statistic each privacy setting guards.
GUARDED_STATS: dict[str, tuple[str, ...]] = {
    "show_uploaded": ("uploaded",),
    "show_downloaded": ("downloaded",),
    "show_ratio": ("ratio",),
    "show_bonus_points": ("bonus_points",),
    "show_seeding": ("seeding_count", "seeding_size"),
    "show_leeching": ("leeching_count",),
    "show_snatched": ("snatched_count",),
    "show_uploads": ("uploads_count",),
    "show_requests_filled": ("requests_filled_count",),
    "show_requests_voted": ("requests_voted_count",),
    "show_comments": ("comments_count",),
}
# Always public to members: forum activity is visible on the forums anyway.
PUBLIC_STATS = ("forum_posts_count",)


def member_by_username(username: str) -> User:
    user = (User.objects.select_related("group", "privacy", "statistics")
            .filter(username__iexact=username, deleted_at__isnull=True).first())
    if user is None:
        raise NotFound("No member has that name.")
    return user


def profile_for_viewer(viewer: User | Any, username: str) -> ProfileView:
    """A member's profile as `viewer` may see it (NotFound for banned/validating members
    unless the viewer is staff who see through paranoia)."""
    require_perm(viewer, Perm.SITE_ACCESS)
    member = member_by_username(username)
    sees_private = user_has_perm(viewer, Perm.USERS_VIEW_PRIVATE)
    if member.status != UserStatus.ACTIVE and not sees_private and viewer.pk != member.pk:
        raise NotFound("No member has that name.")
    visible = profile_visible_fields(viewer, member)
    stats_row = getattr(member, "statistics", None)
    stats: dict[str, Any] = {}
    for setting, names in GUARDED_STATS.items():
        for name in names:
            if setting not in visible:
                stats[name] = None
            elif name == "ratio":
                stats[name] = stats_row.ratio if stats_row else None
            elif name == "bonus_points":
                stats[name] = member.bonus_points
            else:
                stats[name] = getattr(stats_row, name, 0) if stats_row else 0
    for name in PUBLIC_STATS:
        stats[name] = getattr(stats_row, name, 0) if stats_row else 0
    view = ProfileView(member=member, visible=visible, is_self=viewer.pk == member.pk,
                       sees_private=sees_private, stats=stats)
    if "show_achievements" in visible:
        view.achievements = list(member.achievements.all())
    if "show_invited" in visible:
        view.invited_count = member.invitees.count()
    if "show_last_seen" in visible:
        view.last_seen_at = member.last_seen_at
    return view


ONLINE_MINUTES = 15
ONLINE_CACHE_SECONDS = 60
ONLINE_LIMIT = 100


def members_online() -> tuple[list[str], int]:
    """Names of members seen in the last ONLINE_MINUTES (the first ONLINE_LIMIT, most
    recent first) and how many there are, leaving out those who hide when they were last
    seen (show_last_seen); the same list for every viewer, cached ONLINE_CACHE_SECONDS."""
    key = "home:online:v1"
    found: Any = cache.get(key)
    if found is not None:
        return found  # type: ignore[no-any-return]
    seen = (User.objects.filter(status=UserStatus.ACTIVE, deleted_at__isnull=True,
                                last_seen_at__gte=timezone.now()
                                - timedelta(minutes=ONLINE_MINUTES))
            .exclude(privacy__show_last_seen=False))
    names = list(seen.order_by("-last_seen_at").values_list("username", flat=True)
                 [:ONLINE_LIMIT])
    total = len(names) if len(names) < ONLINE_LIMIT else seen.count()
    result = (sorted(names, key=str.lower), total)
    cache.set(key, result, ONLINE_CACHE_SECONDS)
    return result


def sessions_for_user(user: User) -> QuerySet[UserSession]:
    """The member's live sessions, most recently seen first."""
    return (UserSession.objects.filter(user=user, revoked_at__isnull=True,
                                       expires_at__gt=timezone.now())
            .order_by("-last_seen_at"))


def invites_for_user(user: User) -> QuerySet[Invite]:
    return Invite.objects.filter(inviter=user).select_related("used_by")


def invite_tree(user: User, *, max_depth: int = 5) -> list[tuple[int, User]]:
    """The member's invitees, their invitees and so on, depth-first as (depth, user).
    One query per level (levels are few; members invite few)."""
    out: list[tuple[int, User]] = []
    children: dict[uuid.UUID | None, list[User]] = {}
    frontier = [user.pk]
    for _depth in range(1, max_depth + 1):
        level = list(User.objects.filter(invited_by_id__in=frontier).order_by("created_at"))
        if not level:
            break
        for invitee in level:
            children.setdefault(invitee.invited_by_id, []).append(invitee)
        frontier = [u.pk for u in level]

    def walk(parent: uuid.UUID, depth: int) -> None:
        for child in children.get(parent, []):
            out.append((depth, child))
            walk(child.pk, depth + 1)

    walk(user.pk, 1)
    return out


def two_factor_for_user(user: User) -> UserTwoFactor | None:
    return UserTwoFactor.objects.filter(user=user).first()


def account_access_refusal(*, user: User, ip: str | None) -> str | None:
    """Why this account may not use the site now (log in, or use a feed link or a key that
    stands for it), in words for the member; None when it may."""
    reasons = user_ban_reasons(user.pk)
    if BanType.ACCOUNT in reasons or user.status == UserStatus.BANNED:
        detail = reasons.get(BanType.ACCOUNT)
        return "This account is banned" + (f": {detail}." if detail else ".")
    if user.deleted_at is not None or user.status == UserStatus.DISABLED:
        return "This account is disabled. Contact the staff if you think this is a mistake."
    if user.status == UserStatus.VALIDATING:
        return ("This account is not confirmed yet: follow the link in the email we sent "
                "you when you registered.")
    ip_reason = ip_ban_reason(ip)
    if ip_reason is not None:
        return "Logins from your address are not allowed."
    return None
