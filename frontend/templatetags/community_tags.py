"""Chat text with the viewer's own @name marked, escaped like any member text."""

from __future__ import annotations

import re

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.filter
def mentions_marked(body: str, username: str) -> SafeString:
    """`body` escaped, each "@<username>" (the service's mention rule: not inside a word,
    case-insensitive) wrapped in <mark class="mention">."""
    text = str(body)
    if not username:
        return escape(text)
    pattern = re.compile(rf"(?<![\w@])@{re.escape(str(username))}(?![A-Za-z0-9_.-])",
                         re.IGNORECASE)
    parts: list[str] = []
    last = 0
    for match in pattern.finditer(text):
        parts.append(escape(text[last:match.start()]))
        parts.append(f'<mark class="mention">{escape(match.group(0))}</mark>')
        last = match.end()
    parts.append(escape(text[last:]))
    return mark_safe("".join(parts))  # noqa: S308 - every piece of member text is escaped
