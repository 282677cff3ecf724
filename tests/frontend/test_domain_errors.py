"""Domain errors become pages (or JSON) with the right status, never a traceback."""

from __future__ import annotations

import json
import re

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from domain.errors import NotFound, NotPermitted, RateLimited, ValidationFailed
from frontend.middleware import DomainErrorMiddleware


def handle(exc: Exception, accept: str = "text/html"):
    request: HttpRequest = RequestFactory().get("/x", HTTP_ACCEPT=accept)
    from django.contrib.auth.models import AnonymousUser

    request.user = AnonymousUser()
    return DomainErrorMiddleware(lambda r: HttpResponse()).process_exception(request, exc)


@pytest.mark.parametrize(("exc", "status"), [
    (ValidationFailed("Bad <b>piece</b> length"), 400),
    (NotPermitted("Your download rights are suspended."), 403),
    (NotFound("No such torrent."), 404),
    (RateLimited("Too many tries.", retry_after=2.5), 429),
])
def test_domain_errors_render_as_pages_with_escaped_messages(exc, status):
    response = handle(exc)
    assert response.status_code == status
    body = response.content.decode()
    assert exc.message.replace("<", "&lt;").replace(">", "&gt;") in body
    assert "<b>piece</b>" not in body


def test_rate_limited_says_when_to_retry():
    assert handle(RateLimited("Too many tries.", retry_after=2.5))["Retry-After"] == "3"


def test_json_clients_get_json_with_the_field():
    response = handle(ValidationFailed("Too short.", field="password"), "application/json")
    assert response.status_code == 400
    assert json.loads(response.content) == {"error": {"code": "invalid", "message": "Too short.",
                                         "field": "password"}}


def test_other_exceptions_are_left_alone():
    assert handle(ValueError("boom")) is None


def test_a_form_page_shows_a_refusal_on_the_field_it_names_or_on_the_form():
    from pathlib import Path

    from django import forms

    from frontend.formerrors import add_domain_error, attempt

    class BountyForm(forms.Form):
        bounty = forms.IntegerField()
        title = forms.CharField()

    form = BountyForm({"bounty": 5, "title": "x"})
    assert form.is_valid()
    add_domain_error(form, ValidationFailed("Too little.", field="amount"),
                     renamed={"amount": "bounty"})
    add_domain_error(form, ValidationFailed("Bad title.", field="title"))
    assert attempt(form, lambda: (_ for _ in ()).throw(NotPermitted("Not yours."))) is None
    add_domain_error(form, ValidationFailed("No such field.", field="nonexistent"))
    assert form.errors == {"bounty": ["Too little."], "title": ["Bad title."],
                           "__all__": ["Not yours.", "No such field."]}
    assert attempt(form, lambda: 7) == 7

    # Every form page goes through frontend.formerrors: no view puts exc.message itself.
    root = Path(__file__).resolve().parents[2] / "frontend"
    by_hand = [str(p) for p in root.rglob("*.py") if p.name != "formerrors.py"
               and re.search(r"\.add_error\(\w*(exc|error)\b", p.read_text())]
    assert by_hand == []
