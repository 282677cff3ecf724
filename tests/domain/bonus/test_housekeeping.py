"""Nightly drift correction, and the ledger check command."""

from __future__ import annotations

import logging
from decimal import Decimal

import pytest
from django.core.management import call_command

from domain.accounts.models import User, UserStatistics
from domain.bonus.housekeeping import statistics_recompute
from domain.bonus.selectors import ledger_mismatches
from domain.tracker.models import TorrentStatistics
from tests.domain.bonus.factories import fund, peer, seeders
from tests.factories import make_torrent, make_user

GIB = 1024**3

pytestmark = pytest.mark.django_db


def test_torrent_statistics_are_recomputed_from_peers(member):
    drifted, missing, empty = make_torrent(), make_torrent(), make_torrent()
    seeders(drifted, 40)
    TorrentStatistics.objects.filter(torrent=drifted).update(leechers=7)
    seeders(empty, 3)
    other = make_user()
    peer(user=member, torrent=drifted, seeder=True)
    peer(user=other, torrent=drifted, seeder=False)
    peer(user=member, torrent=missing, seeder=True)

    result = statistics_recompute()

    counts = {s.torrent_id: (s.seeders, s.leechers) for s in TorrentStatistics.objects.all()}
    assert counts[drifted.pk] == (1, 1)
    assert counts[missing.pk] == (1, 0)
    assert counts[empty.pk] == (0, 0)
    assert (result.torrent_statistics_fixed, result.torrent_statistics_created) == (3, 1)
    again = statistics_recompute()
    assert (again.torrent_statistics_fixed, again.torrent_statistics_created) == (0, 0)


def test_user_statistics_are_recomputed_from_peers(member):
    big, small, leeching = (make_torrent(size=2 * GIB), make_torrent(size=GIB),
                            make_torrent())
    UserStatistics.objects.update_or_create(
        user=member, defaults={"seeding_count": 9, "leeching_count": 9, "seeding_size": 1})
    idle = make_user()
    UserStatistics.objects.update_or_create(user=idle, defaults={"seeding_count": 4})
    peer(user=member, torrent=big, seeder=True)
    peer(user=member, torrent=big, seeder=True)  # a second client: one torrent still
    peer(user=member, torrent=small, seeder=True)
    peer(user=member, torrent=leeching, seeder=False)

    result = statistics_recompute()

    stats = UserStatistics.objects.get(user=member)
    assert (stats.seeding_count, stats.leeching_count, stats.seeding_size) == (2, 1, 3 * GIB)
    assert UserStatistics.objects.get(user=idle).seeding_count == 0
    assert result.user_statistics_fixed == 2
    assert statistics_recompute().user_statistics_fixed == 0


def test_balances_that_drifted_from_the_ledger_are_set_to_its_sum(member, caplog):
    fund(member, 40)
    honest = make_user()
    fund(honest, 5)
    User.objects.filter(pk=member.pk).update(bonus_points=Decimal("99"))  # a stray write

    with caplog.at_level(logging.WARNING, logger="domain.bonus.housekeeping"):
        result = statistics_recompute()

    member.refresh_from_db()
    honest.refresh_from_db()
    assert (member.bonus_points, honest.bonus_points) == (Decimal("40.00"), Decimal("5.00"))
    assert result.balances_fixed == 1
    assert member.username in caplog.text
    assert statistics_recompute().balances_fixed == 0


def test_verify_ledger_command_passes_on_a_whole_ledger(member, capsys):
    fund(member, 10)

    call_command("bonus_verify_ledger")

    assert "Ledger OK" in capsys.readouterr().out


def test_verify_ledger_command_prints_mismatches_and_exits_non_zero(member, capsys,
                                                                  ledger_may_differ):
    fund(member, 10)
    User.objects.filter(pk=member.pk).update(bonus_points=Decimal("12.5"))

    with pytest.raises(SystemExit) as exit_:
        call_command("bonus_verify_ledger")

    assert exit_.value.code == 1
    out = capsys.readouterr()
    assert f"MISMATCH {member.username}" in out.out
    assert "balance 12.50, ledger sum 10.00, difference 2.50" in out.out
    assert [m.user_id for m in ledger_mismatches()] == [member.pk]
