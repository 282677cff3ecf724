"""Per-request account guard: a banned member (account ban or banned address) is logged
out with a page saying why; a member whose class requires 2FA and who logged in without it
may only reach the enrolment page until enrolled.

Cheap by design: the ban answers come from Redis (domain.moderation.selectors caches them and
drops them on every ban change), so a normal request costs two cache reads, no queries.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode

from domain.accounts import services
from domain.accounts.sessions import ENROL_REQUIRED_KEY
from domain.errors import RateLimited
from domain.moderation.appeals import appeal_token
from domain.moderation.models import BanType
from domain.moderation.selectors import ip_ban_reason, user_ban_reasons


def client_ip(request: HttpRequest) -> str | None:
    # REMOTE_ADDR only: X-Forwarded-For is client-controlled unless a proxy we run sets it,
    # and the deployment's proxy is expected to rewrite REMOTE_ADDR.
    return request.META.get("REMOTE_ADDR") or None


class AccountGuardMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path == reverse("admin:login"):
            return self.admin_login(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            reasons = user_ban_reasons(user.pk)
            message = None
            if BanType.ACCOUNT in reasons:
                message = f"Your account is banned: {reasons[BanType.ACCOUNT]}"
            else:
                ip_reason = ip_ban_reason(client_ip(request))
                if ip_reason is not None:
                    message = f"Your address is banned: {ip_reason}"
            if message is not None:
                # The appeal form must open without a login (a banned member has none):
                # a signed link names the member (domain.moderation.appeals).
                appeal_url = reverse("moderation:appeal_by_link", args=[appeal_token(user.pk)])
                logout(request)
                return render(request, "accounts/banned.html",
                              {"message": message, "appeal_url": appeal_url}, status=403)
            if request.session.get(ENROL_REQUIRED_KEY):
                allowed = {reverse("accounts:two_factor"), reverse("logout")}
                if request.path not in allowed and not request.path.startswith("/static/"):
                    return redirect("accounts:two_factor")
        return self.get_response(request)

    def admin_login(self, request: HttpRequest) -> HttpResponse:
        """The admin's own login form would skip our rate limits, audit and second factor:
        its page sends people to our login, and a POST to it gets the same checks."""
        target = request.GET.get("next") or reverse("admin:index")
        our_login = f"{reverse('login')}?{urlencode({'next': target})}"
        if request.method != "POST":
            return redirect(our_login)
        login_name = str(request.POST.get("username", ""))[:254]
        ip, agent = client_ip(request), request.headers.get("User-Agent", "")[:512]
        try:
            services.login_rate_check(login=login_name, ip=ip)
        except RateLimited as exc:
            response = render(request, "errors/domain_error.html",
                              {"title": "Slow down", "message": exc.message}, status=429)
            response["Retry-After"] = str(int(exc.retry_after))
            return response
        response = self.get_response(request)
        user = request.user
        if not user.is_authenticated:
            if request.POST.get("password"):
                services.login_failure_record(login=login_name, ip=ip, user_agent=agent,
                                              reason="admin_form")
            return response
        has_2fa, must_enrol = services.login_second_factor_needed(user)
        if has_2fa:
            logout(request)
            return redirect(our_login)
        services.login_succeeded(user=user, ip=ip, user_agent=agent, method="admin_form")
        if must_enrol:
            request.session[ENROL_REQUIRED_KEY] = True
        return response
