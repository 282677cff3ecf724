"""Staff pages: member lookup, a member's page (addresses, shared accounts, warnings, bans,
notes, audit trail; warn, ban, unban, note), warning from a report or a post, report and
appeal pages, the audit log.

Every view is behind a permission: the selectors and services ask it themselves, so a
refused page is the 403 error page (frontend.middleware), never a 500. Anonymous visitors
are sent to the login page."""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from domain.accounts.models import User
from domain.accounts.permissions import Perm, require_perm, user_has_perm
from domain.base import TargetType
from domain.errors import DomainError, NotFound, NotPermitted
from domain.moderation import appeals, reports, selectors, services, targets, warnings
from domain.moderation.models import Appeal, Ban
from domain.tracker import addresses
from frontend.accounts.middleware import client_ip
from frontend.community.forms import ReportResolveForm
from frontend.formerrors import attempt
from frontend.moderation import forms


def _staff(request: HttpRequest) -> User:
    user = cast(User, request.user)
    require_perm(user, Perm.STAFF_ACCESS, "These pages are for staff.")
    return user


def _member_or_404(member_id: uuid.UUID) -> User:
    member = User.objects.select_related("group").filter(pk=member_id).first()
    if member is None:
        raise NotFound("There is no such member.")
    return member


def _expiry(days: int | None) -> datetime | None:
    return timezone.now() + timedelta(days=days) if days else None


@login_required
def index(request: HttpRequest) -> HttpResponse:
    staff = _staff(request)
    return render(request, "staff/index.html", {
        "can": {p: user_has_perm(staff, p) for p in (
            Perm.USERS_VIEW_PRIVATE, Perm.AUDIT_VIEW, Perm.REPORTS_HANDLE,
            Perm.MODERATION_QUEUE, Perm.USERS_WARN, Perm.USERS_BAN)},
        "appeals": appeals.appeals_pending() if any(
            user_has_perm(staff, p) for p in appeals.DECIDE_PERM.values()) else []})


@login_required
def member_lookup(request: HttpRequest) -> HttpResponse:
    staff = _staff(request)
    query = str(request.GET.get("q", ""))[:254]
    found = addresses.member_lookup(staff, query)
    if len(found) == 1 and query:
        return redirect("staff:member", found[0].pk)
    return render(request, "staff/lookup.html", {"q": query, "found": found})


@login_required
def member_page(request: HttpRequest, member_id: uuid.UUID) -> HttpResponse:
    staff = _staff(request)
    member = _member_or_404(member_id)
    history = addresses.member_ip_history(staff, member)  # asks USERS_VIEW_PRIVATE
    context: dict[str, Any] = {
        "member": member, "history": history,
        "shared": addresses.members_sharing_ips(staff, member),
        "bans": selectors.member_bans(staff, member), "now": timezone.now(),
        "warn_form": forms.WarnForm(), "ban_form": forms.BanForm(),
        "note_form": forms.NoteForm(),
        "can_warn": user_has_perm(staff, Perm.USERS_WARN),
        "can_ban": user_has_perm(staff, Perm.USERS_BAN),
        "can_audit": user_has_perm(staff, Perm.AUDIT_VIEW),
    }
    if context["can_warn"]:
        context["warnings"] = warnings.warnings_visible(staff, member)[:100]
        context["notes"] = selectors.staff_notes_of(staff, member)[:100]
    if context["can_audit"]:
        context["audit"] = selectors.audit_log_search(staff, member_id=member.pk, limit=100)
    return render(request, "staff/member.html", context)


@login_required
@require_POST
def member_ban(request: HttpRequest, member_id: uuid.UUID) -> HttpResponse:
    staff = _staff(request)
    member = _member_or_404(member_id)
    form = forms.BanForm(request.POST)
    if form.is_valid():
        done = attempt(form, lambda: services.ban_issue(
            actor=staff, ban_type=form.cleaned_data["ban_type"], user=member,
            reason=form.cleaned_data["reason"],
            expires_at=_expiry(form.cleaned_data["expires_in_days"]),
            ip_address=client_ip(request)))
        if done is not None:
            messages.success(request, f"{member.username} is banned ({done.ban_type}).")
            return redirect("staff:member", member.pk)
    require_perm(staff, Perm.USERS_BAN)
    for errors in form.errors.values():
        messages.error(request, " ".join(str(e) for e in errors))
    return redirect("staff:member", member.pk)


@login_required
@require_POST
def ban_revoke(request: HttpRequest, ban_id: uuid.UUID) -> HttpResponse:
    staff = _staff(request)
    require_perm(staff, Perm.USERS_BAN)
    ban = Ban.objects.filter(pk=ban_id).first()
    if ban is None:
        raise NotFound("There is no such ban.")
    services.ban_revoke(actor=staff, ban=ban, ip_address=client_ip(request))
    messages.success(request, "The ban is lifted.")
    return redirect("staff:member", ban.user_id) if ban.user_id else redirect("staff:index")


@login_required
@require_POST
def warning_lift(request: HttpRequest, warning_id: uuid.UUID) -> HttpResponse:
    staff = _staff(request)
    lifted = warnings.warning_lift(actor=staff, warning=warning_id,
                                   reason=str(request.POST.get("reason", ""))[:2000],
                                   ip_address=client_ip(request))
    messages.success(request, "The warning is lifted.")
    return redirect("staff:member", lifted.user_id)


@login_required
@require_POST
def note_add(request: HttpRequest, member_id: uuid.UUID) -> HttpResponse:
    staff = _staff(request)
    require_perm(staff, Perm.USERS_WARN, "Staff notes are for staff who warn members.")
    member = _member_or_404(member_id)
    form = forms.NoteForm(request.POST)
    if form.is_valid() and attempt(form, lambda: services.staff_note_add(
            actor=staff, member=member, body=form.cleaned_data["body"],
            ip_address=client_ip(request))) is not None:
        messages.success(request, "Note kept.")
    else:
        messages.error(request, "Write the note (at most 5000 characters).")
    return redirect("staff:member", member.pk)


@login_required
@require_http_methods(["GET", "POST"])
def warn_target(request: HttpRequest, target_type: str, target_id: uuid.UUID) -> HttpResponse:
    """Warn whoever is answerable for a target: a member (from their profile or staff
    page), the author of a post, comment, message, or of what a report is about."""
    staff = _staff(request)
    require_perm(staff, Perm.USERS_WARN, "Only staff who may warn members can do this.")
    target = targets.target_describe(target_type, target_id)
    if target.author_id is None:
        raise NotFound("Nobody is answerable for this (the author's account is gone).")
    member = _member_or_404(target.author_id)
    report = None
    report_id = request.POST.get("report") or request.GET.get("report")
    if report_id:
        report = reports.report_for_staff(staff, report_id)
    initial = {"report": report.pk if report else None,
               "reason": f"{target.label}: " if target.target_type != TargetType.USER else ""}
    form = forms.WarnForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        source = "report" if report else ("staff" if target.target_type == TargetType.USER
                                          else "post")
        warning = attempt(form, lambda: warnings.warning_issue(
            actor=staff, member=member, reason=form.cleaned_data["reason"],
            points=form.cleaned_data["points"],
            expires_at=_expiry(form.cleaned_data["expires_in_days"]), source=source,
            report=report,
            target_type=target.target_type if target.target_type != TargetType.USER else "",
            target_id=target.target_id if target.target_type != TargetType.USER else None,
            ip_address=client_ip(request)))
        if warning is not None:
            messages.success(request, f"{member.username} is warned ({warning.points} "
                                      f"point{'s' if warning.points != 1 else ''}).")
            if report is not None:
                return redirect("staff:report", report.pk)
            return redirect("staff:member", member.pk)
    return render(request, "staff/warn.html", {"form": form, "target": target,
                                               "member": member, "report": report},
                  status=400 if form.errors else 200)


@login_required
def report_page(request: HttpRequest, report_id: uuid.UUID) -> HttpResponse:
    staff = _staff(request)
    report = reports.report_for_staff(staff, report_id)
    primary = report.duplicate_of or report
    try:
        target = targets.target_describe(primary.target_type, primary.target_id)
    except NotFound:
        target = None

    return render(request, "staff/report.html", {
        "report": primary, "target": target,
        "reporters": [primary, *primary.duplicates.select_related("reporter")],
        "can_warn": user_has_perm(staff, Perm.USERS_WARN),
        "resolve_form": ReportResolveForm()})


@login_required
def appeal_list(request: HttpRequest) -> HttpResponse:
    staff = _staff(request)
    if not any(user_has_perm(staff, p) for p in appeals.DECIDE_PERM.values()):
        raise appeals_forbidden()
    return render(request, "staff/appeals.html", {"appeals": appeals.appeals_pending()})


def appeals_forbidden() -> DomainError:
    return NotPermitted("Appeals are decided by staff.")


@login_required
@require_http_methods(["GET", "POST"])
def appeal_page(request: HttpRequest, appeal_id: uuid.UUID) -> HttpResponse:
    staff = _staff(request)
    appeal = appeals.appeal_for_staff(staff, appeal_id)
    form = forms.DecideForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        decided = attempt(form, lambda: appeals.appeal_decide(
            actor=staff, appeal_id=appeal.pk,
            accept=form.cleaned_data["decision"] == "accept", note=form.cleaned_data["note"],
            ip_address=client_ip(request)))
        if decided is not None:
            messages.success(request, f"Appeal {decided.status}.")
            return redirect("staff:appeal", appeal.pk)
    action = next((a for a in appeals.appealable_actions(appeal.appellant)
                   if a.target_id == appeal.target_id), None)
    return render(request, "staff/appeal.html", {"appeal": appeal, "action": action,
                                                 "form": form},
                  status=400 if form.errors else 200)


@login_required
def audit_log(request: HttpRequest) -> HttpResponse:
    staff = _staff(request)
    require_perm(staff, Perm.AUDIT_VIEW, "The audit log is for staff who may read it.")
    form = forms.AuditFilterForm(request.GET or None)
    rows: list[Any] = []
    if not form.is_bound or form.is_valid():
        data = form.cleaned_data if form.is_bound else {}

        def day(value: Any, plus: int = 0) -> datetime | None:
            if not value:
                return None
            return timezone.make_aware(datetime.combine(value, time.min)) + timedelta(days=plus)

        found = attempt(form, lambda: selectors.audit_log_search(
            staff, action=data.get("action") or "", actor=data.get("actor") or "",
            target_id=data.get("target_id") or "", since=day(data.get("since")),
            until=day(data.get("until"), 1), before=data.get("before")))
        rows = found or []
    more = None
    if len(rows) == selectors.AUDIT_PAGE:
        params = request.GET.copy()
        params["before"] = rows[-1].created_at.isoformat()
        more = f"{reverse('staff:audit')}?{params.urlencode()}"
    return render(request, "staff/audit.html", {"form": form, "rows": rows, "more": more},
                  status=400 if form.errors else 200)


@login_required
def appeal_for_target(request: HttpRequest, target_id: uuid.UUID) -> HttpResponse:
    """The feed's queue items name the appealed action: its (single) appeal's page."""
    staff = _staff(request)
    appeal = Appeal.objects.filter(target_id=target_id).first()
    if appeal is None:
        raise NotFound("There is no appeal of this.")
    appeals.appeal_for_staff(staff, appeal.pk)  # the permission check
    return redirect("staff:appeal", appeal.pk)
