"""Members: user_groups, users, user_sessions, user_privacy, user_statistics,
user_achievements, user_2fa."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from domain.accounts.permissions import Perm
from domain.base import TimestampedModel, UUIDModel, choices_check, non_negative


def new_passkey() -> str:
    return secrets.token_hex(16)


class UserGroup(TimestampedModel):
    """A member class (Gazelle's "class"): rank orders them, permissions is what they grant."""

    name = models.SlugField(max_length=50, unique=True)
    display_name = models.CharField(max_length=100)
    description = models.TextField(blank=True, default="")
    rank = models.PositiveIntegerField(unique=True)
    color = models.CharField(max_length=7, default="#888888")
    permissions = ArrayField(models.CharField(max_length=50), default=list, blank=True)
    is_staff = models.BooleanField(default=False)
    requires_2fa = models.BooleanField(default=False)
    invite_allowance = models.PositiveIntegerField(default=0)
    max_peers_per_torrent = models.PositiveSmallIntegerField(default=3)
    # Automatic promotion into this group (NULL: only staff put members here).
    auto_promote = models.BooleanField(default=False)
    min_uploaded = models.BigIntegerField(null=True, blank=True)
    min_ratio = models.DecimalField(max_digits=6, decimal_places=2, null=True, blank=True)
    min_account_age_days = models.PositiveIntegerField(null=True, blank=True)
    min_uploads = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        db_table = "user_groups"
        ordering = ["rank"]
        indexes = [GinIndex(fields=["permissions"], name="user_groups_permissions_gin")]
        constraints = [
            models.CheckConstraint(condition=Q(color__regex=r"^#[0-9A-Fa-f]{6}$"),
                                   name="user_groups_color_hex"),
            models.CheckConstraint(condition=Q(min_ratio__isnull=True) | Q(min_ratio__gte=0),
                                   name="user_groups_min_ratio_gte_0"),
        ]

    def __str__(self) -> str:
        return self.display_name

    def grants(self, perm: str) -> bool:
        return perm in self.permissions


class UserStatus(models.TextChoices):
    VALIDATING = "validating", "Awaiting email confirmation"
    ACTIVE = "active", "Active"
    DISABLED = "disabled", "Disabled"
    BANNED = "banned", "Banned"


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _group(self, name: str) -> UserGroup:
        return UserGroup.objects.get(name=name)

    def create_user(self, username: str, email: str, password: str | None = None,
                    **extra: Any) -> User:
        if not username:
            raise ValueError("A username is required")
        if not email:
            raise ValueError("An email address is required")
        extra.setdefault("group", self._group("member"))
        user = self.model(username=username, email=self.normalize_email(email), **extra)
        user.set_password(password)
        # Every member has exactly one privacy row and one statistics row.
        with transaction.atomic(using=self._db):
            user.save(using=self._db)
            UserPrivacy.objects.using(self._db).create(user=user)
            UserStatistics.objects.using(self._db).create(user=user)
        return user

    def create_superuser(self, username: str, email: str, password: str | None = None,
                         **extra: Any) -> User:
        extra.setdefault("group", self._group("sysop"))
        extra.setdefault("status", UserStatus.ACTIVE)
        return self.create_user(username, email, password, **extra)

    def get_by_natural_key(self, username: str | None) -> User:
        return self.get(username__iexact=username)


class User(AbstractBaseUser, TimestampedModel):
    """A member. Authorization comes from the group's permission codes, not Django's
    auth_permission tables: one source of truth for views, consumers, tasks and admin."""

    username = models.CharField(max_length=32)
    email = models.EmailField(max_length=254)
    group = models.ForeignKey(UserGroup, on_delete=models.PROTECT, related_name="members")
    status = models.CharField(max_length=16, choices=UserStatus.choices,
                              default=UserStatus.VALIDATING)
    passkey = models.CharField(max_length=32, unique=True, default=new_passkey)
    invited_by = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="invitees")
    title = models.CharField(max_length=64, blank=True, default="")
    avatar_url = models.URLField(max_length=500, blank=True, default="")
    # An uploaded avatar under MEDIA_ROOT (domain/accounts/avatars.py checks it); shown
    # before avatar_url.
    avatar = models.FileField(upload_to="avatars/", max_length=200, blank=True, default="")
    profile_text = models.TextField(blank=True, default="")
    bonus_points = models.DecimalField(max_digits=20, decimal_places=2, default=0)
    warning_points = models.PositiveIntegerField(default=0)
    registration_ip = models.GenericIPAddressField(null=True, blank=True)
    last_ip = models.GenericIPAddressField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    objects = UserManager()

    USERNAME_FIELD = "username"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["email"]

    class Meta:
        db_table = "users"
        ordering = ["username"]
        indexes = [
            models.Index(fields=["group", "status"], name="users_group_status_idx"),
            models.Index(fields=["-last_seen_at"], name="users_last_seen_idx",
                         condition=Q(deleted_at__isnull=True)),
            models.Index(fields=["invited_by"], name="users_invited_by_idx"),
            models.Index(fields=["created_at"], name="users_created_at_idx"),
        ]
        constraints = [
            models.UniqueConstraint(Lower("username"), name="users_username_ci_uniq"),
            models.UniqueConstraint(Lower("email"), name="users_email_ci_uniq"),
            models.CheckConstraint(condition=Q(username__regex=r"^[A-Za-z0-9_.-]{2,32}$"),
                                   name="users_username_format"),
            models.CheckConstraint(condition=Q(passkey__regex=r"^[0-9a-f]{32}$"),
                                   name="users_passkey_format"),
            models.CheckConstraint(condition=Q(bonus_points__gte=0),
                                   name="users_bonus_points_gte_0"),
            choices_check("status", UserStatus, "users_status_valid"),
        ]

    def __str__(self) -> str:
        return self.username

    # Django's auth machinery asks these; the answers come from the group.
    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return self.deleted_at is None and self.status == UserStatus.ACTIVE

    @property
    def is_staff(self) -> bool:
        return self.is_active and self.group.is_staff and self.group.grants(Perm.ADMIN_ACCESS)

    @property
    def is_superuser(self) -> bool:
        return self.is_active and self.group.grants(Perm.GROUPS_EDIT)

    def has_perm(self, perm: str, obj: object = None) -> bool:
        """Django admin permission (`app.view_model`): granted by ADMIN_ACCESS."""
        return self.is_staff

    def has_perms(self, perms: Any, obj: object = None) -> bool:
        return all(self.has_perm(p, obj) for p in perms)

    def has_module_perms(self, app_label: str) -> bool:
        return self.is_staff

    def reset_passkey(self) -> str:
        self.passkey = new_passkey()
        return self.passkey


class UserSession(UUIDModel):
    """A login session; only the SHA-256 of its token is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="sessions")
    token_hash = models.CharField(max_length=64, unique=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "user_sessions"
        indexes = [
            models.Index(fields=["user", "-last_seen_at"], name="user_sessions_active_idx",
                         condition=Q(revoked_at__isnull=True)),
            models.Index(fields=["expires_at"], name="user_sessions_expires_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(token_hash__regex=r"^[0-9a-f]{64}$"),  # noqa: S106
                                   name="user_sessions_token_hash_sha256"),
            models.CheckConstraint(condition=Q(expires_at__gt=models.F("created_at")),
                                   name="user_sessions_expires_after_created"),
        ]


class UserPrivacy(UUIDModel):
    """Gazelle's paranoia: 17 things a member may hide from other members (not from staff
    holding USERS_VIEW_PRIVATE). True means visible."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="privacy")
    show_uploaded = models.BooleanField(default=True)
    show_downloaded = models.BooleanField(default=True)
    show_ratio = models.BooleanField(default=True)
    show_required_ratio = models.BooleanField(default=True)
    show_bonus_points = models.BooleanField(default=True)
    show_seeding = models.BooleanField(default=True)
    show_leeching = models.BooleanField(default=True)
    show_snatched = models.BooleanField(default=True)
    show_uploads = models.BooleanField(default=True)
    show_requests_filled = models.BooleanField(default=True)
    show_requests_voted = models.BooleanField(default=True)
    show_collections = models.BooleanField(default=True)
    show_collections_contributed = models.BooleanField(default=True)
    show_last_seen = models.BooleanField(default=True)
    show_invited = models.BooleanField(default=True)
    show_comments = models.BooleanField(default=True)
    show_achievements = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    SETTINGS: tuple[str, ...] = (
        "show_uploaded", "show_downloaded", "show_ratio", "show_required_ratio",
        "show_bonus_points", "show_seeding", "show_leeching", "show_snatched",
        "show_uploads", "show_requests_filled", "show_requests_voted", "show_collections",
        "show_collections_contributed", "show_last_seen", "show_invited", "show_comments",
        "show_achievements",
    )

    class Meta:
        db_table = "user_privacy"
        verbose_name_plural = "user privacy"


STATISTICS_COUNTERS: tuple[str, ...] = (
    "uploaded", "downloaded", "uploaded_raw", "downloaded_raw", "seeding_count",
    "leeching_count", "seeding_size", "snatched_count", "uploads_count",
    "seedtime_seconds", "requests_filled_count", "requests_voted_count",
    "forum_posts_count", "comments_count", "invites_sent_count",
)


class UserStatistics(UUIDModel):
    """Denormalized counters, written by the tracker flush and recomputed nightly.
    Credited figures (after freeleech etc.) and raw reported ones are both kept."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="statistics")
    uploaded = models.BigIntegerField(default=0)
    downloaded = models.BigIntegerField(default=0)
    uploaded_raw = models.BigIntegerField(default=0)
    downloaded_raw = models.BigIntegerField(default=0)
    seeding_count = models.IntegerField(default=0)
    leeching_count = models.IntegerField(default=0)
    seeding_size = models.BigIntegerField(default=0)
    snatched_count = models.IntegerField(default=0)
    uploads_count = models.IntegerField(default=0)
    seedtime_seconds = models.BigIntegerField(default=0)
    requests_filled_count = models.IntegerField(default=0)
    requests_voted_count = models.IntegerField(default=0)
    forum_posts_count = models.IntegerField(default=0)
    comments_count = models.IntegerField(default=0)
    invites_sent_count = models.IntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    COUNTERS = STATISTICS_COUNTERS

    class Meta:
        db_table = "user_statistics"
        verbose_name_plural = "user statistics"
        indexes = [
            models.Index(fields=["-uploaded"], name="user_statistics_uploaded_idx"),
            models.Index(fields=["-seedtime_seconds"], name="user_statistics_seedtime_idx"),
        ]
        constraints = non_negative(*STATISTICS_COUNTERS, prefix="user_statistics")

    @property
    def ratio(self) -> float | None:
        return None if self.downloaded == 0 else self.uploaded / self.downloaded


class UserAchievement(UUIDModel):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="achievements")
    achievement = models.SlugField(max_length=64)
    title = models.CharField(max_length=100)
    description = models.CharField(max_length=255, blank=True, default="")
    icon = models.CharField(max_length=64, blank=True, default="")
    tier = models.PositiveSmallIntegerField(default=1)
    metadata = models.JSONField(default=dict, blank=True)
    earned_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "user_achievements"
        ordering = ["-earned_at"]
        indexes = [
            models.Index(fields=["user", "-earned_at"], name="user_achievements_user_idx"),
            models.Index(fields=["achievement"], name="user_achievements_key_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["user", "achievement", "tier"],
                                    name="user_achievements_once"),
        ]


class UserTwoFactor(TimestampedModel):
    """TOTP enrolment. backup_codes holds hashes only; last_used_step refuses replays."""

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="two_factor")
    secret = models.CharField(max_length=64)
    is_enabled = models.BooleanField(default=False)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    backup_codes = ArrayField(models.CharField(max_length=128), default=list, blank=True)
    last_used_step = models.BigIntegerField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "user_2fa"
        verbose_name = "two-factor enrolment"
        constraints = [
            models.CheckConstraint(
                condition=Q(is_enabled=False) | Q(confirmed_at__isnull=False),
                name="user_2fa_enabled_needs_confirmation",
            ),
        ]


def new_invite_code() -> str:
    return secrets.token_urlsafe(24)


class Invite(TimestampedModel):
    """An invitation to join (the seed has none of its own): who sent it, to which email,
    until when, and who used it. The invite tree is users.invited_by, set on registration."""

    code = models.CharField(max_length=64, unique=True, default=new_invite_code)
    inviter = models.ForeignKey(User, on_delete=models.CASCADE, related_name="invites_sent")
    email = models.EmailField(max_length=254)
    expires_at = models.DateTimeField()
    used_by = models.OneToOneField(User, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="invite_used")
    used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "invites"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["inviter", "-created_at"], name="invites_inviter_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(expires_at__gt=models.F("created_at")),
                                   name="invites_expires_after_created"),
            models.CheckConstraint(condition=Q(used_by__isnull=True) | Q(used_at__isnull=False),
                                   name="invites_used_has_time"),
        ]

    def __str__(self) -> str:
        return f"invite to {self.email}"


ACCOUNT_AGE_DAYS = "account_age_days"
ACHIEVEMENT_COUNTERS: tuple[str, ...] = (*STATISTICS_COUNTERS, ACCOUNT_AGE_DAYS)


class AchievementRule(TimestampedModel):
    """What earns an achievement: a counter of user_statistics (or the account's age in
    days) reaching a threshold. Rules are data so staff add tiers without a deploy."""

    achievement = models.SlugField(max_length=64)
    tier = models.PositiveSmallIntegerField(default=1)
    title = models.CharField(max_length=100)
    description = models.CharField(max_length=255, blank=True, default="")
    icon = models.CharField(max_length=64, blank=True, default="")
    counter = models.CharField(max_length=32, choices=[(c, c) for c in ACHIEVEMENT_COUNTERS])
    threshold = models.BigIntegerField()
    is_active = models.BooleanField(default=True)

    class Meta:
        db_table = "achievement_rules"
        ordering = ["achievement", "tier"]
        constraints = [
            models.UniqueConstraint(fields=["achievement", "tier"],
                                    name="achievement_rules_once"),
            models.CheckConstraint(condition=Q(threshold__gt=0),
                                   name="achievement_rules_threshold_gt_0"),
            choices_check("counter", ACHIEVEMENT_COUNTERS, "achievement_rules_counter_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.title} (tier {self.tier})"


class ApiKeyScope(models.TextChoices):
    """What an API key may do: a leaked search-only key cannot take a member's ratio."""

    SEARCH = "search", "Search and read torrents"
    DOWNLOAD = "download", "Download .torrent files"
    UPLOAD = "upload", "Upload torrents"
    ACCOUNT = "account", "Read the account, spend bonus points, requests"


class ApiKey(UUIDModel):
    """A member's key for the JSON API and Torznab. Only the SHA-256 of the token is kept
    (the token is 160 random bits, so a plain hash is enough: nothing to brute-force);
    `prefix` is its first characters, shown so the member can tell keys apart."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=64)
    prefix = models.CharField(max_length=12)
    key_hash = models.CharField(max_length=64, unique=True)
    scopes = ArrayField(models.CharField(max_length=16, choices=ApiKeyScope.choices),
                        default=list)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "api_keys"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="api_keys_user_idx",
                         condition=Q(revoked_at__isnull=True)),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(key_hash__regex=r"^[0-9a-f]{64}$"),
                                   name="api_keys_key_hash_sha256"),
            models.CheckConstraint(
                condition=Q(scopes__contained_by=ApiKeyScope.values) & ~Q(scopes=[]),
                name="api_keys_scopes_valid"),
            models.CheckConstraint(condition=~Q(name=""), name="api_keys_name_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
