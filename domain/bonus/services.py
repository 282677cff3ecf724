"""Spending and moving points. Every change of a balance writes its ledger row in the same
transaction, with the balance after it, so users.bonus_points always equals the ledger's sum.

Overdraw is impossible by construction: a debit is one conditional UPDATE
(`... WHERE bonus_points >= amount`) that also takes the member's row lock, so two
concurrent spends are serialized by PostgreSQL and the second sees the first's result.
Where two members are touched (a gift), both rows are locked in id order first, the same
order the earning period locks in, so the two never deadlock.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from domain.accounts.models import User, UserStatistics, UserStatus
from domain.accounts.permissions import Perm, require_perm
from domain.base import TargetType
from domain.bonus.models import BonusTransaction, FreeleechToken, TokenStatus, TransactionType
from domain.catalog.models import Torrent
from domain.community.models import NotificationKind
from domain.community.notifications import notification_send
from domain.errors import Conflict, NotFound, ValidationFailed
from domain.events import member_stats_changed
from domain.moderation.services import audit_log_write
from domain.tracker.cache import invalidate_user
from domain.tracker.models import Peer

log = logging.getLogger(__name__)

GIB = 1024**3
CENT = Decimal("0.01")
# Above any balance the ledger's numeric column holds: a larger amount is refused outright.
POINTS_MAX = Decimal(10) ** 15


def _price(setting: str) -> Decimal:
    return Decimal(str(getattr(settings, setting)))


def _points(value: Any, *, field: str = "amount") -> Decimal:
    """A positive amount of points with at most two decimals."""
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationFailed("Enter a number of points, like 25 or 12.50.",
                               field=field) from None
    if not amount.is_finite() or amount <= 0:
        raise ValidationFailed("The amount must be more than zero.", field=field)
    if amount >= POINTS_MAX:
        # "1e400" is a finite Decimal that quantize() cannot represent (InvalidOperation).
        raise ValidationFailed("That is more points than anyone has.", field=field)
    if amount != amount.quantize(CENT, rounding=ROUND_DOWN):
        raise ValidationFailed("Points have at most two decimals.", field=field)
    return amount


def _lock_users(user_ids: Iterable[uuid.UUID]) -> None:
    # Id order: see the module docstring (no deadlock with gifts or the earning period).
    list(User.objects.select_for_update().filter(pk__in=set(user_ids)).order_by("pk")
         .values_list("pk", flat=True))


def _debit(*, user_id: uuid.UUID, amount: Decimal, transaction_type: str, description: str,
           field: str = "amount", **fields: Any) -> BonusTransaction:
    """Take `amount` from a member, or raise without touching anything."""
    taken = User.objects.filter(pk=user_id, bonus_points__gte=amount).update(
        bonus_points=F("bonus_points") - amount)
    balance = User.objects.filter(pk=user_id).values_list("bonus_points", flat=True).get()
    if not taken:
        raise ValidationFailed(
            f"That costs {amount:,} points and you have {balance:,}.",
            code="insufficient_points", field=field)
    member_stats_changed([user_id])
    return BonusTransaction.objects.create(
        user_id=user_id, transaction_type=transaction_type, amount=-amount,
        balance_after=balance, description=description[:255], **fields)


def _credit(*, user_id: uuid.UUID, amount: Decimal, transaction_type: str, description: str,
            **fields: Any) -> BonusTransaction:
    User.objects.filter(pk=user_id).update(bonus_points=F("bonus_points") + amount)
    balance = User.objects.filter(pk=user_id).values_list("bonus_points", flat=True).get()
    member_stats_changed([user_id])
    return BonusTransaction.objects.create(
        user_id=user_id, transaction_type=transaction_type, amount=amount,
        balance_after=balance, description=description[:255], **fields)


def bonus_buy_upload(*, user: User, gib: int) -> BonusTransaction:
    """Buy `gib` GiB of upload credit (added to the member's credited upload)."""
    require_perm(user, Perm.BONUS_SPEND)
    if not isinstance(gib, int) or isinstance(gib, bool) or not 1 <= gib <= \
            settings.BONUS_UPLOAD_MAX_GIB:
        raise ValidationFailed(
            f"Buy between 1 and {settings.BONUS_UPLOAD_MAX_GIB} GiB at a time.", field="gib")
    cost = _price("BONUS_UPLOAD_PRICE_PER_GIB") * gib
    with transaction.atomic():
        entry = _debit(user_id=user.pk, amount=cost,
                       transaction_type=TransactionType.PURCHASE_UPLOAD,
                       description=f"{gib} GiB upload credit", field="gib",
                       metadata={"bytes": gib * GIB})
        stats, _ = UserStatistics.objects.get_or_create(user_id=user.pk)
        UserStatistics.objects.filter(pk=stats.pk).update(uploaded=F("uploaded") + gib * GIB)
        # The tracker may hold the member's ratio in its cache.
        invalidate_user(user.pk)
    return entry


def bonus_buy_tokens(*, user: User, quantity: int) -> list[FreeleechToken]:
    """Buy freeleech tokens; they wait as `available` until used on a torrent."""
    require_perm(user, Perm.BONUS_SPEND)
    limit = settings.BONUS_TOKEN_MAX_PER_PURCHASE
    if not isinstance(quantity, int) or isinstance(quantity, bool) or not 1 <= quantity <= limit:
        raise ValidationFailed(f"Buy between 1 and {limit} tokens at a time.",
                               field="quantity")
    cost = _price("BONUS_TOKEN_PRICE") * quantity
    with transaction.atomic():
        entry = _debit(user_id=user.pk, amount=cost,
                       transaction_type=TransactionType.PURCHASE_TOKEN,
                       description=f"{quantity} freeleech token{'s' if quantity > 1 else ''}",
                       field="quantity")
        tokens = FreeleechToken.objects.bulk_create(
            FreeleechToken(user_id=user.pk, status=TokenStatus.AVAILABLE, source="purchase",
                           max_download_bytes=settings.BONUS_TOKEN_MAX_DOWNLOAD_BYTES)
            for _ in range(quantity))
        entry.metadata = {"tokens": [str(t.pk) for t in tokens]}
        entry.save(update_fields=["metadata"])
    return tokens


def bonus_gift(*, sender: User, recipient_username: str, amount: Any,
               message: str = "") -> BonusTransaction:
    """Give points to another member, with a message they are notified of."""
    require_perm(sender, Perm.BONUS_SPEND)
    points = _points(amount)
    maximum = _price("BONUS_GIFT_MAX")
    if points > maximum:
        raise ValidationFailed(f"A gift is at most {maximum:,} points.", field="amount")
    message = (message or "").strip()
    if len(message) > settings.BONUS_GIFT_MESSAGE_MAX_LENGTH:
        raise ValidationFailed(
            f"The message is at most {settings.BONUS_GIFT_MESSAGE_MAX_LENGTH} characters.",
            field="message")
    name = (recipient_username or "").strip()
    recipient = User.objects.filter(username__iexact=name, status=UserStatus.ACTIVE,
                                    deleted_at__isnull=True).first() if name else None
    if recipient is None:
        raise ValidationFailed(f"There is no active member called “{name}”.",
                               code="unknown_recipient", field="recipient")
    if recipient.pk == sender.pk:
        raise ValidationFailed("You cannot gift points to yourself.", field="recipient")
    with transaction.atomic():
        _lock_users([sender.pk, recipient.pk])
        sent = _debit(user_id=sender.pk, amount=points, transaction_type=TransactionType.GIFT_SENT,
                      description=f"Gift to {recipient.username}", counterparty_id=recipient.pk,
                      metadata={"message": message})
        _credit(user_id=recipient.pk, amount=points,
                transaction_type=TransactionType.GIFT_RECEIVED,
                description=f"Gift from {sender.username}", counterparty_id=sender.pk,
                metadata={"message": message})
        notification_send(user_id=recipient.pk, kind=NotificationKind.BONUS_GIFT,
                          title=f"{sender.username} gave you {points:,} bonus points",
                          body=message, url="/bonus/", actor_id=sender.pk,
                          target_type=TargetType.USER, target_id=sender.pk)
    return sent


def bonus_adjust(*, acting_user: User, user_id: uuid.UUID, amount: Any, reason: str,
                 ip_address: str | None = None) -> BonusTransaction:
    """Staff: add (or, negative, take) points, with the reason in the ledger and audit log."""
    require_perm(acting_user, Perm.USERS_EDIT)
    text = str(amount if amount is not None else "").strip()
    points = _points(text.removeprefix("-"))
    taking = text.startswith("-")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed("Say why the balance is adjusted.", field="reason")
    if not User.objects.filter(pk=user_id).exists():
        raise NotFound("No such member.")
    with transaction.atomic():
        move = _debit if taking else _credit
        entry = move(user_id=user_id, amount=points,
                     transaction_type=TransactionType.ADJUSTMENT, description=reason,
                     acting_user_id=acting_user.pk)
        audit_log_write(action="bonus.adjust", actor=acting_user, target_type=TargetType.USER,
                        target_id=user_id, ip_address=ip_address,
                        changes={"bonus_points": [str(entry.balance_after - entry.amount),
                                                  str(entry.balance_after)]},
                        metadata={"reason": reason, "transaction_id": str(entry.pk)})
    return entry


def freeleech_token_activate(*, user: User, torrent_id: uuid.UUID,
                             now: datetime | None = None) -> FreeleechToken:
    """Use one of the member's available tokens on a torrent: from now until it expires,
    the tracker credits the member no download on that torrent."""
    require_perm(user, Perm.BONUS_SPEND)
    now = now or timezone.now()
    torrent = Torrent.objects.filter(pk=torrent_id, status="approved",
                                     deleted_at__isnull=True).first()
    if torrent is None:
        raise NotFound("That torrent does not exist or is not available.")
    if torrent.is_freeleech and (torrent.freeleech_until is None
                                 or torrent.freeleech_until > now):
        raise ValidationFailed("That torrent is freeleech already: keep your token.",
                               field="torrent")
    if Peer.objects.filter(user_id=user.pk, torrent_id=torrent.pk, is_seeder=True).exists():
        raise ValidationFailed("You have that torrent complete already: keep your token.",
                               field="torrent")
    with transaction.atomic():
        if FreeleechToken.objects.filter(user_id=user.pk, torrent_id=torrent.pk,
                                         status=TokenStatus.ACTIVE).exists():
            raise Conflict("A token of yours is active on that torrent already.",
                           field="torrent")
        token = (FreeleechToken.objects.select_for_update(skip_locked=True)
                 .filter(user_id=user.pk, status=TokenStatus.AVAILABLE)
                 .order_by("created_at").first())
        if token is None:
            raise ValidationFailed("You have no unused freeleech token: buy one first.",
                                   code="no_token", field="torrent")
        token.status = TokenStatus.ACTIVE
        token.torrent_id = torrent.pk
        token.activated_at = now
        token.expires_at = now + timedelta(seconds=settings.BONUS_TOKEN_LIFETIME_SECONDS)
        if token.max_download_bytes is None:
            token.max_download_bytes = settings.BONUS_TOKEN_MAX_DOWNLOAD_BYTES
        try:
            with transaction.atomic():
                token.save()
        except IntegrityError:
            # A concurrent activation on the same torrent won the partial unique index.
            raise Conflict("A token of yours is active on that torrent already.",
                           field="torrent") from None
        invalidate_user(user.pk)
    return token


def freeleech_tokens_expire(*, now: datetime | None = None) -> int:
    """Expire active tokens past their time or download volume; returns how many.

    The volume is `downloaded_bytes`: what the tracker made free through the token, counted
    at announce against the cap and written by its flush (domain/tracker). Raw downloads
    from peer_history are not the measure: bytes charged past the cap, or downloaded while
    the whole torrent or site was freeleech, did not use the token.
    """
    now = now or timezone.now()
    with transaction.atomic():
        due = list(FreeleechToken.objects.select_for_update(skip_locked=True)
                   .filter(status=TokenStatus.ACTIVE)
                   .filter(_expired_condition(now))
                   .values_list("pk", "user_id"))
        if not due:
            return 0
        FreeleechToken.objects.filter(pk__in=[pk for pk, _ in due]).update(
            status=TokenStatus.EXPIRED, updated_at=now)
        for user_id in {user_id for _, user_id in due}:
            invalidate_user(user_id)
    log.info("expired %d freeleech tokens", len(due))
    return len(due)


def _expired_condition(now: datetime) -> Any:
    return Q(expires_at__lte=now) | Q(max_download_bytes__isnull=False,
                                      downloaded_bytes__gte=F("max_download_bytes"))


# --- request bounties (domain/catalog/requests.py moves points only through these) -------

def bonus_bounty_place(*, user_id: uuid.UUID, amount: Decimal, request_id: uuid.UUID,
                       title: str) -> BonusTransaction:
    """Take a bounty from a member, or raise ValidationFailed (field "amount") moving
    nothing when the balance is short. Call inside the vote's transaction."""
    return _debit(user_id=user_id, amount=amount, transaction_type=TransactionType.BOUNTY_PLACED,
                  description=f"Bounty on request: {title}",
                  metadata={"request_id": str(request_id)})


def bonus_bounty_credit(*, user_id: uuid.UUID, amount: Decimal, request_id: uuid.UUID,
                        title: str, awarded: bool, counterparty_id: uuid.UUID | None = None,
                        acting_user_id: uuid.UUID | None = None) -> BonusTransaction:
    """Pay a bounty to its filler (`awarded`) or back to a voter (a refund)."""
    kind = TransactionType.BOUNTY_AWARDED if awarded else TransactionType.BOUNTY_REFUND
    what = "Bounty won" if awarded else "Bounty refunded"
    return _credit(user_id=user_id, amount=amount, transaction_type=kind,
                   description=f"{what}: {title}", counterparty_id=counterparty_id,
                   acting_user_id=acting_user_id, metadata={"request_id": str(request_id)})


def bonus_bounty_reclaim(*, user_id: uuid.UUID, amount: Decimal, request_id: uuid.UUID,
                         title: str, acting_user_id: uuid.UUID | None = None
                         ) -> tuple[Decimal, BonusTransaction | None]:
    """Take back an awarded bounty from its filler when a fill is undone: as much of
    `amount` as the filler still has (balances never go negative). Returns what was
    taken and its ledger row (None when the filler had nothing left)."""
    with transaction.atomic():
        _lock_users([user_id])
        balance = User.objects.filter(pk=user_id).values_list("bonus_points", flat=True).get()
        taken = min(balance, amount)
        if taken <= 0:
            return Decimal("0"), None
        # A negative bounty_awarded row: the award reversed (a refund is money going
        # back to a voter, which this is not).
        entry = _debit(user_id=user_id, amount=taken,
                       transaction_type=TransactionType.BOUNTY_AWARDED,
                       description=f"Bounty returned (request unfilled): {title}",
                       acting_user_id=acting_user_id,
                       metadata={"request_id": str(request_id),
                                 "shortfall": str(amount - taken)})
    return taken, entry
