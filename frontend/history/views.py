"""Torrent history pages: a member's seeding, leeching, snatched and uploaded lists (with
per-torrent figures and hit-and-run states for the member and staff), a torrent's peers
and snatches. Each view parses, calls one selector (which authorizes) and renders."""

from __future__ import annotations

import uuid

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_safe

from domain.catalog import tracker_selectors as selectors


class ListForm(forms.Form):
    sort = forms.ChoiceField(required=False, choices=[
        (k, k) for k in [*selectors.HISTORY_SORTS, "time"]])
    order = forms.ChoiceField(required=False, choices=[("desc", "desc"), ("asc", "asc")])
    page = forms.IntegerField(required=False, min_value=1, max_value=1_000_000)


def _page(request: HttpRequest) -> int:
    form = ListForm(request.GET)
    return (form.cleaned_data.get("page") if form.is_valid() else None) or 1


@login_required
@require_safe
def mine(request: HttpRequest) -> HttpResponse:
    return redirect("history:list", username=request.user.get_username(), kind="snatched")


@login_required
@require_safe
def member_list(request: HttpRequest, username: str, kind: str) -> HttpResponse:
    form = ListForm(request.GET)
    data = form.cleaned_data if form.is_valid() else {}
    view = selectors.member_history(
        viewer=request.user, username=username, kind=kind, sort=data.get("sort") or "",
        order=data.get("order") or "desc", page=data.get("page") or 1)
    return render(request, "history/list.html", {
        "h": view, "member": view.member, "label": selectors.HISTORY_KINDS[kind][1],
        "sorts": [*selectors.HISTORY_SORTS] if kind != "uploaded" else ["name", "size",
                                                                          "time"]})


@login_required
@require_safe
def peers(request: HttpRequest, torrent_id: uuid.UUID) -> HttpResponse:
    torrent, page = selectors.torrent_peers(viewer=request.user, torrent_id=torrent_id,
                                            page=_page(request))
    return render(request, "history/peers.html", {"t": torrent, "page": page})


@login_required
@require_safe
def snatches(request: HttpRequest, torrent_id: uuid.UUID) -> HttpResponse:
    torrent, page = selectors.torrent_snatches(viewer=request.user, torrent_id=torrent_id,
                                               page=_page(request))
    return render(request, "history/snatches.html", {"t": torrent, "page": page})
