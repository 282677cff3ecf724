"""Spending: every change of a balance is a ledger row in the same transaction; concurrent
spends cannot overdraw; bad input changes nothing."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connections

from domain.accounts.models import User, UserStatistics
from domain.bonus.models import BonusTransaction, FreeleechToken
from domain.bonus.selectors import ledger_mismatches
from domain.bonus.services import bonus_adjust, bonus_buy_tokens, bonus_buy_upload, bonus_gift
from domain.community.models import Notification
from domain.errors import NotPermitted, ValidationFailed
from domain.moderation.models import AuditLog
from tests.domain.bonus.factories import fund
from tests.factories import make_user

GIB = 1024**3

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def prices(settings):
    settings.BONUS_UPLOAD_PRICE_PER_GIB = "100"
    settings.BONUS_TOKEN_PRICE = "250"
    settings.BONUS_TOKEN_MAX_DOWNLOAD_BYTES = 10 * GIB


def ledger(user) -> list[tuple[str, Decimal, Decimal]]:
    return [(t.transaction_type, t.amount, t.balance_after)
            for t in BonusTransaction.objects.filter(user=user).order_by("created_at")]


def test_buying_upload_credit_takes_the_price_and_adds_to_uploaded(member):
    fund(member, 500)

    bonus_buy_upload(user=member, gib=3)

    member.refresh_from_db()
    assert member.bonus_points == Decimal("200.00")
    assert UserStatistics.objects.get(user=member).uploaded == 3 * GIB
    assert ledger(member)[-1] == ("purchase_upload", Decimal("-300.00"), Decimal("200.00"))
    assert ledger_mismatches() == []


def test_buying_tokens_creates_available_tokens(member):
    fund(member, 600)

    tokens = bonus_buy_tokens(user=member, quantity=2)

    member.refresh_from_db()
    assert member.bonus_points == Decimal("100.00")
    assert [(t.status, t.max_download_bytes) for t in
            FreeleechToken.objects.filter(user=member)] == [("available", 10 * GIB)] * 2
    entry = BonusTransaction.objects.get(user=member, transaction_type="purchase_token")
    assert entry.amount == Decimal("-500.00")
    assert sorted(entry.metadata["tokens"]) == sorted(str(t.pk) for t in tokens)


def test_a_purchase_over_the_balance_changes_nothing(member):
    fund(member, 99)

    with pytest.raises(ValidationFailed, match="costs 100 points and you have 99") as error:
        bonus_buy_upload(user=member, gib=1)

    assert error.value.field == "gib"
    member.refresh_from_db()
    assert member.bonus_points == Decimal("99.00")
    assert len(ledger(member)) == 1
    assert not UserStatistics.objects.filter(user=member, uploaded__gt=0).exists()


@pytest.mark.parametrize("gib", [0, -1, 101, True, "3"])
def test_upload_amounts_out_of_range_are_refused(member, gib):
    fund(member, 100_000)
    with pytest.raises(ValidationFailed):
        bonus_buy_upload(user=member, gib=gib)


def test_a_gift_moves_points_with_a_message_and_notifies(member):
    friend = make_user()
    fund(member, 50)

    bonus_gift(sender=member, recipient_username=friend.username.upper(), amount="12.50",
               message="thanks for the <b>seed</b>")

    member.refresh_from_db()
    friend.refresh_from_db()
    assert (member.bonus_points, friend.bonus_points) == (Decimal("37.50"), Decimal("12.50"))
    sent, received = (BonusTransaction.objects.get(user=member, transaction_type="gift_sent"),
                      BonusTransaction.objects.get(user=friend))
    assert (sent.counterparty_id, received.counterparty_id) == (friend.pk, member.pk)
    assert received.metadata == {"message": "thanks for the <b>seed</b>"}
    note = Notification.objects.get(user=friend)
    assert note.body == "thanks for the <b>seed</b>" and member.username in note.title
    assert note.kind == "bonus_gift"
    assert ledger_mismatches() == []


@pytest.mark.parametrize(("amount", "recipient", "field", "message"), [
    ("-5", "friend", "amount", "more than zero"),
    ("0", "friend", "amount", "more than zero"),
    ("abc", "friend", "amount", "Enter a number"),
    ("1.005", "friend", "amount", "two decimals"),
    ("NaN", "friend", "amount", "more than zero"),
    ("1e400", "friend", "amount", "more points than anyone"),
    ("9" * 40, "friend", "amount", "more points than anyone"),
    ("10", "nobody-here", "recipient", "no active member"),
    ("10", "self", "recipient", "yourself"),
    ("60", "friend", "amount", "you have 50"),
])
def test_bad_gifts_are_refused_and_change_nothing(member, amount, recipient, field, message):
    friend = make_user()
    fund(member, 50)
    name = {"friend": friend.username, "self": member.username}.get(recipient, recipient)

    with pytest.raises(ValidationFailed, match=message) as error:
        bonus_gift(sender=member, recipient_username=name, amount=amount)

    assert error.value.field == field
    member.refresh_from_db()
    friend.refresh_from_db()
    assert (member.bonus_points, friend.bonus_points) == (Decimal("50.00"), 0)


def test_a_gift_to_a_banned_member_is_refused(member, banned):
    fund(member, 50)
    with pytest.raises(ValidationFailed, match="no active member"):
        bonus_gift(sender=member, recipient_username=banned.username, amount="1")


def test_members_without_the_spend_permission_cannot_spend(banned, member):
    with pytest.raises(NotPermitted):
        bonus_buy_upload(user=banned, gib=1)
    with pytest.raises(NotPermitted):
        bonus_buy_tokens(user=banned, quantity=1)
    with pytest.raises(NotPermitted):
        bonus_gift(sender=banned, recipient_username=member.username, amount="1")


def test_staff_adjustments_write_the_ledger_and_the_audit_log(member, sysop):
    bonus_adjust(acting_user=sysop, user_id=member.pk, amount="30", reason="contest prize")
    bonus_adjust(acting_user=sysop, user_id=member.pk, amount="-10", reason="correction")

    assert ledger(member) == [("adjustment", Decimal("30.00"), Decimal("30.00")),
                              ("adjustment", Decimal("-10.00"), Decimal("20.00"))]
    audit = AuditLog.objects.filter(action="bonus.adjust", target_id=member.pk)
    assert audit.count() == 2
    assert audit.filter(actor=sysop, metadata__reason="correction").exists()
    with pytest.raises(NotPermitted):
        bonus_adjust(acting_user=member, user_id=member.pk, amount="5", reason="me")


@pytest.mark.django_db(transaction=True)
def test_concurrent_spends_never_overdraw_and_the_ledger_stays_whole():
    """Eight real transactions on their own connections race to spend the same balance,
    while gifts cross between two members in both directions (the lock order test)."""
    spender, friend = make_user(), make_user()
    fund(spender, 1000)  # four uploads of 2 GiB (200 each) fit, with 200 left for gifts
    fund(friend, 1000)
    barrier = threading.Barrier(10)
    outcomes: list[str] = []

    def buy() -> None:
        try:
            barrier.wait()
            bonus_buy_upload(user=User.objects.get(pk=spender.pk), gib=2)
            outcomes.append("bought")
        except ValidationFailed:
            outcomes.append("refused")
        finally:
            connections.close_all()

    def gift(sender: User, recipient: User) -> None:
        try:
            barrier.wait()
            bonus_gift(sender=User.objects.get(pk=sender.pk),
                       recipient_username=recipient.username, amount="150")
            outcomes.append("gift")
        except ValidationFailed:
            outcomes.append("gift refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=buy) for _ in range(8)]
    threads += [threading.Thread(target=gift, args=(friend, spender)),
                threading.Thread(target=gift, args=(spender, friend))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    spender.refresh_from_db()
    friend.refresh_from_db()
    assert len(outcomes) == 10
    assert spender.bonus_points >= 0
    assert ledger_mismatches() == []
    bought = outcomes.count("bought")
    spent = BonusTransaction.objects.filter(user=spender, transaction_type="purchase_upload")
    assert spent.count() == bought
    assert UserStatistics.objects.get(user=spender).uploaded == bought * 2 * GIB
    assert spender.bonus_points + friend.bonus_points == Decimal(2000) - 200 * bought
    # The balance never went below zero along the way either.
    assert not BonusTransaction.objects.filter(balance_after__lt=0).exists()
    assert bought >= 4
