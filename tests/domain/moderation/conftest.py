from __future__ import annotations

import pytest

from domain.moderation.autoflag import rules_forget


@pytest.fixture(autouse=True)
def _fresh_autoflag_rules():
    """Rules are cached per process; each test's database (rolled back after it) has its own."""
    rules_forget()
    yield
    rules_forget()
