"""SESSION_ENGINE: sessions recorded in user_sessions, the token stored as SHA-256 only.

Why two stores: user_sessions has no data column (the seed records who is logged in from
where, not what a session holds) and anonymous visitors have no user to hang a row on.
So the session's data (CSRF-free bits, messages, the pending 2FA step) lives in Redis
under the token's hash, and for an authenticated session the user_sessions row is the
truth: `load` refuses the login of a session whose row is missing, revoked or expired,
even if Redis still holds its data. Revoking a row therefore logs that session out on its
next request; sessions_revoke_all below (and services.session_revoke, the member's own
audited one) also tell its open sockets.

Django auth, the admin and channels' AuthMiddlewareStack all use this through the
ordinary SessionStore interface.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.base import CreateError, SessionBase
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from domain.accounts.models import User, UserSession
from domain.events import SessionRevoked, publish

log = logging.getLogger(__name__)

# Written into the session by the login view so the row can record where it came from.
CLIENT_IP_KEY = "_client_ip"
# Set on a session that logged in without the second factor its class requires: the pages
# allow only enrolment (frontend.accounts.middleware) and a socket is closed (consumers.live).
ENROL_REQUIRED_KEY = "_2fa_enrol_required"
CLIENT_UA_KEY = "_client_ua"
AUTH_KEYS = (SESSION_KEY, BACKEND_SESSION_KEY, HASH_SESSION_KEY)
# last_seen_at is refreshed at most this often, so reading a session rarely writes.
LAST_SEEN_RESOLUTION = timedelta(seconds=60)


def session_key_hash(session_key: str) -> str:
    """The SHA-256 hex of a session key: what user_sessions stores and what the live
    socket compares against on `session.revoked`."""
    return hashlib.sha256(session_key.encode()).hexdigest()


def data_cache_key(token_hash: str) -> str:
    return f"session:{token_hash}"


class SessionStore(SessionBase):
    def __init__(self, session_key: str | None = None) -> None:
        super().__init__(session_key)

    @property
    def token_hash(self) -> str | None:
        return session_key_hash(self.session_key) if self.session_key else None

    def _row_is_live(self, token_hash: str, user_id: str) -> bool:
        now = timezone.now()
        row = (UserSession.objects.filter(token_hash=token_hash, revoked_at__isnull=True,
                                          expires_at__gt=now)
               .values("id", "user_id", "last_seen_at").first())
        if row is None or str(row["user_id"]) != str(user_id):
            return False
        if now - row["last_seen_at"] > LAST_SEEN_RESOLUTION:
            UserSession.objects.filter(pk=row["id"]).update(last_seen_at=now)
            User.objects.filter(pk=row["user_id"]).update(last_seen_at=now)
        return True

    def load(self) -> dict[str, Any]:
        if not self.session_key:
            self._session_key = None
            return {}
        token_hash = session_key_hash(self.session_key)
        data = cache.get(data_cache_key(token_hash))
        if data is None:
            self._session_key = None
            return {}
        user_id = data.get(SESSION_KEY)
        if user_id is not None and not self._row_is_live(token_hash, user_id):
            # Revoked or expired: the visitor keeps a session but not the login.
            cache.delete(data_cache_key(token_hash))
            self._session_key = None
            return {}
        return data

    def exists(self, session_key: str) -> bool:
        return bool(session_key) and cache.has_key(data_cache_key(session_key_hash(session_key)))

    def create(self) -> None:
        for _ in range(10):
            self._session_key = self._get_new_session_key()  # type: ignore[attr-defined]
            try:
                self.save(must_create=True)
            except CreateError:
                continue
            self.modified = True
            return
        raise RuntimeError("Unable to create a new session key.")

    def save(self, must_create: bool = False) -> None:
        if self.session_key is None:
            return self.create()
        data = self._get_session(no_load=must_create)  # type: ignore[attr-defined]
        token_hash = session_key_hash(self.session_key)
        key = data_cache_key(token_hash)
        age = self.get_expiry_age()
        if must_create:
            if not cache.add(key, data, age):
                raise CreateError
        else:
            cache.set(key, data, age)
        user_id = data.get(SESSION_KEY)
        if user_id is not None:
            self._record(token_hash, user_id, data, age)

    def _record(self, token_hash: str, user_id: str, data: dict[str, Any], age: int) -> None:
        now = timezone.now()
        expires_at = now + timedelta(seconds=max(age, 1))
        updated = (UserSession.objects.filter(token_hash=token_hash, user_id=user_id,
                                              revoked_at__isnull=True)
                   .update(expires_at=expires_at))
        if updated:
            return
        try:
            with transaction.atomic():
                UserSession.objects.create(
                    user_id=user_id, token_hash=token_hash,
                    ip_address=data.get(CLIENT_IP_KEY) or None,
                    user_agent=str(data.get(CLIENT_UA_KEY) or "")[:512],
                    created_at=now, last_seen_at=now, expires_at=expires_at)
        except IntegrityError:
            # The hash exists for a revoked row (or another user): this token must never log
            # in again, so drop the data rather than resurrect it.
            cache.delete(data_cache_key(token_hash))

    def delete(self, session_key: str | None = None) -> None:
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        token_hash = session_key_hash(session_key)
        cache.delete(data_cache_key(token_hash))
        # Logging out ends the row too, so the sessions page and the cleanup agree.
        UserSession.objects.filter(token_hash=token_hash, revoked_at__isnull=True).update(
            revoked_at=timezone.now())

    @classmethod
    def clear_expired(cls) -> None:
        user_sessions_cleanup()


# --- Revocation and cleanup -----------------------------------------------------------

def sessions_revoke_all(*, user_id: uuid.UUID, reason: str,
                        except_session_key: str | None = None) -> int:
    """End every session of a member (but one, if named), sockets included. Call inside
    the transaction of the change that causes it (password change, ban)."""
    keep = session_key_hash(except_session_key) if except_session_key else None
    rows = UserSession.objects.filter(user_id=user_id, revoked_at__isnull=True)
    if keep is not None:
        rows = rows.exclude(token_hash=keep)
    hashes = list(rows.values_list("token_hash", flat=True))
    count = rows.update(revoked_at=timezone.now())
    session_data_drop(hashes)
    if keep is None:
        publish(SessionRevoked(user_id=user_id, payload={"reason": reason}))
    else:
        for token_hash in hashes:
            publish(SessionRevoked(user_id=user_id, payload={
                "session_key_hash": token_hash, "reason": reason}))
    return count


def session_data_drop(hashes: list[str]) -> None:
    """Forget the data of these sessions (by token hash) after commit."""
    keys = [data_cache_key(h) for h in hashes]
    if keys:
        transaction.on_commit(lambda: cache.delete_many(keys))


def user_sessions_cleanup(*, now: Any = None, keep_days: int | None = None) -> int:
    """Delete session rows that expired or were revoked more than SESSION_ROW_KEEP_DAYS ago
    (kept that long so the sessions page and investigations can still see them).
    Idempotent: a second run finds nothing."""
    now = now or timezone.now()
    keep = timedelta(days=settings.SESSION_ROW_KEEP_DAYS if keep_days is None else keep_days)
    cutoff = now - keep
    deleted, _ = UserSession.objects.filter(
        Q(expires_at__lt=cutoff) | Q(revoked_at__lt=cutoff)).delete()
    log.info("user_sessions_cleanup: deleted %d session rows ended before %s", deleted,
             cutoff.isoformat())
    return deleted
