"""Every permission a group can grant, by code. Groups store the codes they grant
(user_groups.permissions); `user_has_perm` is the one place anything asks."""

from __future__ import annotations

from typing import Any

from django.db import models

from domain.errors import NotPermitted


class Perm(models.TextChoices):
    # Members
    SITE_ACCESS = "site_access", "Use the site"
    DOWNLOAD = "download", "Download and leech"
    UPLOAD = "upload", "Upload torrents"
    UPLOAD_AUTO_APPROVE = "upload_auto_approve", "Uploads skip moderation"
    COMMENT = "comment", "Post comments"
    FORUM_POST = "forum_post", "Post in forums"
    FORUM_TOPIC_CREATE = "forum_topic_create", "Start forum topics"
    CHAT = "chat", "Talk in chat"
    PM_SEND = "pm_send", "Send private messages"
    REQUEST_CREATE = "request_create", "Create requests"
    TAG_VOTE = "tag_vote", "Add and vote on tags"
    COLLECTION_CREATE = "collection_create", "Create collections"
    INVITE = "invite", "Send invites"
    BONUS_SPEND = "bonus_spend", "Spend bonus points"
    VIP_ACCESS = "vip_access", "VIP forum and chat"
    IMMUNE_RATIO = "immune_ratio", "Exempt from ratio rules"
    DESIGN_EDIT = "design_edit", "Edit site design assets"
    CUSTOM_TITLE = "custom_title", "Set their own title"
    # Staff
    STAFF_ACCESS = "staff_access", "Staff forum, chat and tools"
    USERS_VIEW_PRIVATE = "users_view_private", "See through paranoia"
    TORRENTS_MODERATE = "torrents_moderate", "Approve and reject uploads"
    TORRENTS_EDIT_ANY = "torrents_edit_any", "Edit any torrent"
    TORRENTS_DELETE_ANY = "torrents_delete_any", "Delete any torrent"
    FORUMS_MODERATE = "forums_moderate", "Move, lock and delete forum posts"
    CHAT_MODERATE = "chat_moderate", "Delete chat messages and mute"
    COMMENTS_MODERATE = "comments_moderate", "Delete any comment"
    REPORTS_HANDLE = "reports_handle", "Claim and resolve reports"
    MODERATION_QUEUE = "moderation_queue", "Work the moderation queue"
    USERS_WARN = "users_warn", "Warn members"
    USERS_BAN = "users_ban", "Ban members, IPs and emails"
    USERS_EDIT = "users_edit", "Edit member accounts"
    AUDIT_VIEW = "audit_view", "Read the audit log"
    ADMIN_ACCESS = "admin_access", "Use Django admin"
    SITE_SETTINGS = "site_settings", "Change site settings"
    GROUPS_EDIT = "groups_edit", "Edit groups and permissions"


ALL_PERMS: frozenset[str] = frozenset(p.value for p in Perm)


def user_has_perm(user: Any, perm: Perm | str) -> bool:
    """May this user do `perm`? The one place views, consumers, tasks and admin ask.

    Anonymous, inactive (validating, disabled, banned, deleted) members may do nothing.
    Feature bans (upload, download) are checked where those actions happen, through
    domain.moderation's ban selectors, on top of this.
    """
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    if not user.is_active:
        return False
    return str(perm) in user.group.permissions


def require_perm(user: Any, perm: Perm | str, message: str | None = None) -> None:
    """Raise NotPermitted unless `user_has_perm(user, perm)`."""
    if not user_has_perm(user, perm):
        label = Perm(perm).label if str(perm) in ALL_PERMS else str(perm)
        raise NotPermitted(message or f"Your account may not do this ({label.lower()}).",
                           code="forbidden")


def rank_allows(actor: Any, group: Any) -> bool:
    """THE rank rule: may `actor` put a member into `group`, or change a member who is in
    it? Only below the actor's own rank, unless they hold GROUPS_EDIT (without this any
    moderator could make themselves sysop). The services and Django admin both ask here."""
    actor_group = getattr(actor, "group", None)
    if actor_group is None:
        return False
    return user_has_perm(actor, Perm.GROUPS_EDIT) or int(group.rank) < int(actor_group.rank)
