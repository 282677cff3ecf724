"""Auto-flag: rules as data (auto_flag_rules, edited in Django admin) that put items into
the moderation queue with flags.

Each kind has its checker, called by the area where the thing happens, inside the
transaction that writes it:
    autoflag_torrent(torrent, uploads=...)    first uploads, name pattern, description links
    autoflag_text(target_type, target_id, text, author_id)   word list (chat, forum, comments)
    autoflag_reports(target_type, target_id, count)          many reports on one target
    autoflag_raise(kind=..., ...)             anything else, e.g. the tracker's implausible
                                              transfer figures (kind "transfer_implausible")

A target has at most one open queue item: a new flag on a target that already waits (a
pending upload, an earlier flag) is added to that item's flags, and its priority and score
rise to the highest rule's. A new item is published to the staff feed after commit.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from domain.base import TargetType
from domain.errors import ValidationFailed
from domain.events import ModerationItem, publish
from domain.moderation.models import (
    QUEUE_TARGETS,
    AutoFlagKind,
    AutoFlagRule,
    ModerationQueueItem,
    QueueSource,
    QueueStatus,
)

OPEN_QUEUE = (QueueStatus.PENDING, QueueStatus.CLAIMED, QueueStatus.ESCALATED)
MAX_PATTERN = 200
MAX_WORDS = 500
LINK = re.compile(r"(?i)\b(?:https?://|www\.)\S+|\[url[=\]]")

# What each kind's `parameters` holds: name -> (type, required). Checked by
# autoflag_parameters_clean (the admin form uses it).
PARAMETERS: dict[str, dict[str, tuple[type, bool]]] = {
    AutoFlagKind.FIRST_UPLOADS: {"uploads": (int, True)},
    AutoFlagKind.NAME_PATTERN: {"patterns": (list, True)},
    AutoFlagKind.DESCRIPTION_LINKS: {"max_links": (int, True)},
    AutoFlagKind.WORD_LIST: {"words": (list, True), "targets": (list, False)},
    AutoFlagKind.REPORT_COUNT: {"reports": (int, True)},
    AutoFlagKind.TRANSFER_IMPLAUSIBLE: {},
}
WORD_TARGETS = (TargetType.CHAT_MESSAGE, TargetType.FORUM_POST, TargetType.COMMENT)


def autoflag_parameters_clean(kind: str, parameters: Any) -> dict[str, Any]:
    """The parameters a rule of `kind` needs, checked: ValidationFailed(field="parameters")
    names what is wrong (a missing key, a bad regular expression, a number below 1)."""
    if kind not in PARAMETERS:
        raise ValidationFailed("Choose a kind of rule.", field="kind")
    if not isinstance(parameters, dict):
        raise ValidationFailed("Parameters are a JSON object.", field="parameters")
    spec = PARAMETERS[kind]
    unknown = set(parameters) - set(spec)
    if unknown:
        raise ValidationFailed(f"Unknown parameter {sorted(unknown)[0]!r} for this kind; "
                               f"it takes {sorted(spec) or 'none'}.", field="parameters")
    for name, (kind_type, required) in spec.items():
        if name not in parameters:
            if required:
                raise ValidationFailed(f"This kind needs {name!r}.", field="parameters")
            continue
        value = parameters[name]
        if kind_type is int and (isinstance(value, bool) or not isinstance(value, int)
                                 or not 1 <= value <= 1_000_000):
            raise ValidationFailed(f"{name!r} is a whole number from 1 to 1000000.",
                                   field="parameters")
        if kind_type is list and (not isinstance(value, list)
                                  or not all(isinstance(v, str) and v.strip() for v in value)
                                  or len(value) > MAX_WORDS):
            raise ValidationFailed(f"{name!r} is a list of at most {MAX_WORDS} non-empty "
                                   "strings.", field="parameters")
    if kind == AutoFlagKind.NAME_PATTERN:
        for pattern in parameters["patterns"]:
            if len(pattern) > MAX_PATTERN:
                raise ValidationFailed(f"Patterns are at most {MAX_PATTERN} characters.",
                                       field="parameters")
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValidationFailed(f"{pattern!r} is not a regular expression: {exc}.",
                                       field="parameters") from None
    if kind == AutoFlagKind.WORD_LIST:
        bad = set(parameters.get("targets", [])) - {t.value for t in WORD_TARGETS}
        if bad:
            raise ValidationFailed(f"'targets' are among {[t.value for t in WORD_TARGETS]}.",
                                   field="parameters")
    return parameters


# --- Rules, cached per process (chat posts ask on every message) ------------------------


@dataclass(frozen=True)
class _Rule:
    id: str
    name: str
    kind: str
    parameters: dict[str, Any]
    score: float
    priority: int
    matchers: tuple[re.Pattern[str], ...] = ()


RULES_CACHE_SECONDS = 30.0
_rules_cache: list[tuple[float, dict[str, list[_Rule]]]] = []


def _matchers(rule: AutoFlagRule) -> tuple[re.Pattern[str], ...]:
    # Patterns are compiled one by one: each may carry its own global flags ("(?i)...").
    # A rule saved around the admin's check matches nothing rather than failing posts.
    found: list[re.Pattern[str]] = []
    if rule.kind == AutoFlagKind.NAME_PATTERN:
        for pattern in rule.parameters.get("patterns", []):
            try:
                found.append(re.compile(str(pattern)[:MAX_PATTERN]))
            except re.error:
                continue
    elif rule.kind == AutoFlagKind.WORD_LIST:
        words = [word_pattern(str(w)) for w in rule.parameters.get("words", [])]
        words = [w for w in words if w]
        if words:
            found.append(re.compile(r"(?i)(?<!\w)(?:" + "|".join(words) + r")(?!\w)"))
    return tuple(found)


# What may stand between the words of a word-list entry in the text: spaces of any kind
# (tabs, new lines, no-break spaces), invisible joiners and simple punctuation, so "free
# bitcoin" also finds "FREE   Bitcoin", "free.bitcoin", "free-bitcoin" and "free, bitcoin".
# An entry is split on the same characters; what else it holds ("c++", "f*ck") is literal.
_SEPARATOR_CHARS = r"\s\u200b-\u200d\u2060\ufeff.,;:!?'\"_\-/\\|~"
_SEPARATOR = re.compile(f"[{_SEPARATOR_CHARS}]+")


def word_pattern(entry: str) -> str:
    """The regular expression (no flags, no boundaries) for one word-list entry; "" for an
    entry with no word in it."""
    parts = [re.escape(part) for part in _SEPARATOR.split(entry) if part]
    return f"[{_SEPARATOR_CHARS}]+".join(parts)


def _search(rule: _Rule, text: str) -> re.Match[str] | None:
    for matcher in rule.matchers:
        found = matcher.search(text)
        if found:
            return found
    return None


def rules_by_kind() -> dict[str, list[_Rule]]:
    now = time.monotonic()
    if _rules_cache and _rules_cache[0][0] > now:
        return _rules_cache[0][1]
    rules: dict[str, list[_Rule]] = {}
    for rule in AutoFlagRule.objects.filter(is_active=True):
        rules.setdefault(rule.kind, []).append(_Rule(
            id=str(rule.id), name=rule.name, kind=rule.kind, parameters=dict(rule.parameters),
            score=rule.score, priority=rule.priority, matchers=_matchers(rule)))
    _rules_cache[:] = [(now + RULES_CACHE_SECONDS, rules)]
    return rules


def rules_forget() -> None:
    """Drop this process's copy of the rules (the admin calls it on a change; other
    processes follow within RULES_CACHE_SECONDS)."""
    _rules_cache.clear()


# --- Raising a flag -------------------------------------------------------------------------


def _flag(rule: _Rule, detail: str) -> dict[str, Any]:
    return {"rule": rule.name, "kind": rule.kind, "detail": detail[:500],
            "at": timezone.now().isoformat()}


def _raise(rule: _Rule, *, target_type: TargetType | str, target_id: uuid.UUID,
           summary: str, detail: str, submitted_by_id: Any = None
           ) -> ModerationQueueItem:
    flag = _flag(rule, detail)
    with transaction.atomic():
        item = (ModerationQueueItem.objects.select_for_update()
                .filter(target_type=str(target_type), target_id=target_id,
                        status__in=OPEN_QUEUE).first())
        if item is not None:
            if any(f.get("rule") == rule.name for f in item.flags if isinstance(f, dict)):
                return item  # this rule already flagged this item
            item.flags = [*item.flags, flag]
            item.priority = max(item.priority, rule.priority)
            item.flag_score = max(item.flag_score or 0.0, rule.score)
            item.save(update_fields=["flags", "priority", "flag_score", "updated_at"])
            return item
        item = ModerationQueueItem.objects.create(
            target_type=str(target_type), target_id=target_id, source=QueueSource.AUTO_FLAG,
            priority=rule.priority, flag_score=rule.score, flags=[flag],
            summary=f"[{rule.name}] {summary}"[:255], submitted_by_id=submitted_by_id)
        publish(ModerationItem(payload={
            "kind": "queue", "id": str(item.pk), "target_type": item.target_type,
            "target_id": str(item.target_id), "source": item.source,
            "summary": item.summary, "priority": item.priority, "status": item.status,
            "flags": item.flags, "created_at": item.created_at.isoformat()}))
    return item


def autoflag_raise(*, kind: AutoFlagKind | str, target_type: TargetType | str,
                   target_id: uuid.UUID, summary: str, detail: str = "",
                   submitted_by_id: Any = None) -> ModerationQueueItem | None:
    """Flag a target under every active rule of `kind` (None when no rule of that kind is
    active). For checks made elsewhere, e.g. the tracker's implausible transfer figures:
    `autoflag_raise(kind="transfer_implausible", target_type="user", target_id=member.id,
    summary="claimed 5 TiB in 30 s", detail="...")`."""
    item = None
    for rule in rules_by_kind().get(str(kind), []):
        item = _raise(rule, target_type=target_type, target_id=target_id, summary=summary,
                      detail=detail, submitted_by_id=submitted_by_id)
    return item


def autoflag_torrent(torrent: Any, *, uploads: Callable[[], int]) -> list[str]:
    """Flags for a new upload; returns the names of the rules that fired. `uploads()` is
    how many torrents the uploader has uploaded up to this one, this one included (the
    catalog counts them; asked only when a first-uploads rule is active)."""
    rules = rules_by_kind()
    fired: list[tuple[_Rule, str]] = []
    for rule in rules.get(AutoFlagKind.FIRST_UPLOADS, []):
        if torrent.uploader_id is None:
            continue
        limit = int(rule.parameters.get("uploads", 0))
        count = uploads()
        if count <= limit:
            fired.append((rule, f"upload {count} of the uploader's first {limit}"))
    for rule in rules.get(AutoFlagKind.NAME_PATTERN, []):
        found = _search(rule, torrent.name or "")
        if found:
            fired.append((rule, f"name matches {found.group(0)!r}"))
    for rule in rules.get(AutoFlagKind.DESCRIPTION_LINKS, []):
        links = len(LINK.findall(torrent.description or ""))
        if links > int(rule.parameters.get("max_links", 0)):
            fired.append((rule, f"{links} links in the description"))
    for rule, detail in fired:
        _raise(rule, target_type=TargetType.TORRENT, target_id=torrent.pk,
               summary=torrent.name, detail=detail, submitted_by_id=torrent.uploader_id)
    return [rule.name for rule, _ in fired]


def autoflag_text(*, target_type: TargetType | str, target_id: uuid.UUID, text: str,
                  author_id: Any = None) -> list[str]:
    """Word-list flags for a chat message, forum post or comment."""
    fired = []
    for rule in rules_by_kind().get(AutoFlagKind.WORD_LIST, []):
        targets = rule.parameters.get("targets") or [t.value for t in WORD_TARGETS]
        if str(target_type) not in targets:
            continue
        found = _search(rule, text or "")
        if found:
            _raise(rule, target_type=target_type, target_id=target_id,
                   summary=(text or "")[:200], detail=f"contains {found.group(0)!r}",
                   submitted_by_id=author_id)
            fired.append(rule.name)
    return fired


def autoflag_reports(*, target_type: TargetType | str, target_id: uuid.UUID, count: int
                     ) -> list[str]:
    """A target reported `count` times (open reports): flagged once it reaches a rule's
    number. Targets the queue cannot hold (a forum topic, a PM) are flagged through the
    report itself by the caller."""
    fired: list[str] = []
    if str(target_type) not in {t.value for t in QUEUE_TARGETS}:
        return fired
    for rule in rules_by_kind().get(AutoFlagKind.REPORT_COUNT, []):
        if count >= int(rule.parameters.get("reports", 0)):
            _raise(rule, target_type=target_type, target_id=target_id,
                   summary=f"{count} reports on this {target_type}",
                   detail=f"{count} open reports")
            fired.append(rule.name)
    return fired
