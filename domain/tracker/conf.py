"""Settings as the announce path reads them: Django's LazySettings costs about a
microsecond per attribute, and an announce reads a dozen or more. Values are kept here and
forgotten whenever a setting changes (override_settings, pytest's `settings`)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.signals import setting_changed

_values: dict[str, Any] = {}


def setting(name: str) -> Any:
    try:
        return _values[name]
    except KeyError:
        value = _values[name] = getattr(settings, name)
        return value


def _forget(**_: Any) -> None:
    _values.clear()


setting_changed.connect(_forget, dispatch_uid="tracker_conf_forget")
