"""After every economy test, the ledger invariant must hold: each member's balance equals
the sum of their ledger. A test that breaks it on purpose asks for `ledger_may_differ`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture
def ledger_may_differ(request: pytest.FixtureRequest) -> None:
    request.node.ledger_may_differ = True


@pytest.fixture(autouse=True)
def ledger_invariant(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if getattr(request.node, "ledger_may_differ", False):
        return
    if request.node.get_closest_marker("django_db") is None:
        return
    from domain.bonus.selectors import ledger_mismatches

    assert ledger_mismatches() == [], "a balance differs from the sum of its ledger"
