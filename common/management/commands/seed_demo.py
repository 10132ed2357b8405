"""Seed demo data for a local run (`make run`); safe to run again."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

DEMO_ADMIN_EMAIL = "admin@tribe.local"
DEMO_PASSWORD = "tribe-demo-password"


class Command(BaseCommand):
    help = "Create demo users and data for a local run (idempotent) and print where to look."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEMO_SEED_ALLOWED and not os.environ.get("SEED_DEMO_FORCE"):
            self.stderr.write(
                "Refusing to seed demo data outside the local settings (set SEED_DEMO_FORCE=1)."
            )
            return
        admin, created = get_user_model().objects.get_or_create(
            email=DEMO_ADMIN_EMAIL,
            defaults={"is_staff": True, "is_superuser": True, "display_name": "Tribe admin"},
        )
        if created:
            admin.set_password(DEMO_PASSWORD)
            admin.save()
        extra_lines = self.seed_features()
        base = settings.SITE_URL
        lines = [
            "",
            "Tribe is starting:",
            f"  Admin       {base}/admin/   ({DEMO_ADMIN_EMAIL} / {DEMO_PASSWORD})",
            f"  API docs    {base}/api/docs/",
            f"  Health      {base}/healthz  {base}/readyz",
            *extra_lines,
            "",
        ]
        self.stdout.write("\n".join(lines))

    def seed_features(self) -> list[str]:
        """Seed each feature's demo data; returns extra lines for the banner."""
        from common.demo import seed_all

        return seed_all(password=DEMO_PASSWORD)
