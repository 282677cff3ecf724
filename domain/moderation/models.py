"""Keeping order: reports, warnings, bans, audit_logs, moderation_queue.

Targets are polymorphic the one way the project does it (domain.base.TargetType +
target_id). audit_logs is range-partitioned by month: the migration makes it from
sql/0005_audit_logs.sql and Django's state only records it; its foreign key is in that SQL.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import Q
from django.utils import timezone

from domain.base import CidrField, TargetType, TimestampedModel, choices_check

USER = settings.AUTH_USER_MODEL

REPORT_TARGETS = (
    TargetType.TORRENT, TargetType.USER, TargetType.COMMENT, TargetType.FORUM_TOPIC,
    TargetType.FORUM_POST, TargetType.PRIVATE_MESSAGE, TargetType.CHAT_MESSAGE,
    TargetType.REQUEST, TargetType.COLLECTION,
)
QUEUE_TARGETS = (
    TargetType.TORRENT, TargetType.COMMENT, TargetType.FORUM_POST, TargetType.REQUEST,
    TargetType.COLLECTION, TargetType.REPORT, TargetType.USER, TargetType.CHAT_MESSAGE,
    TargetType.WARNING, TargetType.BAN,
)


def _target_choices(targets: tuple[TargetType, ...]) -> list[tuple[str, str]]:
    return [(t.value, t.label) for t in targets]


class AppealStatus(models.TextChoices):
    NONE = "none", "No appeal"
    PENDING = "pending", "Appeal pending"
    ACCEPTED = "accepted", "Appeal accepted"
    REJECTED = "rejected", "Appeal rejected"


class ReportReason(models.TextChoices):
    RULES = "rules", "Breaks the rules"
    SPAM = "spam", "Spam"
    ABUSE = "abuse", "Abuse or harassment"
    DUPLICATE = "duplicate", "Duplicate (dupe)"
    TRUMPED = "trumped", "Better version exists (trump)"
    BAD_METADATA = "bad_metadata", "Wrong or missing information"
    BAD_FILES = "bad_files", "Broken or fake files"
    OTHER = "other", "Other"


class ReportStatus(models.TextChoices):
    OPEN = "open", "Open"
    CLAIMED = "claimed", "Claimed"
    RESOLVED = "resolved", "Resolved"
    DISMISSED = "dismissed", "Dismissed"


class Report(TimestampedModel):
    reporter = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="reports_made")
    target_type = models.CharField(max_length=32, choices=_target_choices(REPORT_TARGETS))
    target_id = models.UUIDField()
    reason = models.CharField(max_length=32, choices=ReportReason.choices)
    description = models.TextField(blank=True, default="")
    evidence = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=ReportStatus.choices,
                              default=ReportStatus.OPEN)
    claimed_by = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    claimed_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_note = models.TextField(blank=True, default="")
    # Reports of a target that already has an open report merge into that one (the
    # "primary"): each reporter keeps their own row, to see how it ended; the primary
    # counts them and staff work only the primary.
    duplicate_of = models.ForeignKey("self", on_delete=models.CASCADE, null=True, blank=True,
                                     related_name="duplicates")
    report_count = models.PositiveIntegerField(default=1)

    class Meta:
        db_table = "reports"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "created_at"], name="reports_open_idx",
                         condition=Q(status__in=["open", "claimed"])),
            models.Index(fields=["target_type", "target_id"], name="reports_target_idx"),
            models.Index(fields=["reporter", "-created_at"], name="reports_reporter_idx"),
        ]
        constraints = [
            choices_check("target_type", [t.value for t in REPORT_TARGETS],
                          "reports_target_type_valid"),
            choices_check("reason", ReportReason, "reports_reason_valid"),
            choices_check("status", ReportStatus, "reports_status_valid"),
            models.CheckConstraint(
                condition=~Q(status="claimed") | Q(claimed_by__isnull=False),
                name="reports_claimed_has_claimer"),
            models.CheckConstraint(
                condition=~Q(status__in=["resolved", "dismissed"]) | Q(resolved_at__isnull=False),
                name="reports_resolved_has_time"),
        ]


class WarningSource(models.TextChoices):
    STAFF = "staff", "Staff"
    REPORT = "report", "A report"
    POST = "post", "A post or comment"
    HNR = "hnr", "Hit and run"
    RATIO = "ratio", "Ratio watch"
    SYSTEM = "system", "Automatic"


class Warning(TimestampedModel):
    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="warnings")
    issued_by = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True,
                                  related_name="+")
    reason = models.TextField()
    points = models.PositiveSmallIntegerField(default=1)
    expires_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    report = models.ForeignKey(Report, on_delete=models.SET_NULL, null=True, blank=True,
                               related_name="warnings")
    appeal_status = models.CharField(max_length=16, choices=AppealStatus.choices,
                                     default=AppealStatus.NONE)
    appeal_text = models.TextField(blank=True, default="")
    appeal_decided_by = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True,
                                          blank=True, related_name="+")
    appeal_decided_at = models.DateTimeField(null=True, blank=True)
    source = models.CharField(max_length=16, choices=WarningSource.choices,
                              default=WarningSource.STAFF)
    # What the warning was given for (a post, a torrent a hit-and-run was on), if anything.
    target_type = models.CharField(max_length=32, choices=TargetType.choices, blank=True,
                                   default="")
    target_id = models.UUIDField(null=True, blank=True)

    def is_active(self, now: datetime | None = None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

    class Meta:
        db_table = "warnings"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user", "expires_at"], name="warnings_active_idx",
                         condition=Q(revoked_at__isnull=True)),
            models.Index(fields=["appeal_status"], name="warnings_appeals_idx",
                         condition=Q(appeal_status="pending")),
            models.Index(fields=["target_type", "target_id"], name="warnings_target_idx",
                         condition=~Q(target_type="")),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(points__gte=1) & Q(points__lte=100),
                                   name="warnings_points_range"),
            choices_check("appeal_status", AppealStatus, "warnings_appeal_status_valid"),
            models.CheckConstraint(condition=~Q(reason=""), name="warnings_reason_not_empty"),
            choices_check("source", WarningSource, "warnings_source_valid"),
        ]


class BanType(models.TextChoices):
    ACCOUNT = "account", "Account"
    IP = "ip", "IP address or range"
    EMAIL = "email", "Email pattern"
    UPLOAD = "upload", "Upload rights"
    DOWNLOAD = "download", "Download rights"


class Ban(TimestampedModel):
    """One ban. account/upload/download name a user; ip names a cidr range (a single
    address is a /32 or /128); email names a pattern (`*@spam.example`)."""

    ban_type = models.CharField(max_length=16, choices=BanType.choices)
    user = models.ForeignKey(USER, on_delete=models.CASCADE, null=True, blank=True,
                             related_name="bans")
    ip_range = CidrField(null=True, blank=True)
    email_pattern = models.CharField(max_length=254, blank=True, default="")
    reason = models.TextField()
    issued_by = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True,
                                  related_name="+")
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    appeal_status = models.CharField(max_length=16, choices=AppealStatus.choices,
                                     default=AppealStatus.NONE)
    appeal_text = models.TextField(blank=True, default="")
    appeal_decided_by = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True,
                                          blank=True, related_name="+")
    appeal_decided_at = models.DateTimeField(null=True, blank=True)
    # Issued and lifted by warning_take_effect as the member's warning points cross a
    # WarningThreshold; staff bans never are.
    from_warnings = models.BooleanField(default=False)

    class Meta:
        db_table = "bans"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user", "ban_type"], name="bans_user_idx",
                         condition=Q(revoked_at__isnull=True, user__isnull=False)),
            models.Index(fields=["email_pattern"], name="bans_email_idx",
                         condition=Q(ban_type="email", revoked_at__isnull=True)),
            models.Index(fields=["expires_at"], name="bans_expiry_idx",
                         condition=Q(revoked_at__isnull=True, expires_at__isnull=False)),
            # The GiST index on ip_range (inet_ops, for >>= lookups) is in sql/0005_bans.sql.
        ]
        constraints = [
            choices_check("ban_type", BanType, "bans_type_valid"),
            choices_check("appeal_status", AppealStatus, "bans_appeal_status_valid"),
            models.CheckConstraint(
                condition=(Q(ban_type__in=["account", "upload", "download"], user__isnull=False)
                           | Q(ban_type="ip", ip_range__isnull=False)
                           | (Q(ban_type="email") & ~Q(email_pattern=""))),
                name="bans_target_matches_type"),
            models.CheckConstraint(condition=~Q(reason=""), name="bans_reason_not_empty"),
        ]


class AuditLog(models.Model):
    """Who did what to what, from where. Written in the same transaction as the change;
    never edited (admin shows it read-only). Partitioned by month on created_at; the
    table's primary key is (id, created_at)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(USER, on_delete=models.DO_NOTHING, db_constraint=False,
                              null=True, blank=True, related_name="+")
    action = models.CharField(max_length=64)
    target_type = models.CharField(max_length=32, choices=TargetType.choices, blank=True,
                                   default="")
    target_id = models.UUIDField(null=True, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True, default="")
    changes = models.JSONField(default=dict, blank=True)
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        db_table = "audit_logs"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.action} at {self.created_at:%Y-%m-%d %H:%M:%S}"


class QueueStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    CLAIMED = "claimed", "Claimed"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    ESCALATED = "escalated", "Escalated"


class QueueSource(models.TextChoices):
    NEW_UPLOAD = "new_upload", "New upload"
    USER_REPORT = "user_report", "Member report"
    AUTO_FLAG = "auto_flag", "Automatic flag"
    APPEAL = "appeal", "Appeal"
    EDIT = "edit", "Edit awaiting review"


class ModerationQueueItem(TimestampedModel):
    """An item waiting for staff. At most one open item per target; auto-flaggers
    (rules or a model) fill flags and flag_score."""

    target_type = models.CharField(max_length=32, choices=_target_choices(QUEUE_TARGETS))
    target_id = models.UUIDField()
    source = models.CharField(max_length=16, choices=QueueSource.choices)
    status = models.CharField(max_length=16, choices=QueueStatus.choices,
                              default=QueueStatus.PENDING)
    priority = models.SmallIntegerField(default=0)
    summary = models.CharField(max_length=255, blank=True, default="")
    flags = models.JSONField(default=list, blank=True)
    flag_score = models.FloatField(null=True, blank=True)
    submitted_by = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="+")
    claimed_by = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    claimed_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+")
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_note = models.TextField(blank=True, default="")

    class Meta:
        db_table = "moderation_queue"
        ordering = ["-priority", "created_at"]
        indexes = [
            models.Index(models.F("priority").desc(), "created_at",
                         name="moderation_queue_open_idx",
                         condition=Q(status__in=["pending", "claimed", "escalated"])),
            models.Index(fields=["claimed_by"], name="moderation_queue_claimer_idx",
                         condition=Q(status="claimed")),
            models.Index(fields=["target_type", "target_id"], name="moderation_queue_target_idx"),
            GinIndex(fields=["flags"], name="moderation_queue_flags_gin"),
        ]
        constraints = [
            choices_check("target_type", [t.value for t in QUEUE_TARGETS],
                          "moderation_queue_target_type_valid"),
            choices_check("source", QueueSource, "moderation_queue_source_valid"),
            choices_check("status", QueueStatus, "moderation_queue_status_valid"),
            models.UniqueConstraint(fields=["target_type", "target_id"],
                                    name="moderation_queue_one_open_per_target",
                                    condition=Q(status__in=["pending", "claimed", "escalated"])),
            models.CheckConstraint(
                condition=Q(flag_score__isnull=True) | Q(flag_score__gte=0, flag_score__lte=1),
                name="moderation_queue_score_unit"),
        ]


WARNING_CONSEQUENCES = (BanType.DOWNLOAD, BanType.UPLOAD, BanType.ACCOUNT)


class WarningThreshold(TimestampedModel):
    """What a member's warning points cost them: at `points` or more active points, a ban
    of `consequence` (issued by the system, lifted when the points fall back below)."""

    points = models.PositiveSmallIntegerField()
    consequence = models.CharField(max_length=16,
                                   choices=[(t.value, t.label) for t in WARNING_CONSEQUENCES])
    description = models.CharField(max_length=255, blank=True, default="")
    is_active = models.BooleanField(default=True)

    class Meta:
        db_table = "warning_thresholds"
        ordering = ["points"]
        constraints = [
            models.UniqueConstraint(fields=["consequence"], name="warning_thresholds_one_each"),
            models.CheckConstraint(condition=Q(points__gte=1),
                                   name="warning_thresholds_points_gte_1"),
            choices_check("consequence", [t.value for t in WARNING_CONSEQUENCES],
                          "warning_thresholds_consequence_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.get_consequence_display()} at {self.points} points"


APPEAL_TARGETS = (TargetType.BAN, TargetType.WARNING, TargetType.TORRENT)


class AppealDecision(models.TextChoices):
    PENDING = "pending", "Pending"
    ACCEPTED = "accepted", "Accepted"
    DENIED = "denied", "Denied"


class Appeal(TimestampedModel):
    """A member's appeal of one action taken against them: a ban, a warning or the
    rejection of their upload. One per action, ever."""

    appellant = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="appeals")
    target_type = models.CharField(max_length=32, choices=_target_choices(APPEAL_TARGETS))
    target_id = models.UUIDField()
    text = models.TextField()
    status = models.CharField(max_length=16, choices=AppealDecision.choices,
                              default=AppealDecision.PENDING)
    decided_by = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True, default="")

    class Meta:
        db_table = "appeals"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["appellant", "-created_at"], name="appeals_appellant_idx"),
            models.Index(fields=["created_at"], name="appeals_pending_idx",
                         condition=Q(status="pending")),
        ]
        constraints = [
            models.UniqueConstraint(fields=["target_type", "target_id"],
                                    name="appeals_one_per_action"),
            choices_check("target_type", [t.value for t in APPEAL_TARGETS],
                          "appeals_target_type_valid"),
            choices_check("status", AppealDecision, "appeals_status_valid"),
            models.CheckConstraint(condition=~Q(text=""), name="appeals_text_not_empty"),
            models.CheckConstraint(
                condition=Q(status="pending") | Q(decided_at__isnull=False),
                name="appeals_decided_has_time"),
        ]


class AutoFlagKind(models.TextChoices):
    FIRST_UPLOADS = "first_uploads", "A new uploader's first uploads"
    NAME_PATTERN = "name_pattern", "Torrent name matches a banned pattern"
    DESCRIPTION_LINKS = "description_links", "Description with many links"
    WORD_LIST = "word_list", "Chat, forum or comment text matches a word list"
    REPORT_COUNT = "report_count", "Many reports on one target"
    TRANSFER_IMPLAUSIBLE = "transfer_implausible", "Implausible transfer figures"


class AutoFlagRule(TimestampedModel):
    """One rule that puts items into the moderation queue with a flag. `parameters` holds
    what the kind needs (see domain.moderation.autoflag.PARAMETERS)."""

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=32, choices=AutoFlagKind.choices)
    parameters = models.JSONField(default=dict, blank=True)
    score = models.FloatField(default=0.5)
    priority = models.SmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        db_table = "auto_flag_rules"
        ordering = ["kind", "name"]
        constraints = [
            choices_check("kind", AutoFlagKind, "auto_flag_rules_kind_valid"),
            models.CheckConstraint(condition=Q(score__gte=0, score__lte=1),
                                   name="auto_flag_rules_score_unit"),
        ]

    def __str__(self) -> str:
        return self.name


class StaffNote(TimestampedModel):
    """A note staff keep on a member; never shown to the member."""

    member = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="staff_notes")
    author = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True,
                               related_name="+")
    body = models.TextField()

    class Meta:
        db_table = "staff_notes"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["member", "-created_at"], name="staff_notes_member_idx")]
        constraints = [models.CheckConstraint(condition=~Q(body=""),
                                              name="staff_notes_body_not_empty")]
