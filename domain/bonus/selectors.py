"""Reads of the economy: a member's balance, tokens and ledger; the store's prices; the
ledger invariant check."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.db.models import Case, IntegerField, QuerySet, Value, When

from domain.accounts.models import User
from domain.bonus.models import BonusTransaction, FreeleechToken, TokenStatus


@dataclass(frozen=True)
class StorePrices:
    upload_per_gib: Decimal
    upload_max_gib: int
    token: Decimal
    token_max_per_purchase: int
    token_lifetime_hours: int
    token_max_download_gib: Decimal
    gift_max: Decimal


def store_prices() -> StorePrices:
    return StorePrices(
        upload_per_gib=Decimal(str(settings.BONUS_UPLOAD_PRICE_PER_GIB)),
        upload_max_gib=settings.BONUS_UPLOAD_MAX_GIB,
        token=Decimal(str(settings.BONUS_TOKEN_PRICE)),
        token_max_per_purchase=settings.BONUS_TOKEN_MAX_PER_PURCHASE,
        token_lifetime_hours=settings.BONUS_TOKEN_LIFETIME_SECONDS // 3600,
        token_max_download_gib=(Decimal(settings.BONUS_TOKEN_MAX_DOWNLOAD_BYTES)
                                / 1024**3).quantize(Decimal("0.1")),
        gift_max=Decimal(str(settings.BONUS_GIFT_MAX)),
    )


def bonus_balance(*, user_id: uuid.UUID) -> Decimal:
    return User.objects.filter(pk=user_id).values_list("bonus_points", flat=True).get()


def tokens_for_user(*, user_id: uuid.UUID) -> QuerySet[FreeleechToken]:
    """The member's own tokens: unused first, then in use, then spent."""
    order = {TokenStatus.AVAILABLE: 0, TokenStatus.ACTIVE: 1, TokenStatus.EXPIRED: 2}

    rank = Case(*(When(status=s, then=Value(n)) for s, n in order.items()),
                output_field=IntegerField())
    return (FreeleechToken.objects.filter(user_id=user_id).select_related("torrent")
            .annotate(rank=rank).order_by("rank", "-activated_at", "-created_at"))


def transactions_for_user(*, user_id: uuid.UUID, limit: int = 50
                          ) -> QuerySet[BonusTransaction]:
    return (BonusTransaction.objects.filter(user_id=user_id)
            .select_related("counterparty", "torrent").order_by("-created_at")[:limit])


@dataclass(frozen=True)
class LedgerMismatch:
    user_id: uuid.UUID
    username: str
    balance: Decimal
    ledger_sum: Decimal


def ledger_mismatches() -> list[LedgerMismatch]:
    """Members whose balance is not the sum of their ledger.

    Hand-written SQL: one grouped pass over the ledger joined to users; the ORM's
    Subquery form runs a correlated sum per member.
    """
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT u.id, u.username, u.bonus_points, COALESCE(l.total, 0)
            FROM users u
            LEFT JOIN (SELECT user_id, SUM(amount) AS total FROM bonus_transactions
                       GROUP BY user_id) l ON l.user_id = u.id
            WHERE u.bonus_points <> COALESCE(l.total, 0)
            ORDER BY u.username
        """)
        return [LedgerMismatch(*row) for row in cursor.fetchall()]
