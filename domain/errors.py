"""One error type per kind of failure. Domain code raises these with a message a member can
act on; each boundary turns them into what its client understands (an HTML page or form
error, a JSON body, a WebSocket error frame, a bencoded `failure reason`).

`code` is stable and machine-readable; `message` is for people; `field` names the form
field or request parameter at fault, when there is one.
"""

from __future__ import annotations


class DomainError(Exception):
    code = "error"
    http_status = 400

    def __init__(self, message: str, *, code: str | None = None, field: str | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.field = field

    def __str__(self) -> str:
        return self.message


class ValidationFailed(DomainError):
    """The input is wrong; the same request will fail again until it is changed."""

    code = "invalid"
    http_status = 400


class NotPermitted(DomainError):
    """The member may not do this (group permission, ban, paranoia, ownership)."""

    code = "forbidden"
    http_status = 403


class NotFound(DomainError):
    code = "not_found"
    http_status = 404


class Conflict(DomainError):
    """The state changed under the request (already claimed, duplicate, locked)."""

    code = "conflict"
    http_status = 409


class RateLimited(DomainError):
    code = "rate_limited"
    http_status = 429

    def __init__(self, message: str, *, retry_after: float, code: str | None = None,
                 field: str | None = None):
        super().__init__(message, code=code, field=field)
        self.retry_after = retry_after
