"""The one way a form page shows a service's refusal (a DomainError): on the field it
names, or on the form as a whole when the form has no such field. Not-found and forbidden
errors about the page itself are re-raised by the views that expect only input errors,
and the middleware renders them."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django import forms

from domain.errors import DomainError

T = TypeVar("T")


def add_domain_error(form: forms.Form, exc: DomainError, *,
                     renamed: dict[str, str] | None = None) -> None:
    """Put `exc` on the field it names (`renamed` maps a service's field name to the
    form's, where they differ), or on the form as a whole."""
    name = (renamed or {}).get(exc.field or "", exc.field)
    form.add_error(name if name in form.fields else None, exc.message)


def attempt(form: forms.Form, call: Callable[[], T]) -> T | None:
    """Run the service; its DomainError lands on the form and None is returned."""
    try:
        return call()
    except DomainError as exc:
        add_domain_error(form, exc)
        return None
