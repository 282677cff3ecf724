"""Torrent pages: browse/search, upload, detail, download, edit, delete, moderation, tags,
comments and the member's RSS feed. Each view parses, lets a domain service or selector
authorize and do the work, and renders."""

from __future__ import annotations

import uuid
from typing import Any

import nh3
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_POST, require_safe

from domain.accounts.models import User
from domain.accounts.permissions import Perm, user_has_perm
from domain.catalog import selectors, services
from domain.catalog.collection_selectors import torrent_collections
from domain.catalog.request_selectors import torrent_requests_filled
from domain.catalog.tracker_selectors import (
    active_token_torrents,
    torrent_peers,
    torrent_snatches,
)
from domain.errors import DomainError, NotPermitted, ValidationFailed
from frontend.accounts.middleware import client_ip
from frontend.formerrors import add_domain_error
from frontend.torrents import forms
from frontend.torrents.filetree import file_tree


class AuthedRequest(HttpRequest):
    """What login_required guarantees: request.user is a member (for the type checker)."""

    user: User


ALLOWED_TAGS = {"b", "strong", "i", "em", "u", "s", "p", "br", "ul", "ol", "li", "blockquote",
                "code", "pre", "h3", "h4", "a", "hr"}


def description_html(text: str) -> SafeString:
    """Member-written description as safe HTML: nh3 (ammonia) keeps a small whitelist of
    tags, drops scripts, event handlers and javascript: URLs; plain text keeps its line
    breaks."""
    if "<" not in text:
        text = text.replace("\n", "<br>")
    cleaned = nh3.clean(text, tags=ALLOWED_TAGS, attributes={"a": {"href", "title"}},
                        url_schemes={"http", "https"}, link_rel="noopener noreferrer nofollow")
    return mark_safe(cleaned)  # noqa: S308 - sanitized by nh3 above


def _ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def _torrent_url(torrent_id: Any) -> str:
    return reverse("torrents:detail", args=[torrent_id])


@login_required
@require_safe
def browse(request: AuthedRequest) -> HttpResponse:
    form = forms.BrowseForm(request.GET or None)
    filters = form.filters() if form.is_valid() else selectors.BrowseFilters()
    page_number = (form.cleaned_data.get("page") if form.is_valid() else None) or 1
    page = selectors.torrents_browse(user=request.user, filters=filters, page=page_number,
                                count_cap=settings.BROWSE_COUNT_CAP or None)
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "torrents/browse.html", {
        "form": form, "page": page, "filters": filters, "query": query.urlencode(),
        "categories": selectors.categories_tree(),
        "active_tokens": active_token_torrents(user=request.user),
    })


@login_required
def upload(request: AuthedRequest) -> HttpResponse:
    # Refuse oversize bodies before Django spools them to disk; the form's own check
    # covers requests that lie about their length. 64 KiB leaves room for the form fields.
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if (request.method == "POST" and declared.isdigit()
            and int(declared) > settings.TORRENT_UPLOAD_MAX_BYTES + 65536):
        raise ValidationFailed(
            f"The upload is too large: .torrent files are limited to "
            f"{settings.TORRENT_UPLOAD_MAX_BYTES} bytes.", field="torrent_file")
    form = forms.UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            torrent = services.torrent_upload(
                uploader=request.user, data=form.cleaned_data["torrent_file"],
                category_id=form.cleaned_data["category"].pk,
                title=form.cleaned_data["title"], description=form.cleaned_data["description"],
                is_anonymous=form.cleaned_data["is_anonymous"], metadata=form.metadata(),
                tags=form.tag_list())
        except DomainError as exc:
            if exc.http_status != 400:
                raise
            add_domain_error(form, exc)
        else:
            if torrent.status == "approved":
                messages.success(request, "Uploaded. Download your copy and start seeding.")
            else:
                messages.info(request, "Uploaded. Staff will review it before others see it.")
            return redirect(_torrent_url(torrent.pk))
    return render(request, "torrents/upload.html", {"form": form},
                  status=400 if form.errors else 200)


@login_required
@require_safe
def detail(request: AuthedRequest, torrent_id: uuid.UUID) -> HttpResponse:
    page = selectors.torrent_page(user=request.user, torrent_id=torrent_id)
    tab = request.GET.get("tab", "")
    if tab not in DETAIL_TABS:
        tab = DETAIL_TABS[0]
    context: dict[str, Any] = {
        "p": page, "t": page.torrent, "description": description_html(page.torrent.description),
        "collections": torrent_collections(user=request.user, torrent_id=page.torrent.pk),
        "requests_filled": torrent_requests_filled(torrent_id=page.torrent.pk),
        "comment_form": forms.CommentForm(), "tag_form": forms.TagForm(),
        "moderate_form": forms.ModerateForm(), "delete_form": forms.ReasonForm(),
        "active_tokens": active_token_torrents(user=request.user),
        "tab": tab, "tabs": DETAIL_TABS, "poster": _poster(page.torrent),
    }
    # Only the open tab's rows are read (no JS: each tab is a link the server renders).
    if tab == "files":
        context["tree"] = file_tree(page.files)
    elif tab == "peers":
        context["peers"] = torrent_peers(viewer=request.user, torrent_id=torrent_id)[1]
    elif tab == "snatches":
        context["snatches"] = torrent_snatches(viewer=request.user, torrent_id=torrent_id)[1]
    return render(request, "torrents/detail.html", context)


DETAIL_TABS = ("description", "files", "peers", "snatches")
POSTER_KEYS = ("poster", "poster_url", "cover", "cover_url", "image")


def _poster(torrent: Any) -> str:
    """The poster the release metadata names (its `extra`), an https or site URL only."""
    metadata = getattr(torrent, "metadata", None)
    extra = getattr(metadata, "extra", None) if metadata is not None else None
    if not isinstance(extra, dict):
        return ""
    for key in POSTER_KEYS:
        url = extra.get(key)
        if isinstance(url, str) and (url.startswith("https://") or
                                     (url.startswith("/") and not url.startswith("//"))):
            return url[:1000]
    return ""


def _torrent_response(download: services.TorrentDownload) -> HttpResponse:
    response = HttpResponse(download.content, content_type="application/x-bittorrent")
    response["Content-Disposition"] = f'attachment; filename="{download.filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_safe
def download(request: AuthedRequest, torrent_id: uuid.UUID) -> HttpResponse:
    return _torrent_response(services.torrent_download(user=request.user,
                                                       torrent_id=torrent_id))


@require_safe
def feed_download(request: HttpRequest, token: str, torrent_id: uuid.UUID) -> HttpResponse:
    """For a client's RSS reader: no session, the feed token in the path."""
    return _torrent_response(services.torrent_download_by_feed_token(
        token=token, torrent_id=torrent_id, ip=client_ip(request)))


@login_required
def edit(request: AuthedRequest, torrent_id: uuid.UUID) -> HttpResponse:
    page = selectors.torrent_page(user=request.user, torrent_id=torrent_id)
    t = page.torrent
    if not page.can_edit:
        raise NotPermitted("You may not edit this torrent.")
    meta = getattr(t, "metadata", None)
    initial: dict[str, Any] = {"title": t.name, "category": t.category_id,
                               "description": t.description, "is_anonymous": t.is_anonymous,
                               "is_freeleech": t.is_freeleech}
    if meta is not None:
        initial.update({name: getattr(meta, name) for name in forms.MetadataFields.base_fields})
    form = forms.EditForm(request.POST or None, initial=initial)
    staff = user_has_perm(request.user, Perm.TORRENTS_EDIT_ANY)
    if not staff:
        del form.fields["is_freeleech"]
    if request.method == "POST" and form.is_valid():
        try:
            services.torrent_edit(
                actor=request.user, torrent_id=t.pk, title=form.cleaned_data["title"],
                description=form.cleaned_data["description"],
                category_id=form.cleaned_data["category"].pk,
                is_anonymous=form.cleaned_data["is_anonymous"], metadata=form.metadata(),
                is_freeleech=form.cleaned_data["is_freeleech"] if staff else None,
                ip_address=_ip(request))
        except DomainError as exc:
            if exc.http_status != 400:
                raise
            add_domain_error(form, exc)
        else:
            messages.success(request, "Saved.")
            return redirect(_torrent_url(t.pk))
    return render(request, "torrents/edit.html", {"form": form, "t": t},
                  status=400 if form.errors else 200)


@login_required
@require_POST
def delete(request: AuthedRequest, torrent_id: uuid.UUID) -> HttpResponse:
    form = forms.ReasonForm(request.POST)
    if not form.is_valid():
        raise ValidationFailed("Give a reason for deleting the torrent.",
                                        field="reason")
    services.torrent_delete(actor=request.user, torrent_id=torrent_id,
                            reason=form.cleaned_data["reason"], ip_address=_ip(request))
    messages.success(request, "Torrent deleted.")
    return redirect("torrents:browse")


@login_required
@require_POST
def moderate(request: AuthedRequest, torrent_id: uuid.UUID) -> HttpResponse:
    form = forms.ModerateForm(request.POST)
    if not form.is_valid():
        raise ValidationFailed("Choose approve or reject.", field="decision")
    services.torrent_moderate(actor=request.user, torrent_id=torrent_id,
                              approve=form.cleaned_data["decision"] == "approve",
                              reason=form.cleaned_data["reason"], ip_address=_ip(request))
    messages.success(request, "Decision recorded; the uploader was told.")
    return redirect(_torrent_url(torrent_id))


@login_required
@require_POST
def tag_add(request: AuthedRequest, torrent_id: uuid.UUID) -> HttpResponse:
    form = forms.TagForm(request.POST)
    if not form.is_valid():
        raise ValidationFailed("Type a tag.", field="tag")
    services.torrent_tag_add(user=request.user, torrent_id=torrent_id,
                             name=form.cleaned_data["tag"])
    return redirect(_torrent_url(torrent_id) + "#tags")


@login_required
@require_POST
def tag_vote(request: AuthedRequest, torrent_id: uuid.UUID,
             assignment_id: uuid.UUID) -> HttpResponse:
    form = forms.TagVoteForm(request.POST)
    if not form.is_valid():
        raise ValidationFailed("A tag vote is up or down.", field="vote")
    services.torrent_tag_vote(user=request.user, assignment_id=assignment_id,
                              vote=form.cleaned_data["vote"])
    return redirect(_torrent_url(torrent_id) + "#tags")


@login_required
@require_POST
def comment_post(request: AuthedRequest, torrent_id: uuid.UUID) -> HttpResponse:
    form = forms.CommentForm(request.POST)
    if not form.is_valid():
        raise ValidationFailed("Write something first (at most 65536 characters).",
                                        field="body")
    comment = services.comment_post(author=request.user, torrent_id=torrent_id,
                                    body=form.cleaned_data["body"],
                                    quoted_id=form.cleaned_data["quoted"])
    return redirect(f"{_torrent_url(torrent_id)}#comment-{comment.pk}")


@login_required
def comment_edit(request: AuthedRequest, comment_id: uuid.UUID) -> HttpResponse:
    comment = selectors.comment_for_edit(user=request.user, comment_id=comment_id)
    form = forms.CommentForm(request.POST or None, initial={"body": comment.body})
    if request.method == "POST" and form.is_valid():
        services.comment_edit(actor=request.user, comment_id=comment_id,
                              body=form.cleaned_data["body"])
        page = selectors.comment_page_url(target_type=comment.target_type,
                                          target_id=comment.target_id)
        return redirect(f"{page}#comment-{comment.pk}")
    return render(request, "torrents/comment_edit.html", {"form": form, "comment": comment},
                  status=400 if form.errors else 200)


@login_required
@require_POST
def comment_delete(request: AuthedRequest, comment_id: uuid.UUID) -> HttpResponse:
    page = selectors.comment_target_url(comment_id=comment_id)
    services.comment_delete(actor=request.user, comment_id=comment_id, ip_address=_ip(request))
    return redirect(page + "#comments")


@login_required
def feed_settings(request: AuthedRequest) -> HttpResponse:
    if request.method == "POST":
        services.feed_token_reset(user=request.user)
        messages.success(request, "New feed link made; the old one no longer works.")
        return redirect("torrents:feed_settings")
    token = services.feed_token_get(user=request.user)
    return render(request, "torrents/feed_settings.html", {
        "feed_url": request.build_absolute_uri(reverse("torrents:feed", args=[token])),
        "categories": selectors.categories_tree(),
    })


@require_safe
def feed(request: HttpRequest, token: str) -> HttpResponse:
    user = services.feed_token_user(token=token, ip=client_ip(request))
    form = forms.BrowseForm(request.GET or None)
    filters = form.filters() if form.is_valid() else selectors.BrowseFilters()
    torrents = selectors.torrents_feed(user=user, category=filters.category,
                                       tags=filters.tags)
    items = [{
        "t": t,
        "link": request.build_absolute_uri(_torrent_url(t.pk)),
        "download": request.build_absolute_uri(
            reverse("torrents:feed_download", args=[token, t.pk])),
    } for t in torrents]
    return render(request, "torrents/feed.xml", {
        "items": items, "self_url": request.build_absolute_uri(),
        "site_url": request.build_absolute_uri("/"),
    }, content_type="application/rss+xml; charset=utf-8")

