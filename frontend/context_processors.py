"""Template context every page shares."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from domain.community.selectors import header_unread_counts


def site(request: HttpRequest) -> dict[str, str]:
    # Not `site_name`: Django's auth views put their own `site_name` (the request's host)
    # into the context, which would silently win over this one on the login page.
    return {"SITE_NAME": settings.SITE_NAME}


def header_unread(request: HttpRequest) -> dict[str, Any]:
    """The header's unread notification and message badges as of the page load (the
    socket keeps them current after it connects): one query, and only when a template
    reads `header_unread` (a fragment or an error page without the header costs none)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    return {"header_unread": SimpleLazyObject(lambda: header_unread_counts(user.pk))}
