"""Create the periodic tasks the code needs that the database lacks (idempotent)."""

from django.core.management.base import BaseCommand

from common.beat import beat_schedule_seed


class Command(BaseCommand):
    help = "Create missing periodic tasks from BEAT_SCHEDULE_SEED; never changes existing ones."

    def handle(self, *args, **options) -> None:
        created = beat_schedule_seed()
        self.stdout.write(f"created {len(created)} periodic task(s): {', '.join(created) or '-'}")
