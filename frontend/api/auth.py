"""Who is calling: the key from `Authorization: Bearer`, `X-Api-Key`, or `apikey=` (Torznab;
`api_token=` for UNIT3D's definitions), checked by domain.accounts.apikeys, after the
per-address limit and before the per-key one."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest

from domain.accounts.apikeys import ApiCaller, InvalidApiKey, api_key_authenticate
from frontend.accounts.middleware import client_ip
from frontend.api.limits import limit_hit


def key_from_request(request: HttpRequest) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() in ("bearer", "token") and value.strip():
        return value.strip()
    if request.headers.get("X-Api-Key"):
        return request.headers["X-Api-Key"].strip()
    for name in ("apikey", "api_token"):
        value = request.GET.get(name) or ""
        if value:
            return value.strip()
    return ""


def api_caller(request: HttpRequest) -> ApiCaller:
    """The authenticated caller, or a DomainError (InvalidApiKey, AccountSuspended,
    RateLimited). Cached on the request: ninja's auth and the view both ask."""
    cached = getattr(request, "_api_caller", None)
    if cached is not None:
        return cached
    ip = client_ip(request)
    limit_hit(scope="ip", ident=ip or "unknown", limit=settings.API_RATE_PER_IP)
    token = key_from_request(request)
    if not token:
        raise InvalidApiKey("Send your API key: Authorization: Bearer <key>, X-Api-Key, "
                            "or apikey=<key>.")
    caller = api_key_authenticate(token=token, ip=ip)
    limit_hit(scope="key", ident=str(caller.key.pk), limit=settings.API_RATE_PER_KEY)
    request._api_caller = caller  # type: ignore[attr-defined]
    return caller
