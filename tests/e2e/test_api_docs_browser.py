"""The API browser (/api/v1/docs: Swagger UI from django-ninja's own static files) works in
Chromium under the site's strict Content-Security-Policy: it renders the operations of the
OpenAPI document and the page reports no policy violation."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.e2e.cdp import Browser
from tests.e2e.test_xss import _assert_inert, _guarded

WAIT = 20.0  # a poll, not a timing assertion: the bundle is large


@pytest.mark.django_db(transaction=True)
def test_the_api_browser_renders_under_the_strict_csp(browser: Browser,
                                                      asgi_server: str) -> None:
    policy = Client().get("/api/v1/docs")["Content-Security-Policy"]
    # django-csp does not keep the directives in a fixed order: compare them as a mapping.
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";") if d.strip())
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    page = _guarded(browser.new_page())
    page.navigate(f"{asgi_server}/api/v1/docs")
    page.wait_for("document.querySelectorAll('.swagger-ui .opblock').length > 5",
                  timeout=WAIT, what="Swagger UI listing the API's operations")
    _assert_inert(page, "the API browser")
    paths = page.evaluate("[...document.querySelectorAll('.opblock-summary-path')]"
                          ".map((e) => e.textContent)")
    assert any("/api/v1/torrents" in p for p in paths), paths
    # Everything it loaded came from the site itself.
    sources = page.evaluate("performance.getEntriesByType('resource').map((e) => e.name)")
    assert sources and all(s.startswith(asgi_server) for s in sources), sources
