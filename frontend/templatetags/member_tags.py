"""The header's member figures, byte sizes as the header writes them, and member names
linked to their profiles."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from domain.memberstats import member_stats_get
from frontend.torrents.views import description_html

register = template.Library()

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")


@register.filter
def size_iec(value: Any) -> str:
    """1536 -> "1.50 KiB" (frontend/static/js/header.js writes the same)."""
    try:
        size = float(value)
    except (TypeError, ValueError):
        return ""
    unit = 0
    while abs(size) >= 1024 and unit < len(_UNITS) - 1:
        size /= 1024
        unit += 1
    return f"{int(size)} B" if unit == 0 else f"{size:.2f} {_UNITS[unit]}"


@register.filter
def badge_count(value: Any) -> str:
    """An unread badge's text: "99+" past 99 (frontend/static/js/live.js writes the same)."""
    try:
        count = max(0, int(value))
    except (TypeError, ValueError):
        return "0"
    return "99+" if count > 99 else str(count)


@register.inclusion_tag("nav/member_stats.html", takes_context=True)
def member_header(context: template.Context) -> dict[str, Any]:
    user = context.get("user")
    stats = member_stats_get(user.pk) if user is not None and user.is_authenticated else None
    return {"stats": stats}


@register.filter
def member_link(member: Any) -> SafeString:
    """A member's name linked to their profile: a User, or a name as the live payloads
    carry it. "[deleted]", an empty name or None is plain text."""
    name = getattr(member, "username", member)
    if not name or name == "[deleted]":
        return format_html('<span class="member deleted">{}</span>', name or "[deleted]")
    return format_html('<a class="member" href="{}">{}</a>',
                       reverse("accounts:profile", args=[name]), name)


@register.filter
def sanitized(text: Any) -> SafeString:
    """Member-written text (a profile) through the torrent descriptions' sanitizer."""
    return description_html(str(text or ""))


@register.filter
def avatar_src(member: Any) -> str:
    """The member's uploaded avatar, else their avatar URL when it is https; "" for none."""
    avatar = getattr(member, "avatar", None)
    if avatar:
        return str(avatar.url)
    url = str(getattr(member, "avatar_url", "") or "")
    return url if url.startswith("https://") else ""
