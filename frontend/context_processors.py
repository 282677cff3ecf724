"""Template context every page shares."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def site(request: HttpRequest) -> dict[str, str]:
    # Not `site_name`: Django's auth views put their own `site_name` (the request's host)
    # into the context, which would silently win over this one on the login page.
    return {"SITE_NAME": settings.SITE_NAME}
