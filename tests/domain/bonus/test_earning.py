"""Earning: the rules as data, one ledger row per member per period, exactly once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection, connections
from psycopg import sql

from domain.bonus.earning import bonus_award_due_periods, bonus_award_period, earning_key
from domain.bonus.models import BonusRule, BonusTransaction, EarningPeriod
from domain.bonus.selectors import ledger_mismatches
from tests.domain.bonus.factories import HOUR, history, seeders
from tests.factories import make_torrent, make_user

GIB = 1024**3
START = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
END = START + timedelta(hours=1)
AFTER = END + timedelta(minutes=30)

pytestmark = pytest.mark.django_db


def popular():
    """A torrent with enough seeders that only the standard rule pays (1 point an hour)."""
    torrent = make_torrent()
    seeders(torrent, 20)
    return torrent


def award(start: datetime = START, end: datetime = END):
    return bonus_award_period(period_start=start, period_end=end, now=AFTER)


def earned(user) -> list[BonusTransaction]:
    return list(BonusTransaction.objects.filter(user=user, transaction_type="earning"))


def test_an_hour_of_seeding_a_popular_torrent_earns_the_standard_rate(member):
    torrent = make_torrent()
    seeders(torrent, 20)
    history(user=member, torrent=torrent, recorded_at=START + timedelta(minutes=30),
            seedtime=1800)
    history(user=member, torrent=torrent, recorded_at=START + timedelta(minutes=59),
            seedtime=1800)

    result = award()

    member.refresh_from_db()
    assert (result.awarded, result.members, result.points) == (True, 1, Decimal("1.00"))
    assert member.bonus_points == Decimal("1.00")
    [row] = earned(member)
    assert (row.amount, row.balance_after) == (Decimal("1.00"), Decimal("1.00"))
    assert row.idempotency_key == earning_key(START)
    assert row.metadata["rules"] == {"standard_seeding": {"points": 1.0, "torrents": 1}}


def test_each_seed_rule_pays_when_its_conditions_hold(member):
    rare = make_torrent()  # 3 seeders: standard + low seeder bonus
    seeders(rare, 3)
    free = make_torrent(is_freeleech=True)  # standard + freeleech (20 seeders)
    seeders(free, 20)
    large = make_torrent(size=30 * GIB)  # standard + 20 GiB above 10 * 0.05 = 1.0/h
    seeders(large, 20)
    huge = make_torrent(size=110 * GIB)  # standard + 5.0/h capped at 2.0
    seeders(huge, 20)
    for torrent in (rare, free, large, huge):
        history(user=member, torrent=torrent, recorded_at=START, seedtime=HOUR)

    award()

    [row] = earned(member)
    rules = row.metadata["rules"]
    assert rules["standard_seeding"] == {"points": 4.0, "torrents": 4}
    assert rules["low_seeder_bonus"] == {"points": 0.5, "torrents": 1}
    assert rules["freeleech_seeding"] == {"points": 0.25, "torrents": 1}
    assert rules["large_file_bonus"] == {"points": 3.0, "torrents": 2}
    assert row.amount == Decimal("7.75")


def test_part_of_an_hour_earns_pro_rata_and_two_clients_earn_once(member):
    torrent = make_torrent()
    seeders(torrent, 20)
    # Two clients of one member on one torrent: capped at the period's length.
    history(user=member, torrent=torrent, recorded_at=START, seedtime=HOUR)
    history(user=member, torrent=torrent, recorded_at=START, seedtime=HOUR)
    other = make_user()
    history(user=other, torrent=torrent, recorded_at=START, seedtime=900)

    award()

    assert earned(member)[0].amount == Decimal("1.00")
    assert earned(other)[0].amount == Decimal("0.25")


def test_rows_outside_the_period_leechers_and_unapproved_torrents_earn_nothing(member):
    torrent = make_torrent()
    pending = make_torrent(status="pending")
    history(user=member, torrent=torrent, recorded_at=START - timedelta(seconds=1))
    history(user=member, torrent=torrent, recorded_at=END)
    history(user=member, torrent=torrent, recorded_at=START, seedtime=0, downloaded=10)
    history(user=member, torrent=pending, recorded_at=START)

    result = award()

    assert result.awarded and result.members == 0
    assert earned(member) == []
    assert EarningPeriod.objects.get(period_start=START).members == 0


def test_banned_members_earn_nothing(banned):
    history(user=banned, torrent=make_torrent(), recorded_at=START)

    award()

    assert earned(banned) == []


def test_a_rule_added_or_switched_off_as_data_changes_earning_without_code(member):
    torrent = make_torrent(size=2 * GIB)
    seeders(torrent, 1)
    BonusRule.objects.filter(name="low_seeder_bonus").update(is_active=False)
    BonusRule.objects.create(name="lonely_seed", display_name="Lonely seed",
                             rule_type="low_seeders", points_per_hour=Decimal("3"),
                             max_seeders=1, min_seedtime_seconds=1800)
    history(user=member, torrent=torrent, recorded_at=START, seedtime=HOUR)
    short = make_user()
    history(user=short, torrent=torrent, recorded_at=START, seedtime=1200)

    award()

    rules = earned(member)[0].metadata["rules"]
    assert set(rules) == {"standard_seeding", "lonely_seed"}
    assert earned(member)[0].amount == Decimal("4.00")
    # Under the rule's minimum seeding time: only the standard rate, pro rata.
    assert set(earned(short)[0].metadata["rules"]) == {"standard_seeding"}


def test_the_same_period_twice_awards_once(member):
    history(user=member, torrent=popular(), recorded_at=START)

    first = award()
    second = award()

    member.refresh_from_db()
    assert first.awarded and not second.awarded
    assert len(earned(member)) == 1
    assert member.bonus_points == Decimal("1.00")
    assert ledger_mismatches() == []


def test_a_period_interrupted_halfway_leaves_nothing_and_its_rerun_awards_once(member):
    """The crash is real: a trigger makes PostgreSQL fail the period's last write, after
    the ledger rows and balances were written in the same transaction."""
    history(user=member, torrent=popular(), recorded_at=START)
    with connection.cursor() as cursor:
        cursor.execute("""
            CREATE FUNCTION test_crash() RETURNS trigger LANGUAGE plpgsql AS
            $$ BEGIN RAISE EXCEPTION 'simulated crash'; END $$;
            CREATE TRIGGER test_crash BEFORE UPDATE ON bonus_earning_periods
            FOR EACH ROW EXECUTE FUNCTION test_crash();
        """)

    with pytest.raises(Exception, match="simulated crash"):
        award()

    member.refresh_from_db()
    assert member.bonus_points == 0
    assert earned(member) == []
    assert not EarningPeriod.objects.exists()

    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER test_crash ON bonus_earning_periods; "
                       "DROP FUNCTION test_crash()")
    assert award().awarded
    assert award().awarded is False
    member.refresh_from_db()
    assert member.bonus_points == Decimal("1.00")
    assert len(earned(member)) == 1


def test_due_periods_catch_up_in_order_and_resume_after_a_crash(member, settings):
    settings.BONUS_EARNING_GRACE_SECONDS = 600
    torrent = popular()
    EarningPeriod.objects.create(period_start=START - timedelta(hours=1), period_end=START)
    for hour in range(3):
        history(user=member, torrent=torrent, recorded_at=START + timedelta(hours=hour))
    now = START + timedelta(hours=3, minutes=11)

    with connection.cursor() as cursor:
        # The third period fails: the first two stay awarded.
        # A function body takes no bind parameters: the moment goes in as a quoted literal.
        cursor.execute(sql.SQL("""
            CREATE FUNCTION test_crash() RETURNS trigger LANGUAGE plpgsql AS
            $$ BEGIN IF NEW.period_start = {}
               THEN RAISE EXCEPTION 'simulated crash'; END IF; RETURN NEW; END $$;
            CREATE TRIGGER test_crash BEFORE UPDATE ON bonus_earning_periods
            FOR EACH ROW EXECUTE FUNCTION test_crash();
        """).format(sql.Literal(START + timedelta(hours=2))))
    with pytest.raises(Exception, match="simulated crash"):
        bonus_award_due_periods(now=now)
    member.refresh_from_db()
    assert member.bonus_points == Decimal("2.00")

    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER test_crash ON bonus_earning_periods; "
                       "DROP FUNCTION test_crash()")
    results = bonus_award_due_periods(now=now)
    assert [r.period_start for r in results] == [START + timedelta(hours=2)]
    assert bonus_award_due_periods(now=now) == []
    member.refresh_from_db()
    assert member.bonus_points == Decimal("3.00")
    assert [r.balance_after for r in BonusTransaction.objects.filter(user=member)
            .order_by("created_at", "balance_after")] == [Decimal(1), Decimal(2), Decimal(3)]


def test_a_period_inside_the_grace_is_not_due_yet(settings):
    settings.BONUS_EARNING_GRACE_SECONDS = 600
    EarningPeriod.objects.create(period_start=START - timedelta(hours=1), period_end=START)

    assert bonus_award_due_periods(now=END + timedelta(minutes=9)) == []
    assert len(bonus_award_due_periods(now=END + timedelta(minutes=10))) == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_awarding_the_same_period_at_once_award_it_once():
    member = make_user()
    history(user=member, torrent=popular(), recorded_at=START)
    barrier = threading.Barrier(2)
    results = []

    def run() -> None:
        try:
            barrier.wait()
            results.append(award())
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(r.awarded for r in results) == [False, True]
    member.refresh_from_db()
    assert member.bonus_points == Decimal("1.00")
    assert ledger_mismatches() == []
