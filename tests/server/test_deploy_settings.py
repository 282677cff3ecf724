"""Settings for a real deployment: no start without a secret key when DEBUG is off, TLS at a
proxy switched on by one variable, `manage.py check --deploy` clean in a production-like
environment, and a Content-Security-Policy on every page."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SETTINGS_DUMP = (
    "import json, django; from django.conf import settings; django.setup(); "
    "print(json.dumps({n: getattr(settings, n, None) for n in ("
    "'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', 'SECURE_SSL_REDIRECT', "
    "'SECURE_HSTS_SECONDS', 'SECURE_PROXY_SSL_HEADER', 'SECURE_REDIRECT_EXEMPT')}))"
)


def _python(code: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("DJANGO_DEBUG", "DJANGO_SECRET_KEY", "DJANGO_HTTPS"))}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120,
                          env={**base, "DJANGO_SETTINGS_MODULE": "server.settings", **env})


def test_without_a_secret_key_the_site_refuses_to_start_unless_debug():
    refused = _python("import django; django.setup()")
    assert refused.returncode != 0
    assert "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off" in refused.stderr
    assert _python("import django; django.setup()", DJANGO_DEBUG="1").returncode == 0


def test_tls_at_a_proxy_is_one_switch():
    plain = json.loads(_python(SETTINGS_DUMP, DJANGO_SECRET_KEY="k" * 50).stdout)
    assert plain["SESSION_COOKIE_SECURE"] is False and plain["SECURE_SSL_REDIRECT"] is False
    tls = json.loads(_python(SETTINGS_DUMP, DJANGO_SECRET_KEY="k" * 50,
                             DJANGO_HTTPS="1").stdout)
    assert tls["SESSION_COOKIE_SECURE"] is True and tls["CSRF_COOKIE_SECURE"] is True
    assert tls["SECURE_SSL_REDIRECT"] is True and tls["SECURE_HSTS_SECONDS"] >= 31536000
    assert tls["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert any("healthz" in pattern for pattern in tls["SECURE_REDIRECT_EXEMPT"])


def test_check_deploy_is_clean_in_a_production_like_environment():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
        env={**{k: v for k, v in os.environ.items() if k != "DJANGO_DEBUG"},
             "DJANGO_SETTINGS_MODULE": "server.settings", "DJANGO_DEBUG": "0",
             "DJANGO_SECRET_KEY": secrets.token_urlsafe(48), "DJANGO_HTTPS": "1",
             "DJANGO_HSTS_PRELOAD": "1", "DJANGO_ALLOWED_HOSTS": "tracker.example.org"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.django_db
def test_pages_carry_a_content_security_policy_without_inline_script(client):
    response = client.get("/login/")
    policy = response["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


def test_trusted_proxies_take_the_older_environment_name_too():
    dump = ("import json, django; from django.conf import settings; django.setup(); "
            "print(json.dumps([settings.TRUSTED_PROXIES, "
            "hasattr(settings, 'TRACKER_TRUSTED_PROXIES')]))")
    key = "k" * 50
    old = json.loads(_python(dump, DJANGO_SECRET_KEY=key,
                             TRACKER_TRUSTED_PROXIES="10.0.0.0/8").stdout)
    assert old == [["10.0.0.0/8"], False]  # one setting; code reads only the new name
    both = json.loads(_python(dump, DJANGO_SECRET_KEY=key, TRACKER_TRUSTED_PROXIES="10.0.0.0/8",
                              TRUSTED_PROXIES="192.0.2.1/32,192.0.2.2/32").stdout)
    assert both[0] == ["192.0.2.1/32", "192.0.2.2/32"]
