from __future__ import annotations

from django.urls import URLPattern, URLResolver, path, re_path

from frontend.community import views

app_name = "community"

urlpatterns: list[URLPattern | URLResolver] = [
    path("chat/", views.chat_index, name="chat"),
    path("chat/<slug:room>/", views.chat_room, name="chat_room"),
    path("chat/<slug:room>/<uuid:message_id>/delete/", views.chat_message_delete,
         name="chat_message_delete"),
    path("messages/", views.inbox, name="inbox"),
    path("messages/new/", views.message_new, name="message_new"),
    path("messages/staff/", views.ticket_new, name="ticket_new"),
    path("messages/blocked/", views.blocks, name="blocks"),
    path("messages/blocked/<uuid:user_id>/unblock/", views.unblock, name="unblock"),
    path("messages/<uuid:conversation_id>/", views.conversation, name="conversation"),
    path("messages/<uuid:conversation_id>/delete/", views.conversation_delete,
         name="conversation_delete"),
    path("forums/", views.forum_index, name="forums"),
    path("forums/<uuid:forum_id>/", views.forum_view, name="forum"),
    path("forums/<uuid:forum_id>/subscribe/", views.forum_subscribe, name="forum_subscribe"),
    path("forums/<uuid:forum_id>/new/", views.topic_new, name="topic_new"),
    path("forums/topic/<uuid:topic_id>/", views.topic_view, name="topic"),
    path("forums/topic/<uuid:topic_id>/subscribe/", views.topic_subscribe,
         name="topic_subscribe"),
    path("forums/topic/<uuid:topic_id>/moderate/", views.topic_moderate,
         name="topic_moderate"),
    path("forums/post/<uuid:post_id>/edit/", views.post_edit, name="post_edit"),
    path("forums/post/<uuid:post_id>/delete/", views.post_delete, name="post_delete"),
    path("notifications/", views.notifications, name="notifications"),
    path("notifications/read/", views.notifications_read, name="notifications_read_all"),
    path("notifications/<uuid:notification_id>/read/", views.notifications_read,
         name="notification_read"),
    path("moderation/feed/", views.moderation, name="moderation"),
    re_path(r"^moderation/feed/(?P<kind>queue|report)/(?P<item_id>[0-9a-f-]{36})/claim/$",
            views.moderation_claim, name="moderation_claim"),
    path("moderation/feed/report/<uuid:report_id>/resolve/", views.report_resolve,
         name="report_resolve"),
]
