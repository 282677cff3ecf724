"""Community pages: chat rooms, private messages, forums, notifications and the staff
moderation feed. Every page reads and posts without JavaScript (plain forms, redirect after
post); static/js modules make the same pages live over the tab's socket.

Each view parses, authorizes (selectors and services check access), calls one domain
function and renders. A DomainError that names a field becomes that field's error."""

from __future__ import annotations

import uuid
from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from domain.accounts.models import User
from domain.community import access, selectors, services
from domain.community.events import event_id
from domain.errors import NotFound
from domain.moderation import feed as moderation_feed
from frontend.community import forms
from frontend.formerrors import attempt


def _member(request: HttpRequest) -> User:
    # Every view here is login_required, so the user is a member, never AnonymousUser.
    return cast(User, request.user)


# -- chat ------------------------------------------------------------------------------


@login_required
def chat_index(request: HttpRequest) -> HttpResponse:
    return render(request, "community/chat_index.html",
                  {"rooms": selectors.chat_rooms_for(_member(request))})


@login_required
@require_http_methods(["GET", "POST"])
def chat_room(request: HttpRequest, room: str) -> HttpResponse:
    chat = selectors.chat_room_get(_member(request), room)
    form = forms.ChatPostForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        posted = attempt(form, lambda: services.chat_message_post(
            user=_member(request), room_name=chat.name, body=form.cleaned_data["body"]))
        if posted is not None:
            return redirect("community:chat_room", room=chat.name)
    # ?before=<message id>: the page of older messages, the no-JS way back in history.
    before = request.GET.get("before") or None
    history = selectors.chat_history(_member(request), chat, before_id=before)
    return render(request, "community/chat_room.html", {
        "room": chat, "history": history, "form": form, "older_page": before is not None,
        "older_cursor": history[0]["id"] if len(history) >= selectors.CHAT_HISTORY_SIZE
        else "",
        "last_event_id": history[-1]["event_id"] if history else "",
        "can_post": access.chat_room_can_post(_member(request), chat),
        "can_moderate": access.chat_room_can_moderate(_member(request), chat),
    }, status=400 if form.errors else 200)


@login_required
@require_POST
def chat_message_delete(request: HttpRequest, room: str, message_id: str) -> HttpResponse:
    services.chat_message_delete(user=_member(request), message_id=message_id)
    return redirect("community:chat_room", room=room)


# -- private messages ------------------------------------------------------------------


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    return render(request, "community/inbox.html", {
        "conversations": selectors.pm_conversations(_member(request)),
        "tickets": selectors.pm_tickets(_member(request)),
    })


@login_required
@require_http_methods(["GET", "POST"])
def message_new(request: HttpRequest) -> HttpResponse:
    form = forms.MessageForm(request.POST or None,
                             initial={"recipient": request.GET.get("to", "")[:32]})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        sent = attempt(form, lambda: services.pm_send(
            sender=_member(request), recipient_username=data["recipient"],
            subject=data["subject"], body=data["body"]))
        if sent is not None:
            messages.success(request, "Message sent.")
            return redirect("community:conversation", conversation_id=sent.conversation_id)
    return render(request, "community/message_form.html",
                  {"form": form, "title": "New message"},
                  status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def ticket_new(request: HttpRequest) -> HttpResponse:
    form = forms.TicketForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        sent = attempt(form, lambda: services.pm_ticket_open(
            sender=_member(request), subject=data["subject"], body=data["body"]))
        if sent is not None:
            messages.success(request, "Your message is with the staff.")
            return redirect("community:conversation", conversation_id=sent.conversation_id)
    return render(request, "community/message_form.html",
                  {"form": form, "title": "Write to the staff"},
                  status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def conversation(request: HttpRequest, conversation_id: str) -> HttpResponse:
    thread = selectors.pm_conversation(_member(request), conversation_id)
    form = forms.ReplyForm(request.POST or None, initial={"parent": thread[-1].id})
    if request.method == "POST" and form.is_valid():
        sent = attempt(form, lambda: services.pm_reply(
            sender=_member(request), parent_id=form.cleaned_data["parent"],
            body=form.cleaned_data["body"]))
        if sent is not None:
            return redirect("community:conversation", conversation_id=sent.conversation_id)
    elif request.method == "GET":
        services.pm_conversation_mark_read(user=_member(request),
                                           conversation_id=thread[0].conversation_id)
    return render(request, "community/conversation.html",
                  {"thread": thread, "form": form, "subject": thread[0].subject},
                  status=400 if form.errors else 200)


@login_required
@require_POST
def conversation_delete(request: HttpRequest, conversation_id: str) -> HttpResponse:
    thread = selectors.pm_conversation(_member(request), conversation_id)
    services.pm_conversation_delete(user=_member(request),
                                    conversation_id=thread[0].conversation_id)
    messages.success(request, "Conversation deleted from your messages.")
    return redirect("community:inbox")


@login_required
@require_http_methods(["GET", "POST"])
def blocks(request: HttpRequest) -> HttpResponse:
    form = forms.BlockForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        block = attempt(form, lambda: services.member_block(
            user=_member(request), username=form.cleaned_data["username"]))
        if block is not None:
            messages.success(request, f"{block.blocked.username} can no longer write to you.")
            return redirect("community:blocks")
    return render(request, "community/blocks.html",
                  {"form": form, "blocks": selectors.member_blocks(_member(request))},
                  status=400 if form.errors else 200)


@login_required
@require_POST
def unblock(request: HttpRequest, user_id: uuid.UUID) -> HttpResponse:
    services.member_unblock(user=_member(request), blocked_id=user_id)
    return redirect("community:blocks")


# -- forums ----------------------------------------------------------------------------


@login_required
def forum_index(request: HttpRequest) -> HttpResponse:
    tree = selectors.forum_tree(_member(request))
    # A root forum with forums under it is a category: a heading over its own table.
    return render(request, "community/forum_index.html", {
        "plain": [n for n in tree if not n.children],
        "categories": [n for n in tree if n.children],
        "subscribed_forums": selectors.forum_subscribed_ids(_member(request)),
    })


@login_required
def forum_view(request: HttpRequest, forum_id: str) -> HttpResponse:
    forum = selectors.forum_get(_member(request), forum_id)
    return render(request, "community/forum.html", {
        "forum": forum, "ancestors": selectors.forum_ancestors(forum),
        "tree": selectors.forum_tree(_member(request), under=forum),
        "subscribed": forum.id in selectors.forum_subscribed_ids(_member(request)),
        "page": selectors.forum_topics_page(_member(request), forum, request.GET.get("page")),
        "can_create": access.forum_can_create_topic(_member(request), forum),
    })


@login_required
@require_http_methods(["GET", "POST"])
def topic_new(request: HttpRequest, forum_id: str) -> HttpResponse:
    forum = selectors.forum_get(_member(request), forum_id)
    form = forms.TopicForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        topic = attempt(form, lambda: services.forum_topic_create(
            user=_member(request), forum_id=forum.id, title=form.cleaned_data["title"],
            body=form.cleaned_data["body"]))
        if topic is not None:
            return redirect("community:topic", topic_id=topic.id)
    return render(request, "community/topic_form.html", {"form": form, "forum": forum},
                  status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def topic_view(request: HttpRequest, topic_id: str) -> HttpResponse:
    topic = selectors.forum_topic_get(_member(request), topic_id)
    form = forms.PostForm(request.POST or None,
                          initial={"quoted": request.GET.get("quote") or None})
    if request.method == "POST" and form.is_valid():
        post = attempt(form, lambda: services.forum_post_create(
            user=_member(request), topic_id=topic.id, body=form.cleaned_data["body"],
            quoted_id=form.cleaned_data["quoted"]))
        if post is not None:
            last = selectors.forum_posts_page(_member(request), topic, "last").number
            return redirect(reverse("community:topic", args=[topic.id])
                            + f"?page={last}#post-{post.id}")
    elif request.method == "GET":
        services.forum_topic_viewed(topic_id=topic.id)
    page = selectors.forum_posts_page(_member(request), topic, request.GET.get("page"))
    posts = list(page.object_list)
    return render(request, "community/topic.html", {
        "topic": topic, "page": page, "posts": posts, "form": form,
        "last_event_id": max((event_id(max(filter(None, (p.created_at, p.edited_at,
                                                         p.deleted_at)))) for p in posts),
                             default=""),
        "can_post": access.forum_can_post(_member(request), topic.forum)
        and (not topic.is_locked or access.forum_can_moderate(_member(request), topic.forum)),
        "can_moderate": access.forum_can_moderate(_member(request), topic.forum),
        "subscribed": selectors.forum_is_subscribed(_member(request), topic),
        "ancestors": selectors.forum_ancestors(topic.forum),
        "forums": selectors.forums_for(_member(request)),
        "is_last_page": page.number == page.paginator.num_pages,
    }, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def post_edit(request: HttpRequest, post_id: str) -> HttpResponse:
    post = selectors.forum_post_get(_member(request), post_id)
    form = forms.PostEditForm(request.POST or None, initial={"body": post.body})
    if request.method == "POST" and form.is_valid():
        edited = attempt(form, lambda: services.forum_post_edit(
            user=_member(request), post_id=post.id, body=form.cleaned_data["body"]))
        if edited is not None:
            return redirect(reverse("community:topic", args=[post.topic_id])
                            + f"#post-{post.id}")
    return render(request, "community/post_edit.html", {"form": form, "post": post},
                  status=400 if form.errors else 200)


@login_required
@require_POST
def post_delete(request: HttpRequest, post_id: str) -> HttpResponse:
    post = services.forum_post_delete(actor=_member(request), post_id=post_id)
    return redirect("community:topic", topic_id=post.topic_id)


@login_required
@require_POST
def topic_subscribe(request: HttpRequest, topic_id: str) -> HttpResponse:
    services.forum_topic_subscribe(user=_member(request), topic_id=topic_id,
                                   subscribe=request.POST.get("subscribe") == "1")
    return redirect("community:topic", topic_id=topic_id)


@login_required
@require_POST
def forum_subscribe(request: HttpRequest, forum_id: str) -> HttpResponse:
    services.forum_subscribe(user=_member(request), forum_id=forum_id,
                             subscribe=request.POST.get("subscribe") == "1")
    return redirect("community:forum", forum_id=forum_id)


@login_required
@require_POST
def topic_moderate(request: HttpRequest, topic_id: str) -> HttpResponse:
    form = forms.TopicModerationForm(request.POST)
    if not form.is_valid():
        raise NotFound("Unknown topic action.")
    topic = services.forum_topic_moderate(
        actor=_member(request), topic_id=topic_id, action=form.cleaned_data["action"],
        to_forum_id=form.cleaned_data["forum"])
    if topic.deleted_at is not None:
        return redirect("community:forum", forum_id=topic.forum_id)
    return redirect("community:topic", topic_id=topic.id)


# -- notifications ---------------------------------------------------------------------


@login_required
def notifications(request: HttpRequest) -> HttpResponse:
    return render(request, "community/notifications.html", {
        "page": selectors.notifications_page(_member(request), request.GET.get("page")),
        "unread": services.notifications_unread_count(user_id=_member(request).id),
    })


@login_required
@require_POST
def notifications_read(request: HttpRequest, notification_id: str | None = None
                       ) -> HttpResponse:
    services.notifications_mark_read(user=_member(request), notification_id=notification_id)
    return redirect("community:notifications")


# -- staff moderation feed -------------------------------------------------------------


@login_required
def moderation(request: HttpRequest) -> HttpResponse:
    feed = moderation_feed.moderation_feed_open(_member(request))
    return render(request, "community/moderation.html",
                  # One form per open report: no ids, which would repeat (the note has its
                  # aria-label, the checkbox its wrapping label).
                  {"feed": feed, "resolve_form": forms.ReportResolveForm(auto_id=False)})


@login_required
@require_POST
def moderation_claim(request: HttpRequest, kind: str, item_id: str) -> HttpResponse:
    if kind == "queue":
        moderation_feed.moderation_item_claim(actor=_member(request), item_id=item_id)
    else:
        moderation_feed.report_claim(actor=_member(request), report_id=item_id)
    return redirect("community:moderation")


@login_required
@require_POST
def report_resolve(request: HttpRequest, report_id: str) -> HttpResponse:
    form = forms.ReportResolveForm(request.POST)
    if form.is_valid():
        moderation_feed.report_resolve(actor=_member(request), report_id=report_id,
                                       dismiss=form.cleaned_data["dismiss"],
                                       note=form.cleaned_data["note"])
    else:
        messages.error(request, "Say what was done; the note is kept with the report.")
    return redirect("community:moderation")

