"""Member pages of moderation: report what you see, your reports and how they ended, your
warnings (acknowledge them), your appeals. The appeal page also opens from the signed link
the banned page gives, since a banned member cannot log in.

Each view parses, calls one domain function and renders; a DomainError naming a field lands
on that field, any other becomes the error page (frontend.middleware)."""

from __future__ import annotations

from typing import cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from domain.accounts.models import User
from domain.moderation import appeals, reports, targets, warnings
from frontend.accounts.middleware import client_ip
from frontend.formerrors import attempt
from frontend.moderation import forms


def _member(request: HttpRequest) -> User:
    return cast(User, request.user)


def _next(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                       require_https=request.is_secure()):
        return target
    return default


@login_required
@require_http_methods(["GET", "POST"])
def report_new(request: HttpRequest, target_type: str, target_id: str) -> HttpResponse:
    member = _member(request)
    # NotFound (a 404 page) for what the member may not see: the form cannot probe.
    target = targets.target_describe(target_type, target_id, viewer=member)
    form = forms.ReportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        filed = attempt(form, lambda: reports.report_file(
            reporter=member, target_type=target_type, target_id=target_id,
            reason=form.cleaned_data["reason"],
            description=form.cleaned_data["description"], ip_address=client_ip(request)))
        if filed is not None:
            messages.success(request, "Thank you: your report is with the staff.")
            return redirect(_next(request, "/reports/"))
    return render(request, "moderation/report_form.html",
                  {"form": form, "target": target, "next": _next(request, target.url)},
                  status=400 if form.errors else 200)


@login_required
def my_reports(request: HttpRequest) -> HttpResponse:
    return render(request, "moderation/my_reports.html",
                  {"reports": reports.reports_of(_member(request))[:200]})


@login_required
def my_warnings(request: HttpRequest) -> HttpResponse:
    member = _member(request)

    return render(request, "moderation/my_warnings.html",
                  {"warnings": warnings.warnings_visible(member, member)[:200],
                   "now": timezone.now()})


@login_required
@require_POST
def warning_acknowledge(request: HttpRequest, warning_id: str) -> HttpResponse:
    warnings.warning_acknowledge(member=_member(request), warning_id=warning_id)
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse({"ok": True})
    return redirect(_next(request, "/warnings/"))


def _appeals_page(request: HttpRequest, member: User, *, token: str = "") -> HttpResponse:
    form = forms.AppealForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        filed = attempt(form, lambda: appeals.appeal_file(
            appellant=member, target_type=form.cleaned_data["target_type"],
            target_id=form.cleaned_data["target_id"], text=form.cleaned_data["text"],
            ip_address=client_ip(request)))
        if filed is not None:
            messages.success(request, "Your appeal is with the staff; you will hear back.")
            return redirect(request.path)
    return render(request, "moderation/appeals.html", {
        "member": member, "actions": appeals.appealable_actions(member), "form": form,
        "token": token}, status=400 if form.errors else 200)


@login_required
@require_http_methods(["GET", "POST"])
def my_appeals(request: HttpRequest) -> HttpResponse:
    return _appeals_page(request, _member(request))


@require_http_methods(["GET", "POST"])
def appeal_by_link(request: HttpRequest, token: str) -> HttpResponse:
    """The banned page's link: no login (a banned member has none), the signed token
    names the member."""
    return _appeals_page(request, appeals.appeal_token_user(token), token=token)
