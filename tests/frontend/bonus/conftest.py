"""The ledger invariant after every economy test: the same fixtures as the domain tests."""

from tests.domain.bonus.conftest import ledger_invariant, ledger_may_differ  # noqa: F401
