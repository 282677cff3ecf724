"""Admin for forums, private messages and chat. Counters and "last post" pointers are
kept by the posting services, so they are read-only here."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.template.defaultfilters import truncatechars

from domain.accounts.admin import DomainAdmin
from domain.accounts.permissions import Perm
from domain.community.models import (
    ChatMessage,
    ChatMute,
    ChatRoom,
    Forum,
    ForumPost,
    ForumSubscription,
    ForumTopic,
    MemberBlock,
    Notification,
    PrivateMessage,
)
from domain.events import (
    StreamAccessChanged,
    chat_room_group,
    forum_topic_group,
    publish,
    publish_many,
)

PERMISSION_CHOICES = [("", "None (rank only)"), *Perm.choices]


class _RequiredPermissionForm(forms.ModelForm):
    """required_permission holds a Perm code: a typo would lock everyone out silently."""

    required_permission = forms.ChoiceField(choices=PERMISSION_CHOICES, required=False)


class ForumForm(_RequiredPermissionForm):
    class Meta:
        model = Forum
        fields = ("parent", "name", "slug", "description", "sort_order", "min_rank_read",
                  "min_rank_write", "min_rank_create_topic", "required_permission",
                  "is_active")


class ChatRoomForm(_RequiredPermissionForm):
    class Meta:
        model = ChatRoom
        fields = ("name", "display_name", "description", "min_rank", "required_permission",
                  "max_message_length", "slow_mode_seconds", "sort_order", "is_active")


@admin.register(Forum)
class ForumAdmin(DomainAdmin):
    form = ForumForm
    list_display = ("name", "parent", "slug", "sort_order", "min_rank_read", "min_rank_write",
                    "min_rank_create_topic", "required_permission", "is_active",
                    "topic_count", "post_count", "last_post_at")
    list_filter = ("is_active", "required_permission")
    search_fields = ("name", "slug")
    list_select_related = ("parent",)
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("topic_count", "post_count", "last_post_at", "last_topic",
                       "created_at", "updated_at")

    def invalidate(self, forum: Forum) -> None:
        # Its gate (ranks, permission, active) may have changed: every open socket on one
        # of its topics asks again (consumers.live, "Losing access").
        topics = forum.topics.filter(deleted_at__isnull=True).values_list("id", flat=True)
        publish_many(StreamAccessChanged(stream_group=forum_topic_group(topic_id),
                                         payload={"reason": "settings"})
                     for topic_id in topics.iterator())


@admin.register(ForumTopic)
class ForumTopicAdmin(DomainAdmin):
    list_display = ("title", "forum", "author", "is_sticky", "is_locked", "post_count",
                    "view_count", "last_post_at", "created_at", "deleted_at")
    list_filter = ("forum", "is_sticky", "is_locked", ("deleted_at", admin.EmptyFieldListFilter),
                   "created_at")
    search_fields = ("title", "author__username")
    uuid_search_fields = ("id",)
    date_hierarchy = "created_at"
    list_select_related = ("forum", "author")
    raw_id_fields = ("author",)
    readonly_fields = ("post_count", "view_count", "last_post_at", "last_poster",
                       "created_at", "updated_at")
    ordering = ("-created_at",)

    def invalidate(self, topic: ForumTopic) -> None:
        # Moved to another forum or deleted here: open sockets on it ask again.
        publish(StreamAccessChanged(stream_group=forum_topic_group(topic.id),
                                    payload={"reason": "settings"}))


@admin.register(ForumPost)
class ForumPostAdmin(DomainAdmin):
    list_display = ("excerpt", "topic", "author", "created_at", "edited_at", "deleted_at")
    list_filter = ("topic__forum", ("deleted_at", admin.EmptyFieldListFilter), "created_at")
    search_fields = ("body", "author__username", "topic__title")
    uuid_search_fields = ("id", "topic_id")
    date_hierarchy = "created_at"
    list_select_related = ("topic", "author")
    raw_id_fields = ("topic", "author", "quoted", "edited_by", "deleted_by")
    readonly_fields = ("edit_history", "edited_at", "edited_by", "created_at", "updated_at")
    ordering = ("-created_at",)

    @admin.display(description="post")
    def excerpt(self, post: ForumPost) -> str:
        return truncatechars(post.body, 80)


@admin.register(ForumSubscription)
class ForumSubscriptionAdmin(DomainAdmin):
    list_display = ("user", "topic", "forum", "last_read_at", "created_at")
    list_filter = ("forum",)
    search_fields = ("user__username", "topic__title")
    list_select_related = ("user", "topic", "forum")
    raw_id_fields = ("user", "topic")
    ordering = ("-created_at",)


@admin.register(PrivateMessage)
class PrivateMessageAdmin(DomainAdmin):
    list_display = ("subject", "sender", "recipient", "recipient_group", "is_read",
                    "created_at")
    list_filter = ("is_read", "recipient_group", "created_at")
    search_fields = ("subject", "sender__username", "recipient__username")
    uuid_search_fields = ("id", "conversation_id")
    search_help_text = "Subject, sender, recipient, or a message's or conversation's id."
    date_hierarchy = "created_at"
    list_select_related = ("sender", "recipient", "recipient_group")
    raw_id_fields = ("parent", "sender", "recipient")
    ordering = ("-created_at",)


@admin.register(ChatRoom)
class ChatRoomAdmin(DomainAdmin):
    form = ChatRoomForm
    list_display = ("display_name", "name", "min_rank", "required_permission",
                    "max_message_length", "slow_mode_seconds", "sort_order", "is_active")
    list_filter = ("is_active", "required_permission")
    search_fields = ("name", "display_name")
    prepopulated_fields = {"name": ("display_name",)}
    readonly_fields = ("created_at", "updated_at")

    def invalidate(self, room: ChatRoom) -> None:
        # Its gate may have changed: every open socket in the room asks again.
        publish(StreamAccessChanged(stream_group=chat_room_group(room.name),
                                    payload={"reason": "settings"}))


@admin.register(ChatMessage)
class ChatMessageAdmin(DomainAdmin):
    list_display = ("excerpt", "room", "user", "created_at", "edited_at", "deleted_at")
    list_filter = ("room", ("deleted_at", admin.EmptyFieldListFilter), "created_at")
    search_fields = ("body", "user__username")
    uuid_search_fields = ("id",)
    date_hierarchy = "created_at"
    list_select_related = ("room", "user")
    raw_id_fields = ("user", "deleted_by")
    # Parsed from the body when it is posted.
    readonly_fields = ("mentions", "edited_at")
    ordering = ("-created_at",)

    @admin.display(description="message")
    def excerpt(self, message: ChatMessage) -> str:
        return truncatechars(message.body, 80)


@admin.register(Notification)
class NotificationAdmin(DomainAdmin):
    """Notifications are sent by the areas they concern (notification_send pushes them
    live), so the admin lists, corrects and deletes them but does not make them."""

    list_display = ("title", "user", "kind", "actor", "read_at", "created_at")
    list_filter = ("kind", ("read_at", admin.EmptyFieldListFilter), "created_at")
    search_fields = ("title", "user__username")
    uuid_search_fields = ("id", "target_id")
    date_hierarchy = "created_at"
    list_select_related = ("user", "actor")
    raw_id_fields = ("user", "actor")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(MemberBlock)
class MemberBlockAdmin(DomainAdmin):
    """A member's own choice: staff may look and remove, not block on their behalf."""

    list_display = ("user", "blocked", "created_at")
    search_fields = ("user__username", "blocked__username")
    list_select_related = ("user", "blocked")
    fields = ("user", "blocked", "created_at")
    readonly_fields = fields
    ordering = ("-created_at",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ChatMute)
class ChatMuteAdmin(DomainAdmin):
    edit_permission = Perm.CHAT_MODERATE
    list_display = ("user", "room", "muted_by", "reason", "expires_at", "created_at")
    list_filter = ("room", "expires_at")
    search_fields = ("user__username", "reason")
    date_hierarchy = "created_at"
    list_select_related = ("user", "room", "muted_by")
    raw_id_fields = ("user", "muted_by")
    ordering = ("-created_at",)

    def save_model(self, request: HttpRequest, obj: ChatMute, form: Any, change: bool) -> None:
        if not change and obj.muted_by_id is None:
            obj.muted_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)
