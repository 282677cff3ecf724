"""The member's API keys page (create, see last use, revoke) and the API docs page."""

from __future__ import annotations

import uuid

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from domain.accounts import apikeys
from domain.accounts.models import ApiKeyScope, User
from domain.errors import DomainError
from frontend.accounts.middleware import client_ip
from frontend.api import categories as cats
from frontend.formerrors import add_domain_error


class AuthedRequest(HttpRequest):
    user: User


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=apikeys.NAME_MAX,
                           help_text="Where you will use it: Prowlarr, Sonarr, a script...")
    scopes = forms.MultipleChoiceField(choices=ApiKeyScope.choices,
                                       widget=forms.CheckboxSelectMultiple,
                                       initial=[ApiKeyScope.SEARCH, ApiKeyScope.DOWNLOAD])


def _page(request: AuthedRequest, form: ApiKeyForm, *, token: str | None = None,
          status: int = 200) -> HttpResponse:
    return render(request, "api/keys.html", {
        "form": form, "token": token,
        "keys": apikeys.api_keys_for_user(user=request.user),
        "torznab_url": request.build_absolute_uri(reverse("api:torznab")),
    }, status=status)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def keys_view(request: AuthedRequest) -> HttpResponse:
    form = ApiKeyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            made = apikeys.api_key_create(user=request.user, name=form.cleaned_data["name"],
                                          scopes=form.cleaned_data["scopes"],
                                          ip=client_ip(request))
        except DomainError as exc:
            if exc.http_status != 400:
                raise
            add_domain_error(form, exc)
        else:
            # Rendered, not redirected: the token must not sit in a session message.
            return _page(request, ApiKeyForm(), token=made.token)
    return _page(request, form, status=400 if form.errors else 200)


@login_required
@require_POST
def revoke_view(request: AuthedRequest, key_id: uuid.UUID) -> HttpResponse:
    key = apikeys.api_key_revoke(user=request.user, key_id=key_id, ip=client_ip(request))
    messages.success(request, f"Key “{key.name}” revoked: it no longer works.")
    return redirect("api:keys")


@login_required
@require_safe
def docs_view(request: AuthedRequest) -> HttpResponse:
    base = request.build_absolute_uri("/").rstrip("/")
    return render(request, "api/docs.html", {
        "base": base,
        "torznab_url": request.build_absolute_uri(reverse("api:torznab")),
        "categories": cats.mapped_categories(),
        "scopes": ApiKeyScope.choices,
    })
