"""The bonus store: balance, prices, my tokens and ledger, and the four things points do.
Each POST parses its form, checks Perm.BONUS_SPEND, calls one service and redirects; a
refused request shows the store again with the error on the field at fault."""

from __future__ import annotations

from typing import Any

from django import forms as django_forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST, require_safe

from domain.accounts.models import User
from domain.accounts.permissions import Perm, require_perm, user_has_perm
from domain.bonus import selectors, services
from domain.errors import DomainError
from frontend.bonus import forms
from frontend.formerrors import add_domain_error


class AuthedRequest(HttpRequest):
    """What login_required guarantees: request.user is a member (for the type checker)."""

    user: User


FORMS: dict[str, type[django_forms.Form]] = {
    "upload_form": forms.UploadCreditForm,
    "token_form": forms.TokenBuyForm,
    "gift_form": forms.GiftForm,
    "use_form": forms.TokenUseForm,
}


def _store(request: AuthedRequest, *, status: int = 200, **bound: django_forms.Form
           ) -> HttpResponse:
    context: dict[str, Any] = {name: bound.get(name) or form() for name, form in FORMS.items()}
    context.update(
        balance=selectors.bonus_balance(user_id=request.user.pk),
        prices=selectors.store_prices(),
        tokens=selectors.tokens_for_user(user_id=request.user.pk),
        transactions=selectors.transactions_for_user(user_id=request.user.pk),
        can_spend=user_has_perm(request.user, Perm.BONUS_SPEND),
    )
    return render(request, "bonus/store.html", context, status=status)


@login_required
@require_safe
def store(request: AuthedRequest) -> HttpResponse:
    return _store(request)


def _handle(request: AuthedRequest, name: str, action: Any) -> HttpResponse:
    require_perm(request.user, Perm.BONUS_SPEND)
    form = FORMS[name](request.POST)
    if form.is_valid():
        try:
            done = action(form.cleaned_data)
        except DomainError as error:
            if error.field not in form.fields:
                raise  # not about this form's input: the middleware shows it
            add_domain_error(form, error)
        else:
            messages.success(request, done)
            return redirect("bonus:store")
    return _store(request, status=400, **{name: form})


@login_required
@require_POST
def buy_upload(request: AuthedRequest) -> HttpResponse:
    def action(data: dict[str, Any]) -> str:
        services.bonus_buy_upload(user=request.user, gib=data["gib"])
        return f"Added {data['gib']} GiB to your upload."
    return _handle(request, "upload_form", action)


@login_required
@require_POST
def buy_tokens(request: AuthedRequest) -> HttpResponse:
    def action(data: dict[str, Any]) -> str:
        tokens = services.bonus_buy_tokens(user=request.user, quantity=data["quantity"])
        return f"You have {len(tokens)} new freeleech token{'s' if len(tokens) > 1 else ''}."
    return _handle(request, "token_form", action)


@login_required
@require_POST
def gift(request: AuthedRequest) -> HttpResponse:
    def action(data: dict[str, Any]) -> str:
        entry = services.bonus_gift(sender=request.user, recipient_username=data["recipient"],
                                    amount=data["amount"], message=data["message"])
        name = getattr(entry.counterparty, "username", data["recipient"])
        return f"Sent {-entry.amount:,} points to {name}."
    return _handle(request, "gift_form", action)


@login_required
@require_POST
def use_token(request: AuthedRequest) -> HttpResponse:
    def action(data: dict[str, Any]) -> str:
        token = services.freeleech_token_activate(user=request.user,
                                                  torrent_id=data["torrent"])
        name = token.torrent.name if token.torrent else "the torrent"
        return (f"Your token makes “{name}” free to download until "
                f"{token.expires_at:%Y-%m-%d %H:%M} UTC.")
    return _handle(request, "use_form", action)
