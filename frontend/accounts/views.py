"""Accounts pages: login (with the second factor), logout, registration, confirmation,
profiles, settings (password, email, 2FA, passkey, privacy, sessions) and invites.
Each view parses, authorizes, calls one service and renders."""

from __future__ import annotations

import base64
import io
import time
import uuid
from typing import Any

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from domain.accounts import selectors, services
from domain.accounts.models import User, UserPrivacy
from domain.accounts.permissions import Perm, user_has_perm
from domain.accounts.sessions import (
    CLIENT_IP_KEY,
    CLIENT_UA_KEY,
    ENROL_REQUIRED_KEY,
    session_key_hash,
)
from domain.catalog.collection_selectors import member_collections
from domain.errors import DomainError, NotPermitted, RateLimited
from domain.moderation.appeals import appeal_token
from frontend.accounts import forms
from frontend.accounts.middleware import client_ip
from frontend.formerrors import add_domain_error, attempt


class AuthedRequest(HttpRequest):
    """What a @login_required view receives: the user is a member, never anonymous."""

    user: User  # type: ignore[assignment]


BACKEND = "domain.accounts.backends.UsernameOrEmailBackend"
PENDING_KEY = "_2fa_pending"
PENDING_SECONDS = 300


def _ua(request: HttpRequest) -> str:
    return request.headers.get("User-Agent", "")[:512]


def _safe_next(request: HttpRequest, value: str | None) -> str:
    if value and url_has_allowed_host_and_scheme(value, allowed_hosts={request.get_host()},
                                                 require_https=request.is_secure()):
        return value
    return reverse("home")


def _complete_login(request: HttpRequest, user: User, *, next_url: str, method: str,
                    must_enrol: bool) -> HttpResponse:
    request.session.pop(PENDING_KEY, None)
    request.session[CLIENT_IP_KEY] = client_ip(request)
    request.session[CLIENT_UA_KEY] = _ua(request)
    auth_login(request, user, backend=BACKEND)
    services.login_succeeded(user=user, ip=client_ip(request), user_agent=_ua(request),
                             method=method)
    if must_enrol:
        request.session[ENROL_REQUIRED_KEY] = True
        messages.warning(request, "Your class requires two-factor authentication: set it "
                                  "up to continue.")
        return redirect("accounts:two_factor")
    return redirect(next_url)


def _appeal_url(login: str) -> str:
    """A refused login (banned) came with the right password: its owner gets the signed
    link to their appeals (domain.moderation.appeals), which needs no login."""
    login = (login or "").strip()
    user = User.objects.filter(Q(username__iexact=login) | Q(email__iexact=login)).first()
    if user is None:
        return ""
    return reverse("moderation:appeal_by_link", args=[appeal_token(user.pk)])


@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    next_url = _safe_next(request, request.POST.get("next") or request.GET.get("next"))
    if request.user.is_authenticated:
        return redirect(next_url)
    form = forms.LoginForm(request.POST or None)
    status = 200
    appeal_url = ""
    if request.method == "POST" and form.is_valid():
        try:
            result = services.login_attempt(login=form.cleaned_data["username"],
                                            password=form.cleaned_data["password"],
                                            ip=client_ip(request), user_agent=_ua(request))
        except DomainError as exc:
            # Refusals (banned, disabled, validating) are form errors on a normal page;
            # only the rate limit answers 429, with Retry-After.
            add_domain_error(form, exc)
            status = 429 if isinstance(exc, RateLimited) else 200
            if exc.code == "login_refused":
                appeal_url = _appeal_url(form.cleaned_data["username"])
        else:
            if result.needs_2fa:
                request.session[PENDING_KEY] = {"user_id": str(result.user.pk),
                                                "at": time.time(), "next": next_url}
                return redirect("accounts:login_2fa")
            return _complete_login(request, result.user, next_url=next_url,
                                   method="password", must_enrol=result.must_enrol_2fa)
    response = render(request, "registration/login.html",
                      {"form": form, "next": next_url, "appeal_url": appeal_url,
                       "registration_mode": services.registration_mode()}, status=status)
    if status == 429:
        response["Retry-After"] = str(settings.LOGIN_FAILURE_WINDOW_SECONDS)
    return response


@never_cache
@require_http_methods(["GET", "POST"])
def login_2fa_view(request: HttpRequest) -> HttpResponse:
    pending = request.session.get(PENDING_KEY)
    if not pending or time.time() - pending.get("at", 0) > PENDING_SECONDS:
        request.session.pop(PENDING_KEY, None)
        messages.error(request, "Log in again: the code step timed out.")
        return redirect("login")
    user = User.objects.select_related("group").filter(pk=pending["user_id"]).first()
    if user is None or not user.is_active:
        request.session.pop(PENDING_KEY, None)
        return redirect("login")
    form = forms.CodeForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            method = services.two_factor_verify(user=user, code=form.cleaned_data["code"],
                                                ip=client_ip(request),
                                                user_agent=_ua(request))
        except DomainError as exc:
            add_domain_error(form, exc)
            status = 429 if isinstance(exc, RateLimited) else 200
        else:
            if method == "backup":
                messages.info(request, "You used a backup code; each works only once.")
            return _complete_login(request, user, next_url=pending.get("next") or "/",
                                   method=method, must_enrol=False)
    return render(request, "registration/login_2fa.html", {"form": form}, status=status)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    # flush() deletes the session, which revokes its user_sessions row.
    auth_logout(request)
    return redirect("login")


@never_cache
@require_http_methods(["GET", "POST"])
def register_view(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    mode = services.registration_mode()
    initial = {"invite_code": request.GET.get("invite", "")}
    form = forms.RegisterForm(request.POST or None, initial=initial)
    if mode == services.RegistrationMode.CLOSED:
        return render(request, "accounts/register_closed.html", status=403)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.account_register(
                username=data["username"], email=data["email"], password=data["password"],
                invite_code=data.get("invite_code") or "", ip=client_ip(request),
                user_agent=_ua(request),
                confirm_url=request.build_absolute_uri(reverse("accounts:confirm")))
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            return render(request, "accounts/register_done.html", {"email": data["email"]})
    return render(request, "accounts/register.html", {"form": form, "mode": mode})


@never_cache
def confirm_view(request: HttpRequest) -> HttpResponse:
    token = request.GET.get("token", "")
    try:
        services.account_confirm_email(token=token, ip=client_ip(request))
    except DomainError as exc:
        return render(request, "accounts/confirm.html", {"error": exc.message}, status=400)
    return render(request, "accounts/confirm.html", {"error": None})


@login_required
def profile_view(request: AuthedRequest, username: str) -> HttpResponse:
    profile = selectors.profile_for_viewer(request.user, username)
    return render(request, "accounts/profile.html", {
        "profile": profile, "member": profile.member, "stat_rows": _stat_rows(profile),
        "collections": member_collections(viewer=request.user, member=profile.member)})


STAT_ROWS = (
    ("Uploaded", "uploaded", "bytes"), ("Downloaded", "downloaded", "bytes"),
    ("Ratio", "ratio", "ratio"), ("Bonus points", "bonus_points", "number"),
    ("Seeding", "seeding_count", "number"), ("Seeding size", "seeding_size", "bytes"),
    ("Leeching", "leeching_count", "number"), ("Snatched", "snatched_count", "number"),
    ("Uploads", "uploads_count", "number"),
    ("Requests filled", "requests_filled_count", "number"),
    ("Requests voted", "requests_voted_count", "number"),
    ("Comments", "comments_count", "number"), ("Forum posts", "forum_posts_count", "number"),
)


def _stat_rows(profile: selectors.ProfileView) -> list[tuple[str, str, str | None]]:
    """(label, name, display) per statistic; display None means hidden by the member."""
    rows = []
    for label, name, kind in STAT_ROWS:
        value = profile.stats.get(name)
        if value is None and not (name == "ratio" and "show_ratio" in profile.visible):
            display = None
        elif kind == "bytes":
            display = filesizeformat(value or 0)
        elif kind == "ratio":
            display = "∞" if value is None else f"{value:.2f}"
        else:
            display = str(value)
        rows.append((label, name, display))
    return rows


@login_required
def settings_view(request: AuthedRequest) -> HttpResponse:
    return render(request, "accounts/settings.html", {
        "two_factor": selectors.two_factor_for_user(request.user)})


@login_required
@require_http_methods(["GET", "POST"])
def password_view(request: AuthedRequest) -> HttpResponse:
    form = forms.PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.password_change(user=request.user,
                                     old_password=form.cleaned_data["old_password"],
                                     new_password=form.cleaned_data["new_password"],
                                     current_session_key=request.session.session_key,
                                     ip=client_ip(request))
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            # The session's auth hash follows the new password, so this tab stays in (with
            # a new session key: the old one is revoked).
            update_session_auth_hash(request, request.user)
            messages.success(request, "Password changed. Your other sessions were ended.")
            return redirect("accounts:settings")
    return render(request, "accounts/form_page.html",
                  {"form": form, "title": "Change password", "button": "Change password"})


@login_required
@require_http_methods(["GET", "POST"])
def email_view(request: AuthedRequest) -> HttpResponse:
    form = forms.EmailChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.email_change(user=request.user, password=form.cleaned_data["password"],
                                  new_email=form.cleaned_data["email"], ip=client_ip(request))
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            messages.success(request, "Email address changed.")
            return redirect("accounts:settings")
    return render(request, "accounts/form_page.html",
                  {"form": form, "title": "Change email address", "button": "Change email",
                   "intro": f"Your address now: {request.user.email}"})


def _qr_data_uri(uri: str) -> str:
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def two_factor_view(request: AuthedRequest) -> HttpResponse:
    """Enrol (begin -> confirm with a code -> backup codes once), regenerate backup codes,
    or turn 2FA off. `action` says which."""
    user = request.user
    action = request.POST.get("action", "")
    context: dict[str, Any] = {"required": user.group.requires_2fa}
    code_form = forms.CodeForm(request.POST if action == "confirm" else None)
    password_form = forms.PasswordForm(request.POST if action in {"disable", "regenerate"}
                                       else None)
    status = 200
    try:
        if action == "begin":
            services.two_factor_begin(user=user)
            return redirect("accounts:two_factor")
        if action == "confirm" and code_form.is_valid():
            codes = services.two_factor_confirm(user=user, code=code_form.cleaned_data["code"],
                                                ip=client_ip(request))
            request.session.pop(ENROL_REQUIRED_KEY, None)
            messages.success(request, "Two-factor authentication is on.")
            context["backup_codes"] = codes
        elif action == "regenerate" and password_form.is_valid():
            context["backup_codes"] = services.two_factor_backup_codes_regenerate(
                user=user, password=password_form.cleaned_data["password"],
                ip=client_ip(request))
        elif action == "disable" and password_form.is_valid():
            services.two_factor_disable(user=user,
                                        password=password_form.cleaned_data["password"],
                                        ip=client_ip(request))
            messages.success(request, "Two-factor authentication is off.")
            return redirect("accounts:two_factor")
        elif action and action not in {"confirm", "regenerate", "disable"}:
            messages.error(request, "Unknown action.")
            status = 400
    except DomainError as exc:
        add_domain_error(code_form if action == "confirm" else password_form, exc)
        if not exc.field:
            messages.error(request, exc.message)
    if request.method == "POST" and (code_form.errors or password_form.errors):
        status = 400
    two_factor = selectors.two_factor_for_user(user)
    context.update(two_factor=two_factor, code_form=code_form, password_form=password_form)
    if two_factor is not None and not two_factor.is_enabled:
        uri = services.two_factor_provisioning_uri(user, two_factor.secret)
        context.update(provisioning_uri=uri, qr=_qr_data_uri(uri),
                       secret=two_factor.secret)
    if two_factor is not None and two_factor.is_enabled:
        context["backup_codes_left"] = len(two_factor.backup_codes)
    return render(request, "accounts/two_factor.html", context, status=status)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def passkey_view(request: AuthedRequest) -> HttpResponse:
    if request.method == "POST":
        services.passkey_reset(user=request.user, actor=request.user, ip=client_ip(request))
        messages.success(request, "Your passkey was reset. Download your torrent files "
                                  "again: the old passkey no longer works.")
        return redirect("accounts:passkey")
    return render(request, "accounts/passkey.html", {"passkey": request.user.passkey})


@login_required
@require_http_methods(["GET", "POST"])
def privacy_view(request: AuthedRequest) -> HttpResponse:
    privacy, _ = UserPrivacy.objects.get_or_create(user=request.user)
    initial = {name: getattr(privacy, name) for name in UserPrivacy.SETTINGS}
    form = forms.PrivacyForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        services.privacy_update(user=request.user, settings_=form.cleaned_data,
                                ip=client_ip(request))
        messages.success(request, "Privacy settings saved.")
        return redirect("accounts:privacy")
    return render(request, "accounts/form_page.html",
                  {"form": form, "title": "Privacy (paranoia)", "button": "Save",
                   "intro": "Ticked items are visible to other members. Staff always see "
                            "everything."})


@login_required
@require_http_methods(["GET", "POST"])
def profile_edit_view(request: AuthedRequest) -> HttpResponse:
    user = request.user
    may_title = user_has_perm(user, Perm.CUSTOM_TITLE)
    form = forms.ProfileForm(request.POST or None, request.FILES or None, may_title=may_title,
                             initial={"profile_text": user.profile_text, "title": user.title})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        upload = data.get("avatar")
        avatar = None
        if upload is not None:
            # One byte over the limit is enough for the service to refuse it.
            avatar = upload.read(settings.AVATAR_MAX_BYTES + 1)
        updated = attempt(form, lambda: services.profile_update(
            user=user, profile_text=data["profile_text"],
            title=data["title"] if may_title else None, avatar=avatar,
            remove_avatar=data["remove_avatar"], ip=client_ip(request)))
        if updated is not None:
            messages.success(request, "Profile saved.")
            return redirect("accounts:profile", username=user.username)
    return render(request, "accounts/profile_edit.html", {
        "form": form, "avatar_kib": settings.AVATAR_MAX_BYTES // 1024,
        "avatar_side": settings.AVATAR_MAX_SIDE}, status=400 if form.errors else 200)


@never_cache
@login_required
def sessions_view(request: AuthedRequest) -> HttpResponse:
    current = request.session.session_key
    return render(request, "accounts/sessions.html", {
        "sessions": selectors.sessions_for_user(request.user),
        "current_hash": session_key_hash(current) if current else None})


@login_required
@require_POST
def session_revoke_view(request: AuthedRequest, session_id: uuid.UUID) -> HttpResponse:
    row = services.session_revoke(user=request.user, session_id=session_id,
                                  ip=client_ip(request),
                                  current_session_key=request.session.session_key)
    messages.success(request, "Session ended.")
    current = request.session.session_key
    if current and session_key_hash(current) == row.token_hash:
        return redirect("login")
    return redirect("accounts:sessions")


@login_required
@require_http_methods(["GET", "POST"])
def invites_view(request: AuthedRequest) -> HttpResponse:
    form = forms.InviteForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            services.invite_create(
                inviter=request.user, email=form.cleaned_data["email"],
                register_url=request.build_absolute_uri(reverse("accounts:register")),
                ip=client_ip(request))
        except DomainError as exc:
            add_domain_error(form, exc)
            status = 403 if isinstance(exc, NotPermitted) else 200
        else:
            messages.success(request, "Invite sent.")
            return redirect("accounts:invites")
    return render(request, "accounts/invites.html", {
        "form": form, "available": services.invites_available(request.user),
        "invites": selectors.invites_for_user(request.user),
        "tree": selectors.invite_tree(request.user), "now": timezone.now()}, status=status)


@login_required
@require_POST
def invite_revoke_view(request: AuthedRequest, invite_id: uuid.UUID) -> HttpResponse:
    services.invite_revoke(user=request.user, invite_id=invite_id, ip=client_ip(request))
    messages.success(request, "Invite revoked.")
    return redirect("accounts:invites")
