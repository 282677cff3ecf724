"""Staff lookups by address: members by name, email, passkey prefix or an address they
used; a member's addresses; the accounts that share them. They read the accounts' rows
(sessions, registration and last-seen addresses) and the tracker's (announces, peers), so
they sit in the tracker, above accounts. Each checks the reader's permission itself.

Announces are a monthly-partitioned log with no index on ip: address searches read only
the last ANNOUNCE_IP_DAYS of it (the BRIN index on created_at bounds the scan), plus the
current peers, sessions and the addresses kept on the member row."""

from __future__ import annotations

import ipaddress
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Max, Min, Q
from django.utils import timezone

from domain.accounts.models import User, UserSession
from domain.accounts.permissions import Perm, require_perm
from domain.tracker.models import Announce, Peer

ANNOUNCE_IP_DAYS = 30
LOOKUP_LIMIT = 50
_PASSKEY_PREFIX = re.compile(r"[0-9a-f]{4,32}")


def _ip(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return None


def member_lookup(viewer: Any, query: str) -> list[User]:
    """Members whose name or email contains `query`, who used the address `query`, or
    whose passkey starts with it (4+ hex digits)."""
    require_perm(viewer, Perm.USERS_VIEW_PRIVATE, "Member lookup is for staff.")
    query = str(query or "").strip()[:254]
    if not query:
        return []
    match = Q(username__icontains=query) | Q(email__icontains=query)
    address = _ip(query)
    if address is not None:
        since = timezone.now() - timedelta(days=ANNOUNCE_IP_DAYS)
        match |= (Q(registration_ip=address) | Q(last_ip=address)
                  | Q(pk__in=UserSession.objects.filter(ip_address=address).values("user_id"))
                  | Q(pk__in=Peer.objects.filter(ip=address).values("user_id"))
                  | Q(pk__in=Announce.objects.filter(ip=address, created_at__gte=since)
                      .values("user_id")))
    if _PASSKEY_PREFIX.fullmatch(query.lower()):
        match |= Q(passkey__startswith=query.lower())
    return list(User.objects.select_related("group").filter(match)
                .order_by("username")[:LOOKUP_LIMIT])


@dataclass(frozen=True)
class AddressUse:
    ip: str
    source: str  # "session", "announce", "registration", "last seen"
    first_seen: datetime | None
    last_seen: datetime | None
    count: int


def member_ip_history(viewer: Any, member: User) -> list[AddressUse]:
    """Every address the member used: login sessions (all), announces (the last
    ANNOUNCE_IP_DAYS), the registration and last-seen addresses."""
    require_perm(viewer, Perm.USERS_VIEW_PRIVATE, "A member's addresses are for staff.")
    rows: list[AddressUse] = []
    for s in (UserSession.objects.filter(user=member, ip_address__isnull=False)
              .values("ip_address").annotate(first=Min("created_at"), last=Max("last_seen_at"),
                                             n=Count("id")).order_by("-last")[:200]):
        rows.append(AddressUse(str(s["ip_address"]), "session", s["first"], s["last"], s["n"]))
    since = timezone.now() - timedelta(days=ANNOUNCE_IP_DAYS)
    for a in (Announce.objects.filter(user_id=member.pk, created_at__gte=since)
              .values("ip").annotate(first=Min("created_at"), last=Max("created_at"),
                                     n=Count("id")).order_by("-last")[:200]):
        rows.append(AddressUse(a["ip"], "announce", a["first"], a["last"], a["n"]))
    if member.registration_ip:
        rows.append(AddressUse(member.registration_ip, "registration", member.created_at,
                               member.created_at, 1))
    if member.last_ip:
        rows.append(AddressUse(member.last_ip, "last seen", None, member.last_seen_at, 1))
    return rows


def members_sharing_ips(viewer: Any, member: User) -> list[tuple[User, list[str]]]:
    """Other accounts that used any of the member's addresses, with the shared ones."""
    history = member_ip_history(viewer, member)
    addresses = sorted({h.ip for h in history})[:200]
    if not addresses:
        return []
    since = timezone.now() - timedelta(days=ANNOUNCE_IP_DAYS)
    shared: dict[uuid.UUID, set[str]] = {}
    pairs = [
        *UserSession.objects.filter(ip_address__in=addresses).exclude(user_id=member.pk)
        .values_list("user_id", "ip_address").distinct(),
        *Announce.objects.filter(ip__in=addresses, created_at__gte=since)
        .exclude(user_id=member.pk).values_list("user_id", "ip").distinct(),
        *User.objects.filter(registration_ip__in=addresses).exclude(pk=member.pk)
        .values_list("pk", "registration_ip"),
        *User.objects.filter(last_ip__in=addresses).exclude(pk=member.pk)
        .values_list("pk", "last_ip"),
    ]
    for user_id, ip in pairs:
        if user_id is not None:
            shared.setdefault(user_id, set()).add(str(ip))
    users = User.objects.select_related("group").filter(pk__in=list(shared)[:LOOKUP_LIMIT])
    return sorted(((u, sorted(shared[u.pk])) for u in users), key=lambda p: p[0].username)
