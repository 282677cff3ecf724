"""Template helpers other areas' pages use to show moderation things (a member's own
warnings on their profile) without their views knowing about them."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from domain.moderation.warnings import warnings_visible

register = template.Library()


@register.simple_tag
def own_warnings(viewer: Any) -> list[Any]:
    """The viewer's own warnings (newest first), for their profile page."""
    if not getattr(viewer, "is_authenticated", False):
        return []
    return list(warnings_visible(viewer, viewer)[:50])


@register.simple_tag
def now_utc() -> Any:
    return timezone.now()
