"""What every domain model shares: UUID keys, timestamps, enum checks, polymorphic targets.

Polymorphic targets (comments, reports, moderation_queue, audit_logs, search_index_queue)
are done one way everywhere: a `target_type` column holding a `TargetType` value and a
`target_id` UUID, with a CHECK on the types that table accepts and a composite index.
Not Django's ContentType: its integer ids differ between databases, and the schema must
read the same in psql as in Python.
"""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Iterable

from django.db import models
from django.db.models import Q
from django.utils import timezone


class UUIDModel(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)

    class Meta:
        abstract = True


class TimestampedModel(UUIDModel):
    created_at = models.DateTimeField(default=timezone.now, db_index=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class TargetType(models.TextChoices):
    USER = "user", "Member"
    TORRENT = "torrent", "Torrent"
    REQUEST = "request", "Request"
    COLLECTION = "collection", "Collection"
    COMMENT = "comment", "Comment"
    FORUM_TOPIC = "forum_topic", "Forum topic"
    FORUM_POST = "forum_post", "Forum post"
    PRIVATE_MESSAGE = "private_message", "Private message"
    CHAT_MESSAGE = "chat_message", "Chat message"
    REPORT = "report", "Report"
    WARNING = "warning", "Warning"
    BAN = "ban", "Ban"
    USER_GROUP = "user_group", "User group"
    SITE = "site", "Site"


def choices_check(field: str, choices: Iterable[str | int] | type[models.TextChoices],
                  name: str) -> models.CheckConstraint:
    """A CHECK that `field` holds one of `choices` (enums are text + CHECK, not PG enums,
    so adding a value is one migration that any reader of the schema can follow)."""
    values = [c.value for c in choices] if isinstance(choices, type) else list(choices)
    return models.CheckConstraint(condition=Q(**{f"{field}__in": values}), name=name)


def non_negative(*fields: str, prefix: str) -> list[models.BaseConstraint]:
    return [
        models.CheckConstraint(condition=Q(**{f"{f}__gte": 0}), name=f"{prefix}_{f}_gte_0")
        for f in fields
    ]


class CidrField(models.Field):
    """PostgreSQL `cidr`: an address range (`10.0.0.0/8`, `2001:db8::/32`, or a single host).

    Django has inet (GenericIPAddressField) but no cidr; range bans need `>>=` containment
    with a GiST index, which only the network types give.
    """

    description = "IPv4 or IPv6 network (PostgreSQL cidr)"

    def db_type(self, connection: object) -> str:
        return "cidr"

    def to_python(self, value: object) -> str | None:
        if value is None or value == "":
            return None

        return str(ipaddress.ip_network(str(value), strict=False))

    def get_prep_value(self, value: object) -> str | None:
        return self.to_python(value)

    def from_db_value(self, value: object, expression: object, connection: object) -> str | None:
        return None if value is None else str(value)
