"""Writes for accounts: joining, login checks, sessions, two-factor, passkey, privacy,
invites, class changes and achievements.

Every service is keyword-only, writes in one transaction, records security events and
staff changes in audit_logs inside that transaction, and publishes after commit.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import pyotp
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from domain.accounts.avatars import avatar_clean
from domain.accounts.counters import statistics_bump
from domain.accounts.models import (
    Invite,
    User,
    UserGroup,
    UserPrivacy,
    UserSession,
    UserStatistics,
    UserStatus,
    UserTwoFactor,
)
from domain.accounts.permissions import Perm, rank_allows, require_perm, user_has_perm
from domain.accounts.selectors import account_access_refusal
from domain.accounts.sessions import session_data_drop, session_key_hash, sessions_revoke_all
from domain.base import TargetType
from domain.errors import Conflict, NotFound, NotPermitted, RateLimited, ValidationFailed
from domain.events import AccessChanged, SessionRevoked, publish
from domain.moderation.selectors import ban_for_email, ip_ban_reason
from domain.moderation.services import audit_log_write
from domain.ratelimit import rate_limit_hit
from domain.signals import member_changed_send, member_notification_send

log = logging.getLogger(__name__)

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{2,32}$")


def _audit(action: str, *, user: User, actor: Any = None, ip: str | None = None,
           user_agent: str = "", changes: dict[str, Any] | None = None,
           metadata: dict[str, Any] | None = None) -> None:
    audit_log_write(action=action, actor=actor if actor is not None else user,
                    target_type=TargetType.USER, target_id=user.pk, ip_address=ip,
                    user_agent=user_agent, changes=changes, metadata=metadata)


# --- Joining ------------------------------------------------------------------------------

class RegistrationMode:
    OPEN = "open"
    INVITE = "invite"
    CLOSED = "closed"


def registration_mode() -> str:
    mode = str(getattr(settings, "REGISTRATION_MODE", RegistrationMode.INVITE)).lower()
    return mode if mode in {"open", "invite", "closed"} else RegistrationMode.CLOSED


CONFIRM_SALT = "accounts.confirm-email"


def email_confirmation_token(user: User) -> str:
    # The email is signed too, so a link stops working if the address changes.
    return signing.dumps({"u": str(user.pk), "e": user.email.lower()}, salt=CONFIRM_SALT)


def _check_new_email(email: str, *, exclude_user: User | None = None) -> str:
    email = (email or "").strip()
    try:
        validate_email(email)
    except ValidationError:
        raise ValidationFailed("Enter a valid email address.", field="email") from None
    if ban_for_email(email) is not None:
        raise ValidationFailed("This email address cannot be used here.", field="email")
    taken = User.objects.filter(email__iexact=email)
    if exclude_user is not None:
        taken = taken.exclude(pk=exclude_user.pk)
    if taken.exists():
        raise ValidationFailed("An account with this email address exists.", field="email")
    return email


def _check_password(password: str, user: User | None = None) -> None:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationFailed(" ".join(exc.messages), field="password") from None


def account_register(*, username: str, email: str, password: str, invite_code: str = "",
                     ip: str | None = None, user_agent: str = "", confirm_url: str) -> User:
    """Create an account awaiting email confirmation (group and status `validating`) and
    mail the confirmation link (`confirm_url` + `?token=`) after commit."""
    mode = registration_mode()
    if mode == RegistrationMode.CLOSED:
        raise NotPermitted("Registration is closed.", code="registration_closed")
    reason = ip_ban_reason(ip)
    if reason is not None:
        raise NotPermitted("Registration from your address is not allowed.",
                           code="ip_banned")
    # Open registration invites scripted sign-ups: each address gets a few tries an hour.
    rate_limit_hit(key=f"register:ip:{ip or '-'}", limit=settings.REGISTRATION_PER_IP_PER_HOUR,
                   window_seconds=3600,
                   message="Too many sign-ups from your address. Try again in an hour.")
    username = (username or "").strip()
    if not USERNAME_RE.match(username):
        raise ValidationFailed("2-32 letters, digits, dots, dashes or underscores.",
                               field="username")
    if User.objects.filter(username__iexact=username).exists():
        raise ValidationFailed("This username is taken.", field="username")
    email = _check_new_email(email)
    _check_password(password, User(username=username, email=email))
    invite_code = (invite_code or "").strip()
    if mode == RegistrationMode.INVITE and not invite_code:
        raise ValidationFailed("An invite code is required.", field="invite_code")

    with transaction.atomic():
        invite = None
        if invite_code:
            invite = (Invite.objects.select_for_update().select_related("inviter")
                      .filter(code=invite_code).first())
            if (invite is None or invite.used_by_id is not None
                    or invite.revoked_at is not None or invite.expires_at <= timezone.now()):
                raise ValidationFailed("This invite code is not valid (used, revoked or "
                                       "expired).", field="invite_code")
        user = User.objects.create_user(
            username=username, email=email, password=password,
            group=UserGroup.objects.get(name="validating"), status=UserStatus.VALIDATING,
            registration_ip=ip, last_ip=ip,
            invited_by=invite.inviter if invite is not None else None)
        if invite is not None:
            invite.used_by = user
            invite.used_at = timezone.now()
            invite.save(update_fields=["used_by", "used_at", "updated_at"])
        _audit("user.register", user=user, ip=ip, user_agent=user_agent,
               metadata={"invite_id": str(invite.pk) if invite else None, "mode": mode})
        link = f"{confirm_url}?{urlencode({'token': email_confirmation_token(user)})}"
        transaction.on_commit(lambda: send_mail(
            f"Confirm your {settings.SITE_NAME} account",
            f"Welcome, {username}.\n\nFollow this link to confirm your email address and "
            f"activate your account:\n\n{link}\n\nThe link is valid for "
            f"{settings.EMAIL_CONFIRMATION_DAYS} days.\n",
            settings.DEFAULT_FROM_EMAIL, [email]))
    return user


def account_confirm_email(*, token: str, ip: str | None = None) -> User:
    """Follow the emailed link: a validating account becomes an active member."""
    try:
        data = signing.loads(token, salt=CONFIRM_SALT,
                             max_age=timedelta(days=settings.EMAIL_CONFIRMATION_DAYS))
    except signing.SignatureExpired:
        raise ValidationFailed("This confirmation link has expired.",
                               code="expired") from None
    except signing.BadSignature:
        raise ValidationFailed("This confirmation link is not valid.") from None
    with transaction.atomic():
        user = (User.objects.select_for_update().filter(pk=data.get("u")).first())
        if user is None or user.email.lower() != data.get("e"):
            raise ValidationFailed("This confirmation link is not valid.")
        if user.status != UserStatus.VALIDATING:
            raise Conflict("This account is already confirmed.", code="already_confirmed")
        user.status = UserStatus.ACTIVE
        old_group = user.group
        if old_group.name == "validating":
            user.group = UserGroup.objects.get(name="member")
        user.save(update_fields=["status", "group", "updated_at"])
        # The tracker keeps a member's record until told: an announce made before the
        # confirmation stored "not confirmed yet".
        member_changed_send(user.pk)
        _audit("user.email_confirmed", user=user, ip=ip,
               changes={"status": [UserStatus.VALIDATING, UserStatus.ACTIVE],
                        "group": [old_group.name, user.group.name]})
    return user


def invites_available(user: User) -> int:
    """Invites left this calendar month: the group's invite_allowance minus invites sent
    since the first of the month (revoked ones still count, or revoke+resend would be
    unlimited)."""
    if not user_has_perm(user, Perm.INVITE):
        return 0
    month_start = timezone.now().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    sent = Invite.objects.filter(inviter=user, created_at__gte=month_start).count()
    return max(0, user.group.invite_allowance - sent)


def invite_create(*, inviter: User, email: str, register_url: str, ip: str | None = None
                  ) -> Invite:
    """Send an invite by email; refused without the invite permission or allowance."""
    require_perm(inviter, Perm.INVITE, "Your class cannot send invites yet.")
    if registration_mode() == RegistrationMode.CLOSED:
        raise NotPermitted("Registration is closed, so invites cannot be used now.")
    email = _check_new_email(email)
    with transaction.atomic():
        # Serialize one member's invites so two tabs cannot both spend the last one.
        User.objects.select_for_update().filter(pk=inviter.pk).first()
        if invites_available(inviter) <= 0:
            raise NotPermitted("You have no invites left this month.", code="no_invites")
        if Invite.objects.filter(email__iexact=email, used_by__isnull=True,
                                 revoked_at__isnull=True,
                                 expires_at__gt=timezone.now()).exists():
            raise ValidationFailed("This address already has a pending invite.",
                                   field="email")
        invite = Invite.objects.create(
            inviter=inviter, email=email,
            expires_at=timezone.now() + timedelta(days=settings.INVITE_VALID_DAYS))
        statistics_bump(user_id=inviter.pk, counter="invites_sent_count")
        _audit("invite.create", user=inviter, ip=ip, metadata={"invite_id": str(invite.pk),
                                                              "email": email})
        link = f"{register_url}?{urlencode({'invite': invite.code})}"
        transaction.on_commit(lambda: send_mail(
            f"You are invited to {settings.SITE_NAME}",
            f"{inviter.username} invites you to join {settings.SITE_NAME}.\n\n"
            f"Register here before {invite.expires_at:%Y-%m-%d}:\n\n{link}\n",
            settings.DEFAULT_FROM_EMAIL, [email]))
    return invite


def invite_revoke(*, user: User, invite_id: uuid.UUID | str, ip: str | None = None) -> Invite:
    with transaction.atomic():
        invite = Invite.objects.select_for_update().filter(pk=invite_id, inviter=user).first()
        if invite is None:
            raise NotFound("No such invite.")
        if invite.used_by_id is not None or invite.revoked_at is not None:
            raise Conflict("This invite was already used or revoked.")
        invite.revoked_at = timezone.now()
        invite.save(update_fields=["revoked_at", "updated_at"])
        _audit("invite.revoke", user=user, ip=ip, metadata={"invite_id": str(invite.pk)})
    return invite


# --- Login --------------------------------------------------------------------------------

def _account_id_key(login: str) -> str:
    """Who the login names: by user id when it names an account (so its username and its
    email share one budget), else the login text itself."""
    login = login.strip()
    user_id = (User.objects.filter(Q(username__iexact=login) | Q(email__iexact=login))
               .values_list("pk", flat=True).first())
    if user_id is not None:
        return f"user:{user_id}"
    return f"name:{hashlib.sha256(login.lower().encode()).hexdigest()}"


def _password_keys(account: str, ip: str | None) -> list[tuple[str, int]]:
    """Failed passwords count per account *and source address*, so nobody can lock a
    member (staff included) out of their account from elsewhere by failing on purpose;
    the per-address budget bounds how many accounts one source may try."""
    keys = [(f"login:fail:{account}:ip:{ip or '-'}", settings.LOGIN_MAX_FAILURES_PER_ACCOUNT)]
    if ip:
        keys.append((f"login:fail:ip:{ip}", settings.LOGIN_MAX_FAILURES_PER_IP))
    return keys


def _second_factor_keys(user_id: Any, ip: str | None) -> list[tuple[str, int]]:
    """Wrong second-factor codes count per account from any source: only someone who
    knows the password gets this far, and a correct password must not reset this count
    (that let password + wrong codes repeat forever). Only a full login clears it."""
    keys = [(f"login:2fa:user:{user_id}", settings.LOGIN_MAX_2FA_FAILURES)]
    if ip:
        keys.append((f"login:fail:ip:{ip}", settings.LOGIN_MAX_FAILURES_PER_IP))
    return keys


def _limits_check(limits: list[tuple[str, int]], *,
                  message: str = "Too many failed logins. Try again in a few minutes.") -> None:
    counts = cache.get_many([key for key, _ in limits])
    for key, limit in limits:
        if int(counts.get(key) or 0) >= limit:
            raise RateLimited(message, retry_after=float(settings.LOGIN_FAILURE_WINDOW_SECONDS))


def _limits_count(limits: list[tuple[str, int]]) -> None:
    window = settings.LOGIN_FAILURE_WINDOW_SECONDS
    for key, _ in limits:
        # add() starts the window; incr() never extends it, so the lockout does end.
        cache.add(key, 0, window)
        try:
            cache.incr(key)
        except ValueError:
            cache.set(key, 1, window)


def login_rate_check(*, login: str, ip: str | None) -> None:
    """Refuse further password tries once this account has failed too often from this
    address, or this address too often overall, within LOGIN_FAILURE_WINDOW_SECONDS."""
    _limits_check(_password_keys(_account_id_key(login), ip))


def _login_failed(*, login: str, ip: str | None, user: User | None, reason: str,
                  user_agent: str = "") -> None:
    if reason == "2fa" and user is not None:
        _limits_count(_second_factor_keys(user.pk, ip))
    else:
        account = f"user:{user.pk}" if user is not None else _account_id_key(login)
        _limits_count(_password_keys(account, ip))
    with transaction.atomic():
        audit_log_write(action="login.failed", actor=None,
                        target_type=TargetType.USER if user else "",
                        target_id=user.pk if user else None, ip_address=ip,
                        user_agent=user_agent,
                        metadata={"login": login[:254], "reason": reason})


@dataclass(frozen=True)
class LoginResult:
    user: User
    needs_2fa: bool
    must_enrol_2fa: bool


def login_attempt(*, login: str, password: str, ip: str | None, user_agent: str = ""
                  ) -> LoginResult:
    """Check a username-or-email and password. Raises RateLimited, ValidationFailed (wrong
    credentials, one message whichever part was wrong) or NotPermitted (banned, disabled,
    validating: said clearly, only to someone who knew the password)."""
    login = (login or "").strip()
    login_rate_check(login=login, ip=ip)
    user = (User.objects.select_related("group")
            .filter(Q(username__iexact=login) | Q(email__iexact=login)).first())
    if user is None:
        User().set_password(password)  # same cost as a wrong password
        _login_failed(login=login, ip=ip, user=None, reason="unknown", user_agent=user_agent)
        raise ValidationFailed("Please enter a correct username and password.",
                               code="bad_credentials")
    if not user.check_password(password):
        _login_failed(login=login, ip=ip, user=user, reason="password",
                      user_agent=user_agent)
        raise ValidationFailed("Please enter a correct username and password.",
                               code="bad_credentials")
    refusal = account_access_refusal(user=user, ip=ip)
    if refusal is not None:
        with transaction.atomic():
            _audit("login.refused", user=user, actor=None, ip=ip, user_agent=user_agent,
                   metadata={"reason": refusal})
        raise NotPermitted(refusal, code="login_refused")
    two_factor = UserTwoFactor.objects.filter(user=user, is_enabled=True).exists()
    return LoginResult(user=user, needs_2fa=two_factor,
                       must_enrol_2fa=not two_factor and user.group.requires_2fa)


def login_succeeded(*, user: User, ip: str | None, user_agent: str = "",
                    method: str = "password") -> None:
    """Record a completed login (after the second factor, when there is one): the failure
    counts of this account from this source, and its second-factor count, start again."""
    cache.delete_many([f"login:fail:user:{user.pk}:ip:{ip or '-'}",
                       f"login:2fa:user:{user.pk}"])
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(last_ip=ip, last_seen_at=timezone.now())
        _audit("login.success", user=user, ip=ip, user_agent=user_agent,
               metadata={"method": method})


def login_failure_record(*, login: str, ip: str | None, user_agent: str = "",
                         reason: str = "password") -> None:
    """Count and audit a failed login made through another form (Django admin's)."""
    login = (login or "").strip()
    user = (User.objects.filter(Q(username__iexact=login) | Q(email__iexact=login)).first()
            if login else None)
    _login_failed(login=login, ip=ip, user=user, reason=reason, user_agent=user_agent)


def login_second_factor_needed(user: User) -> tuple[bool, bool]:
    """(has 2FA on, must enrol first) for a member who just proved their password."""
    enabled = UserTwoFactor.objects.filter(user=user, is_enabled=True).exists()
    return enabled, not enabled and user.group.requires_2fa


# --- Sessions -----------------------------------------------------------------------------

def session_revoke(*, user: User, session_id: uuid.UUID | str, ip: str | None = None,
                   current_session_key: str | None = None) -> UserSession:
    """A member ends one of their own sessions (any device, this one included)."""
    with transaction.atomic():
        row = (UserSession.objects.select_for_update()
               .filter(pk=session_id, user=user).first())
        if row is None:
            raise NotFound("No such session.")
        if row.revoked_at is not None:
            raise Conflict("This session has already ended.")
        row.revoked_at = timezone.now()
        row.save(update_fields=["revoked_at"])
        session_data_drop([row.token_hash])
        publish(SessionRevoked(user_id=user.pk, payload={
            "session_key_hash": row.token_hash, "reason": "revoked"}))
        _audit("session.revoke", user=user, ip=ip,
               metadata={"session_id": str(row.pk),
                         "current": current_session_key is not None
                         and session_key_hash(current_session_key) == row.token_hash})
    return row


# --- Password, email, passkey, privacy -----------------------------------------------------

def _password_recheck(user: User, password: str, *, field: str, message: str) -> None:
    """The password asked again before a sensitive setting changes. Wrong answers count
    per account, so a left-open session cannot be used to guess the password."""
    limits = [(f"pwcheck:user:{user.pk}", settings.PASSWORD_RECHECK_MAX_FAILURES)]
    _limits_check(limits, message="Too many wrong passwords. Try again in a few minutes.")
    if not user.check_password(password or ""):
        _limits_count(limits)
        raise ValidationFailed(message, field=field)


def password_change(*, user: User, old_password: str, new_password: str,
                    current_session_key: str | None, ip: str | None = None) -> None:
    """Change the password; every other session ends (this one stays logged in)."""
    _password_recheck(user, old_password, field="old_password",
                      message="Your current password is not correct.")
    try:
        validate_password(new_password, user)
    except ValidationError as exc:
        raise ValidationFailed(" ".join(exc.messages), field="new_password") from None
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password", "updated_at"])
        password_take_effect(user=user, actor=user, ip=ip,
                             keep_session_key=current_session_key)


def email_change(*, user: User, password: str, new_email: str, ip: str | None = None
                 ) -> None:
    _password_recheck(user, password, field="password", message="Your password is not correct.")
    email = _check_new_email(new_email, exclude_user=user)
    with transaction.atomic():
        old = user.email
        user.email = email
        user.save(update_fields=["email", "updated_at"])
        _audit("user.email_change", user=user, ip=ip, changes={"email": [old, email]})


def passkey_reset(*, user: User, actor: User, ip: str | None = None) -> str:
    """A new passkey; the old one stops working at once (tracker cache dropped after
    commit). The owner resets their own; staff with USERS_EDIT may reset anyone's."""
    if actor.pk != user.pk:
        require_perm(actor, Perm.USERS_EDIT)
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        old = locked.passkey
        new = locked.reset_passkey()
        locked.save(update_fields=["passkey", "updated_at"])
        member_changed_send(user.pk, passkeys=(old,))
        # The passkey itself is a secret: the audit row says that it changed, not to what.
        _audit("user.passkey_reset", user=locked, actor=actor, ip=ip)
    user.passkey = new
    return new


def privacy_update(*, user: User, settings_: dict[str, bool], ip: str | None = None
                   ) -> UserPrivacy:
    unknown = set(settings_) - set(UserPrivacy.SETTINGS)
    if unknown:
        raise ValidationFailed(f"Unknown privacy settings: {', '.join(sorted(unknown))}.")
    with transaction.atomic():
        privacy, _ = UserPrivacy.objects.select_for_update().get_or_create(user=user)
        changes = {}
        for name, value in settings_.items():
            if getattr(privacy, name) != bool(value):
                changes[name] = [getattr(privacy, name), bool(value)]
                setattr(privacy, name, bool(value))
        if changes:
            privacy.save()
            _audit("user.privacy_change", user=user, ip=ip, changes=changes)
    return privacy


# --- Two-factor ---------------------------------------------------------------------------

BACKUP_CODE_COUNT = 10
TOTP_VALID_WINDOW = 1  # steps either side of now, for clock drift


def _backup_hash(user_id: Any, code: str) -> str:
    # 80 random bits per code: a keyed SHA-256 is enough; a slow hash would make checking
    # ten codes at login cost seconds.
    normalized = code.replace("-", "").replace(" ", "").upper()
    digest = hmac.new(settings.SECRET_KEY.encode(), f"{user_id}:{normalized}".encode(),
                      hashlib.sha256).hexdigest()
    return f"hmac-sha256${digest}"


def _new_backup_codes(user_id: Any) -> tuple[list[str], list[str]]:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    codes = []
    for _ in range(BACKUP_CODE_COUNT):
        raw = "".join(secrets.choice(alphabet) for _ in range(16))
        codes.append("-".join(raw[i:i + 4] for i in range(0, 16, 4)))
    return codes, [_backup_hash(user_id, c) for c in codes]


def two_factor_provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.username,
                                               issuer_name=settings.SITE_NAME)


def two_factor_begin(*, user: User) -> UserTwoFactor:
    """Start (or restart) enrolment with a fresh secret; 2FA is not on until confirmed."""
    with transaction.atomic():
        row = UserTwoFactor.objects.select_for_update().filter(user=user).first()
        if row is not None and row.is_enabled:
            raise Conflict("Two-factor authentication is already on.")
        if row is None:
            row = UserTwoFactor(user=user)
        row.secret = pyotp.random_base32()
        row.backup_codes = []
        row.last_used_step = None
        row.save()
    return row


def _totp_step(secret: str, code: str, last_used_step: int | None) -> int | None:
    """The time step `code` is valid for (within the drift window) if it is newer than the
    last one used, else None: a code seen once is refused forever after."""
    code = re.sub(r"\s", "", code or "")
    if not re.fullmatch(r"\d{6}", code):
        return None
    totp = pyotp.TOTP(secret)
    now_step = totp.timecode(timezone.now())
    for step in range(now_step - TOTP_VALID_WINDOW, now_step + TOTP_VALID_WINDOW + 1):
        if last_used_step is not None and step <= last_used_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def two_factor_confirm(*, user: User, code: str, ip: str | None = None) -> list[str]:
    """Turn 2FA on with a first code; returns the backup codes (shown once, stored hashed)."""
    with transaction.atomic():
        row = UserTwoFactor.objects.select_for_update().filter(user=user).first()
        if row is None or not row.secret:
            raise ValidationFailed("Start the enrolment first.")
        if row.is_enabled:
            raise Conflict("Two-factor authentication is already on.")
        step = _totp_step(row.secret, code, row.last_used_step)
        if step is None:
            raise ValidationFailed("That code is not right. Check your device's clock and "
                                   "enter the current code.", field="code")
        codes, hashes = _new_backup_codes(user.pk)
        row.is_enabled = True
        row.confirmed_at = timezone.now()
        row.last_used_step = step
        row.last_used_at = timezone.now()
        row.backup_codes = hashes
        row.save()
        _audit("user.2fa_enable", user=user, ip=ip)
    return codes


def two_factor_verify(*, user: User, code: str, ip: str | None = None,
                      user_agent: str = "") -> str:
    """Check a TOTP or backup code at login. Returns "totp" or "backup"; a backup code is
    spent. Wrong codes count towards the login rate limit and are audited."""
    _limits_check(_second_factor_keys(user.pk, ip))
    with transaction.atomic():
        row = UserTwoFactor.objects.select_for_update().filter(user=user,
                                                               is_enabled=True).first()
        if row is None:
            raise ValidationFailed("Two-factor authentication is not on for this account.")
        step = _totp_step(row.secret, code, row.last_used_step)
        if step is not None:
            row.last_used_step = step
            row.last_used_at = timezone.now()
            row.save(update_fields=["last_used_step", "last_used_at", "updated_at"])
            return "totp"
        hashed = _backup_hash(user.pk, code or "")
        if hashed in row.backup_codes:
            row.backup_codes = [h for h in row.backup_codes if h != hashed]
            row.last_used_at = timezone.now()
            row.save(update_fields=["backup_codes", "last_used_at", "updated_at"])
            _audit("user.2fa_backup_code_used", user=user, ip=ip,
                   metadata={"remaining": len(row.backup_codes)})
            return "backup"
    _login_failed(login=user.username, ip=ip, user=user, reason="2fa", user_agent=user_agent)
    raise ValidationFailed("That code is not right, or was already used.", field="code")


def two_factor_disable(*, user: User, password: str, ip: str | None = None) -> None:
    if user.group.requires_2fa:
        raise NotPermitted("Your class requires two-factor authentication.")
    _password_recheck(user, password, field="password", message="Your password is not correct.")
    with transaction.atomic():
        deleted, _ = UserTwoFactor.objects.filter(user=user).delete()
        if not deleted:
            raise Conflict("Two-factor authentication is not on.")
        _audit("user.2fa_disable", user=user, ip=ip)


def two_factor_backup_codes_regenerate(*, user: User, password: str, ip: str | None = None
                                       ) -> list[str]:
    _password_recheck(user, password, field="password", message="Your password is not correct.")
    with transaction.atomic():
        row = UserTwoFactor.objects.select_for_update().filter(user=user,
                                                               is_enabled=True).first()
        if row is None:
            raise Conflict("Two-factor authentication is not on.")
        codes, row.backup_codes = _new_backup_codes(user.pk)
        row.save(update_fields=["backup_codes", "updated_at"])
        _audit("user.2fa_backup_codes_regenerate", user=user, ip=ip)
    return codes


# --- Classes ------------------------------------------------------------------------------

def user_group_set(*, actor: User, user: User, group: UserGroup, reason: str = "",
                   ip: str | None = None) -> User:
    """Staff move a member to another class (audited, notified, tracker cache dropped,
    open sockets re-authorized). Nobody without GROUPS_EDIT may hand out a class ranked at
    or above their own, nor move a member who holds one (permissions.rank_allows)."""
    require_perm(actor, Perm.USERS_EDIT)
    if not rank_allows(actor, group):
        raise NotPermitted("You may only assign classes below your own.")
    with transaction.atomic():
        locked = User.objects.select_for_update().select_related("group").get(pk=user.pk)
        if not rank_allows(actor, locked.group):
            raise NotPermitted("You may only change members ranked below you.")
        old = locked.group
        if old.pk == group.pk:
            return locked
        locked.group = group
        locked.save(update_fields=["group", "updated_at"])
        group_take_effect(user=locked, old=old, actor=actor, ip=ip, reason=reason.strip())
    return locked


def user_status_set(*, actor: User, user: User, status: UserStatus | str, reason: str = "",
                    ip: str | None = None) -> User:
    """Staff disable (or re-enable) an account: audited, and a member no longer active
    loses every session and open socket at once (status_take_effect)."""
    require_perm(actor, Perm.USERS_EDIT)
    try:
        status = UserStatus(str(status))
    except ValueError:
        raise ValidationFailed("Unknown account status.", field="status") from None
    if user.pk == actor.pk:
        raise ValidationFailed("You cannot change your own account's status.", field="status")
    with transaction.atomic():
        locked = User.objects.select_for_update().select_related("group").get(pk=user.pk)
        if not rank_allows(actor, locked.group):
            raise NotPermitted("You may only change members ranked below you.")
        old = locked.status
        if old == status:
            return locked
        locked.status = status
        locked.save(update_fields=["status", "updated_at"])
        status_take_effect(user=locked, old_status=old, old_deleted_at=locked.deleted_at,
                           actor=actor, ip=ip, reason=reason.strip())
    return locked


# --- Take effect --------------------------------------------------------------------------
#
# What a change of class, status or password does, wherever it was made: the services
# above (after their checks), the automatic class job and Django admin's save (which has
# its own checks: the form and the rank rule) all call these. Trusted: no permission
# check. Call inside the transaction that wrote the change; everything they publish or
# drop happens after commit. Bans have domain.moderation.services.ban_take_effect, warnings
# domain.moderation.warnings.warning_take_effect.


def group_take_effect(*, user: User, old: UserGroup, actor: User | None,
                      ip: str | None = None, reason: str = "") -> None:
    """`user` (already saved) moved from class `old` to `user.group`: audited, the
    tracker's record dropped, the member notified, their sockets re-authorized (a lost
    moderation stream or staff room is unsubscribed), and every session ended when the
    new class requires a second factor they have not enrolled."""
    new = user.group
    promoted = new.rank > old.rank
    audit_log_write(action="user.group_change", actor=actor, target_type=TargetType.USER,
                    target_id=user.pk, ip_address=ip,
                    changes={"group": [old.name, new.name]},
                    metadata={"reason": reason, "automatic": actor is None})
    member_changed_send(user.pk, passkeys=(user.passkey,))
    if (new.requires_2fa and not old.requires_2fa
            and not UserTwoFactor.objects.filter(user=user, is_enabled=True).exists()):
        # A session that logged in under the old class never met the new class's second
        # factor: it ends (sockets too), and the next login goes through enrolment.
        sessions_revoke_all(user_id=user.pk, reason="2fa_required")
    publish(AccessChanged(user_id=user.pk, payload={"reason": "group"}))
    member_notification_send(
        user_id=user.pk, kind="group_change",
        title=f"{'Promoted' if promoted else 'Moved'} to {new.display_name}",
        body=(f"Your class changed from {old.display_name} to {new.display_name}. "
              f"{reason}").strip(),
        actor_id=actor.pk if actor is not None else None,
        target_type=TargetType.USER_GROUP, target_id=new.pk,
        payload={"from": old.name, "to": new.name})


def status_take_effect(*, user: User, old_status: str, old_deleted_at: Any,
                       actor: User | None, ip: str | None = None, reason: str = "") -> None:
    """`user` (already saved) changed status (or was deleted or restored): audited, the
    tracker's record dropped, and a member who is no longer active loses every session
    and open socket; one who is active again gets their sockets re-authorized."""
    changes: dict[str, Any] = {}
    if old_status != user.status:
        changes["status"] = [str(old_status), str(user.status)]
    if old_deleted_at != user.deleted_at:
        changes["deleted_at"] = [old_deleted_at.isoformat() if old_deleted_at else None,
                                 user.deleted_at.isoformat() if user.deleted_at else None]
    if not changes:
        return
    audit_log_write(action="user.status_change", actor=actor, target_type=TargetType.USER,
                    target_id=user.pk, ip_address=ip, changes=changes,
                    metadata={"reason": reason})
    member_changed_send(user.pk, passkeys=(user.passkey,))
    if not user.is_active:
        sessions_revoke_all(user_id=user.pk, reason="disabled")
    publish(AccessChanged(user_id=user.pk, payload={"reason": "status"}))


def password_take_effect(*, user: User, actor: User | None, ip: str | None = None,
                         keep_session_key: str | None = None) -> None:
    """`user`'s password (already saved) was set or changed: every session ends but the
    one named (the member's own, when they changed it themselves), sockets included, and
    the change is audited (never the password)."""
    sessions_revoke_all(user_id=user.pk, reason="password_change",
                        except_session_key=keep_session_key)
    audit_log_write(action="user.password_change", actor=actor if actor is not None else user,
                    target_type=TargetType.USER, target_id=user.pk, ip_address=ip,
                    metadata={"by_staff": actor is not None and actor.pk != user.pk,
                              "usable": user.has_usable_password()})


def _meets(group: UserGroup, stats: UserStatistics, age_days: int) -> bool:
    if group.min_uploaded is not None and stats.uploaded < group.min_uploaded:
        return False
    if group.min_ratio is not None and stats.downloaded > 0 and (
            Decimal(stats.uploaded) / Decimal(stats.downloaded) < group.min_ratio):
        return False
    if group.min_account_age_days is not None and age_days < group.min_account_age_days:
        return False
    return group.min_uploads is None or stats.uploads_count >= group.min_uploads


def group_auto_apply(*, now: Any = None) -> list[tuple[uuid.UUID, str, str]]:
    """Promote and demote members between the automatic classes (user_groups.auto_promote
    with their min_* rules; `member` is the floor). Classes staff assigned by hand (VIP,
    uploader, staff...) are never touched. Returns (user_id, old, new) per change; running
    twice changes nothing the second time."""
    now = now or timezone.now()
    ladder = list(UserGroup.objects.filter(auto_promote=True).order_by("rank"))
    floor = UserGroup.objects.get(name="member")
    managed = {floor.pk, *(g.pk for g in ladder)}
    changes: list[tuple[uuid.UUID, str, str]] = []
    candidates = (User.objects.filter(group_id__in=managed, status=UserStatus.ACTIVE,
                                      deleted_at__isnull=True)
                  .select_related("group", "statistics").order_by("pk"))
    for user in candidates.iterator(chunk_size=500):
        stats = getattr(user, "statistics", None)
        if stats is None:
            continue
        age_days = (now - user.created_at).days
        target = floor
        for group in ladder:
            if _meets(group, stats, age_days):
                target = group
        if target.pk == user.group_id:
            continue
        with transaction.atomic():
            locked = (User.objects.select_for_update().select_related("group")
                      .filter(pk=user.pk, group_id=user.group_id).first())
            if locked is None:
                continue  # changed meanwhile (by staff): leave it
            old = locked.group
            locked.group = target
            locked.save(update_fields=["group", "updated_at"])
            promoted = target.rank > old.rank
            reason = ("You met the requirements of the next class." if promoted else
                      "You no longer meet the requirements of your class.")
            group_take_effect(user=locked, old=old, actor=None, reason=reason)
        changes.append((user.pk, old.name, target.name))
        log.info("group_auto_apply: %s %s -> %s", user.pk, old.name, target.name)
    return changes


# --- Profile ------------------------------------------------------------------------------


def profile_update(*, user: User, profile_text: str, title: str | None = None,
                   avatar: bytes | None = None, remove_avatar: bool = False,
                   ip: str | None = None) -> User:
    """A member edits their own profile: the text (kept as written and shown through the
    description sanitizer), the title (only with CUSTOM_TITLE; None leaves it), and an
    avatar checked from its own bytes and stored as a clean copy encoded again from its
    pixels (domain/accounts/avatars.py), or removed. The file replaced is deleted after
    commit."""
    require_perm(user, Perm.SITE_ACCESS)
    text = str(profile_text or "").replace("\r\n", "\n")
    if len(text) > settings.PROFILE_TEXT_MAX:
        raise ValidationFailed(f"The profile text is at most {settings.PROFILE_TEXT_MAX:,} "
                               "characters.", field="profile_text")
    if title is not None:
        require_perm(user, Perm.CUSTOM_TITLE)
        title = " ".join(str(title).split())
        if len(title) > 64:
            raise ValidationFailed("A title is at most 64 characters.", field="title")
    clean = None
    if avatar is not None:
        clean = avatar_clean(avatar, max_bytes=settings.AVATAR_MAX_BYTES,
                             max_side=settings.AVATAR_MAX_SIDE)
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        changes: dict[str, Any] = {}
        fields = ["updated_at"]
        if locked.profile_text != text:
            changes["profile_text"] = "changed"
            locked.profile_text = text
            fields.append("profile_text")
        if title is not None and locked.title != title:
            changes["title"] = [locked.title, title]
            locked.title = title
            fields.append("title")
        old_file = locked.avatar.name if locked.avatar else ""
        if clean is not None:
            digest = hashlib.sha256(clean.data).hexdigest()[:16]
            name = f"{locked.pk.hex}-{digest}.{clean.info.kind}"  # upload_to adds avatars/
            if f"avatars/{name}" != old_file:
                locked.avatar.save(name, ContentFile(clean.data), save=False)
                changes["avatar"] = [old_file, locked.avatar.name]
                fields.append("avatar")
        elif remove_avatar and old_file:
            locked.avatar = ""
            changes["avatar"] = [old_file, ""]
            fields.append("avatar")
        if len(fields) > 1:
            locked.save(update_fields=fields)
            _audit("user.profile_edit", user=locked, ip=ip, changes=changes)
            if "avatar" in changes and old_file:
                transaction.on_commit(lambda: default_storage.delete(old_file))
    return locked
