"""Collection pages: browse and search, create, a collection's page and its actions (add,
remove, reorder, subscribe, feature, delete, comment). Views parse, call one domain service
or selector (they authorize) and render; a refusal shows on the form it came from."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms as django_forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST, require_safe

from domain.accounts.models import User
from domain.accounts.permissions import Perm, require_perm
from domain.catalog import collection_selectors as selectors
from domain.catalog import collections as services
from domain.catalog.selectors import categories_tree
from domain.errors import DomainError, NotPermitted, ValidationFailed
from frontend.collections import forms
from frontend.formerrors import add_domain_error
from frontend.torrents.views import description_html


class AuthedRequest(HttpRequest):
    user: User


def _ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def _url(collection_id: Any) -> str:
    return reverse("collections:detail", args=[collection_id])



@login_required
@require_safe
def browse(request: AuthedRequest) -> HttpResponse:
    form = forms.CollectionBrowseForm(request.GET or None)
    valid = form.is_valid()
    filters = form.filters() if valid else selectors.CollectionFilters()
    page = selectors.collections_browse(user=request.user, filters=filters,
                                        page=(form.cleaned_data.get("page") if valid
                                              else None) or 1,
                                        count_cap=settings.BROWSE_COUNT_CAP or None)
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "collections/browse.html", {
        "form": form, "page": page, "filters": filters, "query": query.urlencode(),
        "categories": categories_tree(),
    }, status=400 if form.errors else 200)


@login_required
def create(request: AuthedRequest) -> HttpResponse:
    require_perm(request.user, Perm.COLLECTION_CREATE,
                 "Your class may not create collections yet.")
    form = forms.CollectionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            collection = services.collection_create(
                owner=request.user, name=d["name"], description=d["description"],
                collection_type=d["collection_type"],
                category_id=d["category"].pk if d["category"] else None,
                is_public=d["is_public"])
        except DomainError as exc:
            if exc.http_status != 400:
                raise
            add_domain_error(form, exc)
        else:
            return redirect(_url(collection.pk))
    return render(request, "collections/form.html", {"form": form, "editing": None},
                  status=400 if form.errors else 200)


@login_required
def edit(request: AuthedRequest, collection_id: uuid.UUID) -> HttpResponse:
    page = selectors.collection_page(user=request.user, collection_id=collection_id)
    c = page.collection
    if not page.can_manage:
        raise NotPermitted("Only the collection's owner or staff can edit it.")
    form = forms.CollectionForm(request.POST or None, initial={
        "name": c.name, "description": c.description, "collection_type": c.collection_type,
        "category": c.category_id, "is_public": c.is_public})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            services.collection_edit(
                actor=request.user, collection_id=c.pk, name=d["name"],
                description=d["description"], collection_type=d["collection_type"],
                category_id=d["category"].pk if d["category"] else None,
                is_public=d["is_public"], is_locked=request.POST.get("is_locked") == "on",
                ip_address=_ip(request))
        except DomainError as exc:
            if exc.http_status != 400:
                raise
            add_domain_error(form, exc)
        else:
            return redirect(_url(c.pk))
    return render(request, "collections/form.html", {"form": form, "editing": c},
                  status=400 if form.errors else 200)


def _detail(request: AuthedRequest, collection_id: uuid.UUID, *, status: int = 200,
            **bound: django_forms.Form) -> HttpResponse:
    page = selectors.collection_page(user=request.user, collection_id=collection_id)
    context: dict[str, Any] = {
        "p": page, "c": page.collection,
        "description": description_html(page.collection.description),
        "add_form": forms.AddTorrentForm(), "delete_form": forms.ReasonForm(),
        "comment_form": forms.CommentForm(),
        "reorder_form": forms.ReorderForm(initial={"order": "\n".join(
            str(line.item.torrent_id) for line in page.items)}),
    }
    context.update(bound)
    return render(request, "collections/detail.html", context, status=status)


@login_required
@require_safe
def detail(request: AuthedRequest, collection_id: uuid.UUID) -> HttpResponse:
    return _detail(request, collection_id)


@login_required
@require_POST
def add(request: AuthedRequest, collection_id: uuid.UUID) -> HttpResponse:
    form = forms.AddTorrentForm(request.POST)
    if form.is_valid():
        try:
            services.collection_torrent_add(actor=request.user, collection_id=collection_id,
                                            torrent=form.cleaned_data["torrent"],
                                            note=form.cleaned_data["note"])
        except DomainError as exc:
            if exc.http_status != 400:
                raise
            add_domain_error(form, exc)
        else:
            return redirect(_url(collection_id))
    return _detail(request, collection_id, status=400, add_form=form)


@login_required
@require_POST
def remove(request: AuthedRequest, collection_id: uuid.UUID,
           torrent_id: uuid.UUID) -> HttpResponse:
    services.collection_torrent_remove(actor=request.user, collection_id=collection_id,
                                       torrent_id=torrent_id)
    return redirect(_url(collection_id))


@login_required
@require_POST
def reorder(request: AuthedRequest, collection_id: uuid.UUID) -> HttpResponse:
    form = forms.ReorderForm(request.POST)
    if form.is_valid():
        try:
            ids = [uuid.UUID(line.strip()) for line in form.cleaned_data["order"].split()
                   if line.strip()]
        except ValueError:
            form.add_error("order", "Each line is one torrent id.")
        else:
            try:
                services.collection_reorder(actor=request.user, collection_id=collection_id,
                                            torrent_ids=ids)
            except ValidationFailed as exc:
                add_domain_error(form, exc)
            else:
                return redirect(_url(collection_id))
    return _detail(request, collection_id, status=400, reorder_form=form)


@login_required
@require_POST
def subscribe(request: AuthedRequest, collection_id: uuid.UUID) -> HttpResponse:
    following = services.collection_subscribe(
        user=request.user, collection_id=collection_id,
        subscribe=request.POST.get("subscribe") == "1")
    messages.success(request, "You follow this collection." if following
                     else "You no longer follow this collection.")
    return redirect(_url(collection_id))


@login_required
@require_POST
def feature(request: AuthedRequest, collection_id: uuid.UUID) -> HttpResponse:
    services.collection_feature(actor=request.user, collection_id=collection_id,
                                featured=request.POST.get("featured") == "1",
                                ip_address=_ip(request))
    return redirect(_url(collection_id))


@login_required
@require_POST
def delete(request: AuthedRequest, collection_id: uuid.UUID) -> HttpResponse:
    form = forms.ReasonForm(request.POST)
    if form.is_valid():
        try:
            services.collection_delete(actor=request.user, collection_id=collection_id,
                                       reason=form.cleaned_data["reason"],
                                       ip_address=_ip(request))
        except ValidationFailed as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, "Collection deleted.")
            return redirect("collections:browse")
    return _detail(request, collection_id, status=400, delete_form=form)


@login_required
@require_POST
def comment_post(request: AuthedRequest, collection_id: uuid.UUID) -> HttpResponse:
    form = forms.CommentForm(request.POST)
    if form.is_valid():
        try:
            comment = services.collection_comment_post(
                author=request.user, collection_id=collection_id,
                body=form.cleaned_data["body"], quoted_id=form.cleaned_data["quoted"])
        except DomainError as exc:
            if exc.http_status != 400:
                raise
            add_domain_error(form, exc)
        else:
            return redirect(f"{_url(collection_id)}#comment-{comment.pk}")
    return _detail(request, collection_id, status=400, comment_form=form)
