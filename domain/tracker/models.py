"""The tracker's durable state: peers, announces, peer_history, torrent_statistics.

The live swarm is in Redis (see DESIGN.md); these tables are what the periodic flush
writes. `announces` is range-partitioned by month, which Django cannot create: the migration
makes it from sql/0003_announces.sql and Django's state only records it (so flush and
serialization treat it like any table). Its foreign keys are declared in that SQL.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.indexes import BrinIndex
from django.db import models
from django.db.models import Q
from django.db.models.functions import Length
from django.db.models.lookups import Exact
from django.utils import timezone

from domain.base import TimestampedModel, UUIDModel, non_negative

USER = settings.AUTH_USER_MODEL


class AnnounceEvent(models.TextChoices):
    NONE = "", "Regular"
    STARTED = "started", "Started"
    COMPLETED = "completed", "Completed"
    STOPPED = "stopped", "Stopped"
    PAUSED = "paused", "Paused"


def _port_check(prefix: str) -> models.CheckConstraint:
    return models.CheckConstraint(condition=Q(port__gte=1) & Q(port__lte=65535),
                                  name=f"{prefix}_port_range")


class Peer(UUIDModel):
    """One client of one member on one torrent (identity: torrent + user + peer_id)."""

    torrent = models.ForeignKey("catalog.Torrent", on_delete=models.CASCADE, related_name="peers")
    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="peers")
    peer_id = models.BinaryField(max_length=20)
    peer_key = models.CharField(max_length=64, blank=True, default="")
    ip = models.GenericIPAddressField()
    port = models.PositiveIntegerField()
    uploaded = models.BigIntegerField(default=0)
    downloaded = models.BigIntegerField(default=0)
    left = models.BigIntegerField(default=0)
    is_seeder = models.BooleanField(default=False)
    is_connectable = models.BooleanField(null=True, blank=True)
    client = models.CharField(max_length=64, blank=True, default="")
    user_agent = models.CharField(max_length=255, blank=True, default="")
    announce_count = models.PositiveIntegerField(default=1)
    seedtime_seconds = models.BigIntegerField(default=0)
    leechtime_seconds = models.BigIntegerField(default=0)
    started_at = models.DateTimeField(default=timezone.now)
    last_announce_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "peers"
        indexes = [
            models.Index(fields=["torrent", "is_seeder"], name="peers_torrent_seeder_idx"),
            models.Index(fields=["user", "is_seeder"], name="peers_user_seeder_idx"),
            models.Index(fields=["last_announce_at"], name="peers_last_announce_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["torrent", "user", "peer_id"], name="peers_identity"),
            models.CheckConstraint(condition=Exact(Length("peer_id"), 20),
                                   name="peers_peer_id_20_bytes"),
            _port_check("peers"),
            *non_negative("uploaded", "downloaded", "left", "seedtime_seconds",
                          "leechtime_seconds", prefix="peers"),
        ]


class Announce(models.Model):
    """One announce as received (log, partitioned by month on created_at).

    The table's primary key is (id, created_at), as PostgreSQL requires of a partitioned
    table; `id` alone is unique in practice (UUIDv4) and is what Django treats as the pk.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    torrent = models.ForeignKey("catalog.Torrent", on_delete=models.DO_NOTHING,
                                db_constraint=False, related_name="+")
    user = models.ForeignKey(USER, on_delete=models.DO_NOTHING, db_constraint=False,
                             related_name="+")
    peer_id = models.BinaryField(max_length=20)
    ip = models.GenericIPAddressField()
    port = models.PositiveIntegerField()
    event = models.CharField(max_length=16, choices=AnnounceEvent.choices, blank=True,
                             default="")
    uploaded = models.BigIntegerField()
    downloaded = models.BigIntegerField()
    left = models.BigIntegerField()
    uploaded_delta = models.BigIntegerField(default=0)
    downloaded_delta = models.BigIntegerField(default=0)
    credited_uploaded = models.BigIntegerField(default=0)
    credited_downloaded = models.BigIntegerField(default=0)
    numwant = models.PositiveSmallIntegerField(default=0)
    client = models.CharField(max_length=64, blank=True, default="")
    user_agent = models.CharField(max_length=255, blank=True, default="")

    class Meta:
        db_table = "announces"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.event or 'announce'} at {self.created_at:%Y-%m-%d %H:%M:%S}"


class PeerHistory(UUIDModel):
    """A time series row per peer per interval (plain table, BRIN on time; a TimescaleDB
    hypertable where that extension exists, see sql/0004_peer_history_timescale.sql)."""

    recorded_at = models.DateTimeField(default=timezone.now)
    torrent = models.ForeignKey("catalog.Torrent", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")
    peer_id = models.BinaryField(max_length=20)
    uploaded_delta = models.BigIntegerField(default=0)
    downloaded_delta = models.BigIntegerField(default=0)
    left = models.BigIntegerField(default=0)
    is_seeder = models.BooleanField(default=False)
    seedtime_seconds = models.IntegerField(default=0)
    leechtime_seconds = models.IntegerField(default=0)

    class Meta:
        db_table = "peer_history"
        verbose_name_plural = "peer history"
        indexes = [
            BrinIndex(fields=["recorded_at"], name="peer_history_recorded_brin"),
            models.Index(fields=["user", "recorded_at"], name="peer_history_user_idx"),
            models.Index(fields=["torrent", "recorded_at"], name="peer_history_torrent_idx"),
        ]
        constraints = non_negative("uploaded_delta", "downloaded_delta", "left",
                                   "seedtime_seconds", "leechtime_seconds",
                                   prefix="peer_history")


class PeerHistoryDaily(UUIDModel):
    """peer_history rolled up per member, torrent and UTC day, once the raw rows are older
    than PEER_HISTORY_RAW_DAYS (domain/tracker/rollup.py): the raw series stays small and
    the long-term totals stay exact."""

    day = models.DateField()
    torrent = models.ForeignKey("catalog.Torrent", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")
    uploaded = models.BigIntegerField(default=0)
    downloaded = models.BigIntegerField(default=0)
    seedtime_seconds = models.BigIntegerField(default=0)
    leechtime_seconds = models.BigIntegerField(default=0)
    samples = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "peer_history_daily"
        verbose_name_plural = "peer history (daily)"
        indexes = [
            models.Index(fields=["user", "day"], name="peer_history_daily_user_idx"),
            BrinIndex(fields=["day"], name="peer_history_daily_day_brin"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["day", "torrent", "user"],
                                    name="peer_history_daily_once"),
            *non_negative("uploaded", "downloaded", "seedtime_seconds", "leechtime_seconds",
                          prefix="peer_history_daily"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.user_id} {self.torrent_id}"


class TorrentStatistics(TimestampedModel):
    torrent = models.OneToOneField("catalog.Torrent", on_delete=models.CASCADE,
                                   related_name="statistics")
    seeders = models.IntegerField(default=0)
    leechers = models.IntegerField(default=0)
    snatches = models.IntegerField(default=0)
    total_uploaded = models.BigIntegerField(default=0)
    total_downloaded = models.BigIntegerField(default=0)
    last_seeder_at = models.DateTimeField(null=True, blank=True)
    last_activity_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "torrent_statistics"
        verbose_name_plural = "torrent statistics"
        indexes = [
            models.Index(fields=["-seeders"], name="torrent_stats_seeders_idx"),
            models.Index(fields=["-leechers"], name="torrent_stats_leechers_idx"),
            models.Index(fields=["-snatches"], name="torrent_stats_snatches_idx"),
        ]
        constraints = non_negative("seeders", "leechers", "snatches", "total_uploaded",
                                   "total_downloaded", prefix="torrent_statistics")



class ClientRuleKind(models.TextChoices):
    ALLOW = "allow", "Allow (whitelist)"
    DENY = "deny", "Deny (blacklist)"


class ClientRule(TimestampedModel):
    """A peer_id prefix the tracker allows or refuses (e.g. `-qB` allowed, `-qB4170-`
    denied). Deny rules win; once any allow rule exists, clients matching none are refused.
    Editable in admin; the announce path reads them from the tracker cache."""

    kind = models.CharField(max_length=8, choices=ClientRuleKind.choices)
    peer_id_prefix = models.CharField(
        max_length=20, help_text="Start of the peer_id as text, e.g. -qB46 or -TR4.")
    name = models.CharField(max_length=64, blank=True, default="",
                            help_text="The client it names, shown to members when refused.")
    reason = models.CharField(max_length=255, blank=True, default="",
                              help_text="Why a deny rule exists (shown to members).")
    is_active = models.BooleanField(default=True)

    class Meta:
        db_table = "tracker_client_rules"
        ordering = ["kind", "peer_id_prefix"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "peer_id_prefix"],
                                    name="tracker_client_rules_uniq"),
            models.CheckConstraint(condition=Q(kind__in=["allow", "deny"]),
                                   name="tracker_client_rules_kind_valid"),
            models.CheckConstraint(condition=~Q(peer_id_prefix=""),
                                   name="tracker_client_rules_prefix_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.peer_id_prefix}"


class FlushBatch(models.Model):
    """One batch of buffered announces written to PostgreSQL. Its id is chosen in Redis
    before the write; the row commits with the batch's writes, so a batch replayed after a
    crash finds its id here and is skipped (nothing written twice)."""

    id = models.UUIDField(primary_key=True)
    entries = models.PositiveIntegerField()
    flushed_at = models.DateTimeField(default=timezone.now)
    # A batch some entry of which could not be written is written as halves (ids derived
    # from its own, flush.py); this row, committed first, says so to a replay.
    split = models.BooleanField(default=False, db_default=False)

    class Meta:
        db_table = "tracker_flush_batches"

    def __str__(self) -> str:
        return f"batch {self.id} ({self.entries} announces)"


class TorrentHistory(UUIDModel):
    """One row per member per torrent they ever announced (UNIT3D's `history`): what the
    history pages list and the hit-and-run rules judge. Written by the flush in the batch's
    transaction (domain/tracker/history.py), so it is exactly as current as the peers.

    Seed time here is wall-clock time seeded: two clients seeding at once count once, and
    only the time between two seeding announces at most 1.5 intervals apart accrues.
    `seeding_until` / `active_until` are when the member's last seeding / any peer on it
    goes stale (NULL when none is left), so "seeding now" is `seeding_until > now`."""

    torrent = models.ForeignKey("catalog.Torrent", on_delete=models.CASCADE,
                                related_name="+")
    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")
    uploaded = models.BigIntegerField(default=0)
    downloaded = models.BigIntegerField(default=0)
    uploaded_raw = models.BigIntegerField(default=0)
    downloaded_raw = models.BigIntegerField(default=0)
    seedtime_seconds = models.BigIntegerField(default=0)
    leechtime_seconds = models.BigIntegerField(default=0)
    # The end of the seed time already credited (the union of every client's intervals).
    seed_credited_until = models.DateTimeField(null=True, blank=True)
    client = models.CharField(max_length=64, blank=True, default="")
    first_announce_at = models.DateTimeField(default=timezone.now)
    last_announce_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)
    seeding_until = models.DateTimeField(null=True, blank=True)
    active_until = models.DateTimeField(null=True, blank=True)
    # Hit-and-run state (domain/tracker/hnr.py).
    immune = models.BooleanField(default=False, help_text=(
        "Never a hit-and-run on this torrent for this member (set by staff)."))
    prewarned_at = models.DateTimeField(null=True, blank=True)
    hnr_at = models.DateTimeField(null=True, blank=True)
    hnr_cleared_at = models.DateTimeField(null=True, blank=True)
    hnr_warning = models.ForeignKey("moderation.Warning", on_delete=models.SET_NULL,
                                    null=True, blank=True, related_name="+")

    class Meta:
        db_table = "torrent_history"
        verbose_name_plural = "torrent history"
        indexes = [
            models.Index(fields=["user", "-last_announce_at"], name="torrent_history_user_idx"),
            models.Index(fields=["torrent", "-completed_at"], name="torrent_history_snatch_idx",
                         condition=Q(completed_at__isnull=False)),
            models.Index(fields=["user"], name="torrent_history_hnr_idx",
                         condition=Q(hnr_at__isnull=False, hnr_cleared_at__isnull=True)),
            models.Index(fields=["prewarned_at"], name="torrent_history_prewarned_idx",
                         condition=Q(prewarned_at__isnull=False, hnr_at__isnull=True)),
        ]
        constraints = [
            models.UniqueConstraint(fields=["user", "torrent"], name="torrent_history_once"),
            *non_negative("uploaded", "downloaded", "uploaded_raw", "downloaded_raw",
                          "seedtime_seconds", "leechtime_seconds", prefix="torrent_history"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} on {self.torrent_id}"


class RatioWatch(UUIDModel):
    """A member's spell on ratio watch (Gazelle): below the required ratio for their
    amount downloaded, they have until `deadline_at`; still below then, leeching stops
    (`leech_disabled_at`) until the ratio is back (`ended_at`)."""

    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="ratio_watches")
    required_ratio = models.DecimalField(max_digits=6, decimal_places=2)
    ratio_at_start = models.DecimalField(max_digits=12, decimal_places=4)
    started_at = models.DateTimeField(default=timezone.now)
    deadline_at = models.DateTimeField()
    leech_disabled_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "tracker_ratio_watch"
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(fields=["user"], name="tracker_ratio_watch_one_open",
                                    condition=Q(ended_at__isnull=True)),
            models.CheckConstraint(condition=Q(deadline_at__gte=models.F("started_at")),
                                   name="tracker_ratio_watch_deadline_after_start"),
        ]

    def __str__(self) -> str:
        return f"ratio watch of {self.user_id} from {self.started_at:%Y-%m-%d}"
class RefusedClaim(UUIDModel):
    """Transfer an announce claimed and the tracker refused to credit: more than
    TRACKER_MAX_RATE could carry since the peer's last announce, or a download of more than
    TRACKER_MAX_DOWNLOAD_FACTOR times the torrent. Written by the flush with the batch, so
    a replayed batch records nothing twice; each member with such claims has an auto-flag
    item in the moderation queue."""

    created_at = models.DateTimeField(default=timezone.now)  # the announce's time
    torrent = models.ForeignKey("catalog.Torrent", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="+")
    peer_id = models.BinaryField(max_length=20)
    ip = models.GenericIPAddressField()
    event = models.CharField(max_length=16, blank=True, default="")
    uploaded = models.BigIntegerField(help_text="The client's reported counter.")
    downloaded = models.BigIntegerField(help_text="The client's reported counter.")
    uploaded_credited = models.BigIntegerField(default=0)
    downloaded_credited = models.BigIntegerField(default=0)
    uploaded_refused = models.BigIntegerField(default=0)
    downloaded_refused = models.BigIntegerField(default=0)

    class Meta:
        db_table = "tracker_refused_claims"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="trk_refused_user_idx"),
            models.Index(fields=["-created_at"], name="trk_refused_created_idx"),
        ]
        constraints = non_negative("uploaded_refused", "downloaded_refused",
                                   prefix="tracker_refused_claims")

    def __str__(self) -> str:
        return f"refused claim of {self.user_id} on {self.torrent_id}"


class SetAsideEntry(models.Model):
    """A buffered announce the flush could not write (PostgreSQL refused it even alone, or
    it does not parse): kept here for staff, not credited, so the rest of the buffer drains.
    The id is the one-entry batch's (flush.py): a replayed flush sets nothing aside twice."""

    id = models.UUIDField(primary_key=True)
    created_at = models.DateTimeField(default=timezone.now)
    batch_id = models.UUIDField(null=True, blank=True)
    raw = models.TextField()
    error = models.TextField(blank=True, default="")

    class Meta:
        db_table = "tracker_set_aside_entries"
        ordering = ["-created_at"]
        verbose_name_plural = "set-aside entries"

    def __str__(self) -> str:
        return f"set-aside entry {self.id}"
