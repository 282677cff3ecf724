"""`manage.py bonus_verify_ledger`: every member's balance must equal the sum of their
ledger. Prints each mismatch and exits 1 if there is any, so it can gate a deploy or a cron."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand

from domain.bonus.selectors import ledger_mismatches


class Command(BaseCommand):
    help = "Check that every member's bonus balance equals the sum of their ledger."

    def handle(self, *args: Any, **options: Any) -> None:
        mismatches = ledger_mismatches()
        for m in mismatches:
            self.stdout.write(f"MISMATCH {m.username} ({m.user_id}): balance {m.balance}, "
                              f"ledger sum {m.ledger_sum}, difference "
                              f"{m.balance - m.ledger_sum}")
        if mismatches:
            self.stderr.write(f"{len(mismatches)} member(s) out of balance with the ledger.")
            sys.exit(1)
        self.stdout.write("Ledger OK: every balance equals the sum of its ledger.")
