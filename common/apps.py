from django.apps import AppConfig


class CommonConfig(AppConfig):
    name = "common"
    verbose_name = "Common"

    def ready(self) -> None:
        from common import converters
        from common.outbox import probe

        # Before any URLconf is imported: routes use `<text:...>` for free-text segments.
        converters.register()
        probe.register()

        # Imported for their side effects: checks register themselves, and common.replica
        # connects the signal that starts each Celery task unpinned from the primary.
        from common import checks, metrics, replica  # noqa: F401
        from common.observability import celery  # noqa: F401  (connects the log context)
        from common.observability.metrics import scrape_collector_register

        metrics.register()
        scrape_collector_register()
