"""The warning banner on every page: the member's active, unacknowledged warnings."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from domain.moderation.warnings import warnings_unacknowledged


def warning_banner(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    # A warning always carries points, so a member with none has nothing to show: most
    # pages for most members cost no query.
    if user is None or not user.is_authenticated or not getattr(user, "warning_points", 0):
        return {"warning_banner": []}

    return {"warning_banner": warnings_unacknowledged(user.pk)}
