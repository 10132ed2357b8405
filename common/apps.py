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

        from common import checks, metrics  # noqa: F401  (checks register themselves)
        from common.observability import celery  # noqa: F401  (connects the log context)
        from common.observability.metrics import scrape_collector_register

        metrics.register()
        scrape_collector_register()
