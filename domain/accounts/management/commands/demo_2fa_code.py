"""Print the current two-factor code of a demo staff account (seed_demo enrols them), so
the staff login `make run` prints lands on the site without an authenticator app.

Only for the demo's own accounts (emails @tracker.example, made by seed_demo): it never
prints a code for a real member."""

from __future__ import annotations

from typing import Any

import pyotp
from django.core.management.base import BaseCommand, CommandError, CommandParser

from domain.accounts.models import UserTwoFactor

DEMO_EMAIL_DOMAIN = "@tracker.example"


class Command(BaseCommand):
    help = "Print the current 2FA code (and the secret) of a demo staff account."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", nargs="?", default="sysop")

    def handle(self, *args: Any, **options: Any) -> None:
        row = (UserTwoFactor.objects.select_related("user")
               .filter(user__username__iexact=options["username"], is_enabled=True).first())
        if row is None or not row.user.email.endswith(DEMO_EMAIL_DOMAIN):
            raise CommandError(f"{options['username']} is not a demo account with 2FA "
                               "(seed_demo enrols the demo staff into an empty database)")
        self.stdout.write(pyotp.TOTP(row.secret).now())
        self.stderr.write(f"secret for an authenticator app: {row.secret}")
