"""Where members talk: forums, forum_topics, forum_posts, forum_subscriptions,
private_messages, chat_rooms, chat_messages."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Length
from django.db.models.lookups import GreaterThan, LessThanOrEqual
from django.utils import timezone

from domain.base import TimestampedModel, UUIDModel

USER = settings.AUTH_USER_MODEL


def _body_length(prefix: str, limit: int) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=Q(GreaterThan(Length("body"), 0)) & Q(LessThanOrEqual(Length("body"), limit)),
        name=f"{prefix}_body_length")


class Forum(TimestampedModel):
    """A forum. Access is by group rank: members below min_rank_read do not see it."""

    parent = models.ForeignKey("self", on_delete=models.PROTECT, null=True, blank=True,
                               related_name="children")
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=64, unique=True)
    description = models.TextField(blank=True, default="")
    sort_order = models.PositiveSmallIntegerField(default=0)
    min_rank_read = models.PositiveIntegerField(default=0)
    min_rank_write = models.PositiveIntegerField(default=0)
    min_rank_create_topic = models.PositiveIntegerField(default=0)
    # A permission code (domain.accounts.permissions.Perm) needed on top of the rank.
    required_permission = models.CharField(max_length=50, blank=True, default="")
    is_active = models.BooleanField(default=True)
    topic_count = models.PositiveIntegerField(default=0)
    post_count = models.PositiveIntegerField(default=0)
    last_post_at = models.DateTimeField(null=True, blank=True)
    last_topic = models.ForeignKey("ForumTopic", on_delete=models.SET_NULL, null=True,
                                   blank=True, related_name="+")

    class Meta:
        db_table = "forums"
        ordering = ["sort_order", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(min_rank_write__gte=F("min_rank_read")),
                                   name="forums_write_rank_gte_read"),
            models.CheckConstraint(condition=Q(min_rank_create_topic__gte=F("min_rank_write")),
                                   name="forums_topic_rank_gte_write"),
        ]

    def __str__(self) -> str:
        return self.name


class ForumTopic(TimestampedModel):
    forum = models.ForeignKey(Forum, on_delete=models.PROTECT, related_name="topics")
    author = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True,
                               related_name="forum_topics")
    title = models.CharField(max_length=200)
    is_sticky = models.BooleanField(default=False)
    is_locked = models.BooleanField(default=False)
    view_count = models.PositiveIntegerField(default=0)
    post_count = models.PositiveIntegerField(default=0)
    last_post_at = models.DateTimeField(null=True, blank=True)
    last_poster = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+")
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "forum_topics"
        ordering = ["-is_sticky", "-last_post_at"]
        indexes = [
            models.Index(F("forum"), F("is_sticky").desc(), F("last_post_at").desc(nulls_last=True),
                         name="forum_topics_listing_idx", condition=Q(deleted_at__isnull=True)),
            models.Index(fields=["author", "-created_at"], name="forum_topics_author_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(title=""), name="forum_topics_title_not_empty"),
        ]

    def __str__(self) -> str:
        return self.title


class ForumPost(TimestampedModel):
    """A post. edit_history keeps every earlier body: [{"body", "edited_at", "edited_by"}]."""

    topic = models.ForeignKey(ForumTopic, on_delete=models.CASCADE, related_name="posts")
    author = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True,
                               related_name="forum_posts")
    body = models.TextField()
    quoted = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True,
                               related_name="quoted_by")
    edit_history = models.JSONField(default=list, blank=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    edited_by = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True,
                                  related_name="+")
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")

    class Meta:
        db_table = "forum_posts"
        ordering = ["created_at"]
        indexes = [
            models.Index(fields=["topic", "created_at"], name="forum_posts_topic_idx"),
            models.Index(fields=["author", "-created_at"], name="forum_posts_author_idx"),
        ]
        constraints = [_body_length("forum_posts", 65536)]


class ForumSubscription(UUIDModel):
    """A member follows one topic or one whole forum (exactly one of the two)."""

    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="forum_subscriptions")
    topic = models.ForeignKey(ForumTopic, on_delete=models.CASCADE, null=True, blank=True,
                              related_name="subscriptions")
    forum = models.ForeignKey(Forum, on_delete=models.CASCADE, null=True, blank=True,
                              related_name="subscriptions")
    last_read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "forum_subscriptions"
        indexes = [
            models.Index(fields=["topic"], name="forum_subs_topic_idx"),
            models.Index(fields=["forum"], name="forum_subs_forum_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(Q(topic__isnull=False, forum__isnull=True)
                           | Q(topic__isnull=True, forum__isnull=False)),
                name="forum_subs_topic_xor_forum"),
            models.UniqueConstraint(fields=["user", "topic"], name="forum_subs_topic_once",
                                    condition=Q(topic__isnull=False)),
            models.UniqueConstraint(fields=["user", "forum"], name="forum_subs_forum_once",
                                    condition=Q(forum__isnull=False)),
        ]


class PrivateMessage(UUIDModel):
    """A message in a conversation (conversation_id is the first message's id; parent is
    the message replied to). To a member, or a staff ticket to a group. Each side deletes
    for itself; the row goes when both have."""

    conversation_id = models.UUIDField()
    parent = models.ForeignKey("self", on_delete=models.SET_NULL, null=True, blank=True,
                               related_name="replies")
    sender = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True,
                               related_name="sent_messages")
    recipient = models.ForeignKey(USER, on_delete=models.CASCADE, null=True, blank=True,
                                  related_name="received_messages")
    recipient_group = models.ForeignKey("accounts.UserGroup", on_delete=models.PROTECT,
                                        null=True, blank=True, related_name="tickets")
    subject = models.CharField(max_length=200)
    body = models.TextField()
    is_read = models.BooleanField(default=False)
    read_at = models.DateTimeField(null=True, blank=True)
    sender_deleted_at = models.DateTimeField(null=True, blank=True)
    recipient_deleted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "private_messages"
        ordering = ["created_at"]
        indexes = [
            models.Index(fields=["recipient", "-created_at"], name="pm_inbox_idx",
                         condition=Q(recipient_deleted_at__isnull=True)),
            models.Index(fields=["recipient"], name="pm_unread_idx",
                         condition=Q(is_read=False, recipient_deleted_at__isnull=True)),
            models.Index(fields=["sender", "-created_at"], name="pm_outbox_idx",
                         condition=Q(sender_deleted_at__isnull=True)),
            models.Index(fields=["conversation_id", "created_at"], name="pm_conversation_idx"),
            models.Index(fields=["recipient_group", "-created_at"], name="pm_tickets_idx",
                         condition=Q(recipient_group__isnull=False)),
        ]
        constraints = [
            models.CheckConstraint(
                condition=(Q(recipient__isnull=False, recipient_group__isnull=True)
                           | Q(recipient__isnull=True, recipient_group__isnull=False)),
                name="pm_one_recipient"),
            models.CheckConstraint(condition=Q(is_read=False) | Q(read_at__isnull=False),
                                   name="pm_read_has_time"),
            _body_length("pm", 65536),
        ]


class ChatRoom(TimestampedModel):
    name = models.SlugField(max_length=64, unique=True)
    display_name = models.CharField(max_length=100)
    description = models.CharField(max_length=255, blank=True, default="")
    min_rank = models.PositiveIntegerField(default=0)
    required_permission = models.CharField(max_length=50, blank=True, default="")
    max_message_length = models.PositiveIntegerField(default=1000)
    slow_mode_seconds = models.PositiveIntegerField(default=0)
    sort_order = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        db_table = "chat_rooms"
        ordering = ["sort_order", "name"]
        constraints = [
            models.CheckConstraint(condition=Q(max_message_length__gte=1)
                                   & Q(max_message_length__lte=10000),
                                   name="chat_rooms_max_length_range"),
        ]

    def __str__(self) -> str:
        return self.display_name


class ChatMessage(UUIDModel):
    room = models.ForeignKey(ChatRoom, on_delete=models.CASCADE, related_name="messages")
    user = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True,
                             related_name="chat_messages")
    body = models.TextField()
    mentions = ArrayField(models.UUIDField(), default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    deleted_by = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")

    class Meta:
        db_table = "chat_messages"
        ordering = ["created_at"]
        indexes = [
            models.Index(fields=["room", "-created_at"], name="chat_messages_room_idx"),
            models.Index(fields=["user", "-created_at"], name="chat_messages_user_idx"),
            models.Index(fields=["created_at"], name="chat_messages_created_idx"),
            GinIndex(fields=["mentions"], name="chat_messages_mentions_gin"),
        ]
        constraints = [_body_length("chat_messages", 10000)]



class NotificationKind(models.TextChoices):
    FORUM_REPLY = "forum_reply", "New post in a subscribed topic"
    FORUM_TOPIC = "forum_topic", "New topic in a subscribed forum"
    QUOTE = "quote", "Quoted"
    MENTION = "mention", "Mentioned"
    TORRENT_COMMENT = "torrent_comment", "Comment on your torrent"
    REQUEST_COMMENT = "request_comment", "Comment on your request"
    COLLECTION_COMMENT = "collection_comment", "Comment on your collection"
    COLLECTION_TORRENT = "collection_torrent", "New torrent in a followed collection"
    REQUEST_FILLED = "request_filled", "Request filled"
    REQUEST_UNFILLED = "request_unfilled", "Request unfilled"
    REQUEST_DELETED = "request_deleted", "Request deleted, bounty refunded"
    BOUNTY_REFUNDED = "bounty_refunded", "Bounty refunded"
    ACHIEVEMENT = "achievement", "Achievement earned"
    MODERATION_DECISION = "moderation_decision", "Decision on your upload"
    PRIVATE_MESSAGE = "private_message", "Private message"
    GROUP_CHANGE = "group_change", "Class change"
    WARNING = "warning", "Warning received"
    WARNING_LIFTED = "warning_lifted", "Warning lifted"
    REPORT_OUTCOME = "report_outcome", "Outcome of your report"
    BONUS_GIFT = "bonus_gift", "Bonus points gift"
    SYSTEM = "system", "Site notice"


class Notification(UUIDModel):
    """Something a member should know about: stored, listed, marked read, pushed live."""

    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=32, choices=NotificationKind.choices)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True, default="")
    url = models.CharField(max_length=500, blank=True, default="")
    actor = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True,
                              related_name="+")
    target_type = models.CharField(max_length=32, blank=True, default="")
    target_id = models.UUIDField(null=True, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "notifications"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="notifications_user_idx"),
            models.Index(fields=["user"], name="notifications_unread_idx",
                         condition=Q(read_at__isnull=True)),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=NotificationKind.values),
                                   name="notifications_kind_valid"),
        ]


class MemberBlock(UUIDModel):
    """A member refuses private messages from another member (staff tickets still pass)."""

    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="blocks")
    blocked = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="blocked_by")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "member_blocks"
        constraints = [
            models.UniqueConstraint(fields=["user", "blocked"], name="member_blocks_once"),
            models.CheckConstraint(condition=~Q(user=F("blocked")),
                                   name="member_blocks_not_self"),
        ]


class ChatMute(UUIDModel):
    """Staff silenced a member in chat until `expires_at` (room NULL: every room)."""

    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="chat_mutes")
    room = models.ForeignKey(ChatRoom, on_delete=models.CASCADE, null=True, blank=True,
                             related_name="mutes")
    muted_by = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="+")
    reason = models.CharField(max_length=255, blank=True, default="")
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "chat_mutes"
        indexes = [models.Index(fields=["user", "-expires_at"], name="chat_mutes_user_idx")]
