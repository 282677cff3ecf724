"""Turns the domain's typed errors (domain.errors) into pages a member can act on:
an HTML page, or JSON for requests that asked for it. Never a traceback."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from domain.errors import DomainError, RateLimited

TITLES = {400: "That did not work", 403: "Not allowed", 404: "Not found", 409: "Conflict",
          429: "Slow down"}


class DomainErrorMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception
                          ) -> HttpResponse | None:
        if not isinstance(exception, DomainError):
            return None
        status = exception.http_status
        if "application/json" in request.headers.get("Accept", ""):
            body = {"error": {"code": exception.code, "message": exception.message}}
            if exception.field:
                body["error"]["field"] = exception.field
            response: HttpResponse = JsonResponse(body, status=status)
        else:
            response = render(request, "errors/domain_error.html",
                              {"title": TITLES.get(status, "Error"),
                               "message": exception.message}, status=status)
        if isinstance(exception, RateLimited):
            response["Retry-After"] = str(max(1, int(exception.retry_after + 0.999)))
        return response
