"""`{% promotion_badges torrent active_tokens as badges %}`: the promotions a torrent
carries for the viewer (domain.catalog.tracker_selectors.promotion_badges), for any list or page;
`active_tokens` is the viewer's set from active_token_torrents (one query per page)."""

from __future__ import annotations

from typing import Any

from django import template

from domain.catalog.tracker_selectors import Badge
from domain.catalog.tracker_selectors import promotion_badges as _badges

register = template.Library()


@register.simple_tag
def promotion_badges(torrent: Any, active_tokens: Any = None) -> list[Badge]:
    return _badges(torrent, token_active=bool(active_tokens) and torrent.pk in active_tokens)


@register.filter
def hours(seconds: Any) -> str:
    """Seed time as hours with one decimal ("72.0 h")."""
    try:
        return f"{int(seconds) / 3600:.1f} h"
    except (TypeError, ValueError):
        return ""


@register.filter
def ratio(value: Any) -> str:
    if value is None:
        return "-"
    if value == float("inf"):
        return "∞"
    return f"{float(value):.2f}"
