"""Request pages: browse, file a request, a request's page, and its actions (add bounty,
fill, unfill, delete, comment). Each view parses, calls one domain service or selector (they
authorize) and renders; a refused action shows its message on the form it came from."""

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
from domain.catalog import request_selectors as selectors
from domain.catalog import requests as services
from domain.catalog.selectors import categories_tree
from domain.errors import DomainError, NotPermitted
from frontend.formerrors import add_domain_error
from frontend.requests import forms
from frontend.torrents.views import description_html


class AuthedRequest(HttpRequest):
    user: User


def _ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def _url(request_id: Any) -> str:
    return reverse("requests:detail", args=[request_id])



@login_required
@require_safe
def browse(request: AuthedRequest) -> HttpResponse:
    form = forms.RequestBrowseForm(request.GET or None)
    valid = form.is_valid()
    filters = form.filters() if valid else selectors.RequestFilters()
    page_number = (form.cleaned_data.get("page") if valid else None) or 1
    page = selectors.requests_browse(user=request.user, filters=filters, page=page_number,
                                count_cap=settings.BROWSE_COUNT_CAP or None)
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "requests/browse.html", {
        "form": form, "page": page, "filters": filters, "query": query.urlencode(),
        "categories": categories_tree(),
    }, status=400 if form.errors else 200)


@login_required
def create(request: AuthedRequest) -> HttpResponse:
    require_perm(request.user, Perm.REQUEST_CREATE, "Your account may not create requests.")
    form = forms.RequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            created = services.request_create(
                requester=request.user, category_id=form.cleaned_data["category"].pk,
                title=form.cleaned_data["title"], bounty=form.cleaned_data["bounty"],
                description=form.cleaned_data["description"],
                requirements=form.requirements())
        except DomainError as exc:
            if exc.http_status != 400:
                raise
            add_domain_error(form, exc, renamed={"amount": "bounty"})
        else:
            messages.success(request, "Request filed; your bounty is on it.")
            return redirect(_url(created.pk))
    return render(request, "requests/form.html", {
        "form": form, "min_bounty": settings.REQUEST_MIN_BOUNTY,
    }, status=400 if form.errors else 200)


@login_required
def edit(request: AuthedRequest, request_id: uuid.UUID) -> HttpResponse:
    page = selectors.request_page(user=request.user, request_id=request_id)
    r = page.request
    if not page.can_edit:
        raise NotPermitted("Only the requester (while it is open) or staff can edit "
                           "this request.")
    form = forms.RequestEditForm(request.POST or None, category=r.category, initial={
        "title": r.title, "description": r.description, **r.requirements})
    if request.method == "POST" and form.is_valid():
        try:
            services.request_edit(actor=request.user, request_id=r.pk,
                                  title=form.cleaned_data["title"],
                                  description=form.cleaned_data["description"],
                                  requirements=form.requirements(), ip_address=_ip(request))
        except DomainError as exc:
            if exc.http_status != 400:
                raise
            add_domain_error(form, exc)
        else:
            messages.success(request, "Request updated.")
            return redirect(_url(r.pk))
    return render(request, "requests/form.html", {"form": form, "editing": r},
                  status=400 if form.errors else 200)


def _detail(request: AuthedRequest, request_id: uuid.UUID, *, status: int = 200,
            **bound: django_forms.Form) -> HttpResponse:
    page = selectors.request_page(user=request.user, request_id=request_id)
    context: dict[str, Any] = {
        "p": page, "r": page.request, "description": description_html(page.request.description),
        "bounty_form": forms.BountyForm(initial={"amount": page.min_bounty}),
        "fill_form": forms.FillForm(), "unfill_form": forms.ReasonForm(),
        "delete_form": forms.ReasonForm(), "comment_form": forms.CommentForm(),
    }
    context.update(bound)
    return render(request, "requests/detail.html", context, status=status)


@login_required
@require_safe
def detail(request: AuthedRequest, request_id: uuid.UUID) -> HttpResponse:
    return _detail(request, request_id)


@login_required
@require_POST
def vote(request: AuthedRequest, request_id: uuid.UUID) -> HttpResponse:
    form = forms.BountyForm(request.POST)
    if form.is_valid():
        try:
            services.request_vote(user=request.user, request_id=request_id,
                                  amount=form.cleaned_data["amount"])
        except DomainError as exc:
            if exc.http_status not in (400, 409):
                raise
            add_domain_error(form, exc)
        else:
            messages.success(request, f"You added {form.cleaned_data['amount']:,} points.")
            return redirect(_url(request_id))
    return _detail(request, request_id, status=400, bounty_form=form)


@login_required
@require_POST
def fill(request: AuthedRequest, request_id: uuid.UUID) -> HttpResponse:
    form = forms.FillForm(request.POST)
    if form.is_valid():
        try:
            services.request_fill(filler=request.user, request_id=request_id,
                                  torrent=form.cleaned_data["torrent"])
        except DomainError as exc:
            if exc.http_status == 404:
                raise
            add_domain_error(form, exc)
        else:
            messages.success(request, "Filled: the bounty is yours.")
            return redirect(_url(request_id))
    return _detail(request, request_id, status=400, fill_form=form)


@login_required
@require_POST
def unfill(request: AuthedRequest, request_id: uuid.UUID) -> HttpResponse:
    form = forms.ReasonForm(request.POST)
    if form.is_valid():
        try:
            services.request_unfill(actor=request.user, request_id=request_id,
                                    reason=form.cleaned_data["reason"], ip_address=_ip(request))
        except DomainError as exc:
            if exc.http_status not in (400, 409):
                raise
            add_domain_error(form, exc)
        else:
            messages.success(request, "Unfilled: the request is open again.")
            return redirect(_url(request_id))
    return _detail(request, request_id, status=400, unfill_form=form)


@login_required
@require_POST
def delete(request: AuthedRequest, request_id: uuid.UUID) -> HttpResponse:
    form = forms.ReasonForm(request.POST)
    if form.is_valid():
        try:
            services.request_delete(actor=request.user, request_id=request_id,
                                    reason=form.cleaned_data["reason"], ip_address=_ip(request))
        except DomainError as exc:
            if exc.http_status != 400:
                raise
            add_domain_error(form, exc)
        else:
            messages.success(request, "Request deleted; its bounties went back to the voters.")
            return redirect("requests:browse")
    return _detail(request, request_id, status=400, delete_form=form)


@login_required
@require_POST
def comment_post(request: AuthedRequest, request_id: uuid.UUID) -> HttpResponse:
    form = forms.CommentForm(request.POST)
    if form.is_valid():
        try:
            comment = services.request_comment_post(
                author=request.user, request_id=request_id, body=form.cleaned_data["body"],
                quoted_id=form.cleaned_data["quoted"])
        except DomainError as exc:
            if exc.http_status != 400:
                raise
            add_domain_error(form, exc)
        else:
            return redirect(f"{_url(request_id)}#comment-{comment.pk}")
    return _detail(request, request_id, status=400, comment_form=form)
