"""Print the current one-time code of a demo account's authenticator (local runs only)."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.otp import totp_current_code


class Command(BaseCommand):
    help = "Print the code a demo account's authenticator shows now (local settings only)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEMO_SEED_ALLOWED and not os.environ.get("SEED_DEMO_FORCE"):
            raise CommandError("Demo codes are shown only under the local settings.")
        device = (
            TOTPDevice.objects.filter(user__email__iexact=options["email"], confirmed=True)
            .order_by("pk")
            .first()
        )
        if device is None:
            raise CommandError(f"No authenticator for {options['email']}; run `make seed` first.")
        self.stdout.write(totp_current_code(device))
