"""The economy: bonus_rules (how points are earned), bonus_transactions (the ledger),
freeleech_tokens."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from domain.base import TimestampedModel, UUIDModel, choices_check

USER = settings.AUTH_USER_MODEL


class RuleType(models.TextChoices):
    SEEDING = "seeding", "Every seeded torrent"
    LOW_SEEDERS = "low_seeders", "Torrents with few seeders"
    FREELEECH_SEEDING = "freeleech_seeding", "Seeding freeleech torrents"
    LARGE_FILE = "large_file", "Large torrents"


class BonusRule(TimestampedModel):
    """One earning rule. Each seeded torrent earns, per hour, `points_per_hour` plus
    `points_per_gib_hour` per GiB above `min_size_bytes`, when its conditions hold; capped at
    `max_points_per_hour`. A new rule of these shapes needs no code change."""

    name = models.SlugField(max_length=64, unique=True)
    display_name = models.CharField(max_length=100)
    description = models.TextField(blank=True, default="")
    rule_type = models.CharField(max_length=32, choices=RuleType.choices)
    points_per_hour = models.DecimalField(max_digits=12, decimal_places=4, default=0)
    points_per_gib_hour = models.DecimalField(max_digits=12, decimal_places=4, default=0)
    max_seeders = models.PositiveIntegerField(null=True, blank=True)
    min_size_bytes = models.BigIntegerField(null=True, blank=True)
    min_seedtime_seconds = models.PositiveIntegerField(default=0)
    requires_freeleech = models.BooleanField(default=False)
    max_points_per_hour = models.DecimalField(max_digits=12, decimal_places=4, null=True,
                                              blank=True)
    is_active = models.BooleanField(default=True)
    priority = models.PositiveSmallIntegerField(default=100)

    class Meta:
        db_table = "bonus_rules"
        ordering = ["priority", "name"]
        constraints = [
            choices_check("rule_type", RuleType, "bonus_rules_type_valid"),
            models.CheckConstraint(condition=Q(points_per_hour__gte=0),
                                   name="bonus_rules_points_gte_0"),
            models.CheckConstraint(condition=Q(points_per_gib_hour__gte=0),
                                   name="bonus_rules_gib_points_gte_0"),
            models.CheckConstraint(
                condition=Q(max_points_per_hour__isnull=True) | Q(max_points_per_hour__gt=0),
                name="bonus_rules_cap_positive"),
            models.CheckConstraint(
                condition=Q(min_size_bytes__isnull=True) | Q(min_size_bytes__gte=0),
                name="bonus_rules_min_size_gte_0"),
        ]

    def __str__(self) -> str:
        return self.display_name


class TransactionType(models.TextChoices):
    EARNING = "earning", "Seeding reward"
    PURCHASE_UPLOAD = "purchase_upload", "Bought upload credit"
    PURCHASE_TOKEN = "purchase_token", "Bought freeleech token"
    GIFT_SENT = "gift_sent", "Gift sent"
    GIFT_RECEIVED = "gift_received", "Gift received"
    BOUNTY_PLACED = "bounty_placed", "Request bounty placed"
    BOUNTY_REFUND = "bounty_refund", "Request bounty refunded"
    BOUNTY_AWARDED = "bounty_awarded", "Request bounty won"
    ACHIEVEMENT = "achievement", "Achievement reward"
    ADJUSTMENT = "adjustment", "Staff adjustment"


class BonusTransaction(UUIDModel):
    """The ledger: every change of a balance. users.bonus_points equals the sum of amount.
    `idempotency_key` (e.g. the earning period) makes a replayed award a no-op."""

    user = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="bonus_transactions")
    transaction_type = models.CharField(max_length=32, choices=TransactionType.choices)
    amount = models.DecimalField(max_digits=20, decimal_places=2)
    balance_after = models.DecimalField(max_digits=20, decimal_places=2)
    description = models.CharField(max_length=255, blank=True, default="")
    rule = models.ForeignKey(BonusRule, on_delete=models.SET_NULL, null=True, blank=True,
                             related_name="transactions")
    torrent = models.ForeignKey("catalog.Torrent", on_delete=models.SET_NULL, null=True,
                                blank=True, related_name="+")
    counterparty = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True,
                                     related_name="+")
    acting_user = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+")
    # NULL, not "": the partial unique index must ignore rows without a key.
    idempotency_key = models.CharField(max_length=128, null=True, blank=True)  # noqa: DJ001
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "bonus_transactions"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="bonus_tx_user_idx"),
            models.Index(fields=["transaction_type", "-created_at"], name="bonus_tx_type_idx"),
        ]
        constraints = [
            choices_check("transaction_type", TransactionType, "bonus_tx_type_valid"),
            models.CheckConstraint(condition=~Q(amount=0), name="bonus_tx_amount_nonzero"),
            models.CheckConstraint(condition=Q(balance_after__gte=0),
                                   name="bonus_tx_balance_gte_0"),
            models.UniqueConstraint(fields=["user", "idempotency_key"],
                                    name="bonus_tx_idempotent",
                                    condition=Q(idempotency_key__isnull=False)),
        ]


class TokenStatus(models.TextChoices):
    AVAILABLE = "available", "Available"
    ACTIVE = "active", "In use on a torrent"
    EXPIRED = "expired", "Expired"


class FreeleechToken(TimestampedModel):
    """A member's token: bought or awarded, then spent on one torrent, where it makes
    downloads free until it expires by time or by volume."""

    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="freeleech_tokens")
    torrent = models.ForeignKey("catalog.Torrent", on_delete=models.CASCADE, null=True,
                                blank=True, related_name="freeleech_tokens")
    status = models.CharField(max_length=16, choices=TokenStatus.choices,
                              default=TokenStatus.AVAILABLE)
    source = models.CharField(max_length=32, default="purchase")
    activated_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    downloaded_bytes = models.BigIntegerField(default=0)
    max_download_bytes = models.BigIntegerField(null=True, blank=True)

    class Meta:
        db_table = "freeleech_tokens"
        indexes = [
            models.Index(fields=["user", "status"], name="freeleech_tokens_user_idx"),
            models.Index(fields=["expires_at"], name="freeleech_tokens_expiry_idx",
                         condition=Q(status="active")),
        ]
        constraints = [
            choices_check("status", TokenStatus, "freeleech_tokens_status_valid"),
            models.UniqueConstraint(fields=["user", "torrent"], name="freeleech_tokens_one_active",
                                    condition=Q(status="active")),
            models.CheckConstraint(
                condition=(~Q(status="active")
                           | Q(torrent__isnull=False, activated_at__isnull=False)),
                name="freeleech_tokens_active_has_torrent"),
            models.CheckConstraint(condition=Q(downloaded_bytes__gte=0),
                                   name="freeleech_tokens_downloaded_gte_0"),
        ]


class EarningPeriod(models.Model):
    """One awarded earning period. Its primary key is the period's start, so a period is
    awarded at most once: the row is written in the same transaction as the ledger rows and
    balances of that period (a crash rolls all of it back, and the rerun awards it whole)."""

    period_start = models.DateTimeField(primary_key=True)
    period_end = models.DateTimeField()
    awarded_at = models.DateTimeField(default=timezone.now)
    members = models.PositiveIntegerField(default=0)
    points = models.DecimalField(max_digits=20, decimal_places=2, default=0)
    duration_ms = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "bonus_earning_periods"
        ordering = ["-period_start"]
        constraints = [
            models.CheckConstraint(condition=Q(period_end__gt=models.F("period_start")),
                                   name="bonus_earning_periods_end_after_start"),
        ]

    def __str__(self) -> str:
        return f"{self.period_start:%Y-%m-%d %H:%M} - {self.period_end:%H:%M}"
