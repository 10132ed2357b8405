from django.apps import AppConfig


class CreatorsConfig(AppConfig):
    name = "creators"

    def ready(self) -> None:
        from common.health import readiness_note_register
        from creators import (
            metrics,
            signals,  # noqa: F401 - connects the stored pages' receivers
        )
        from creators.attribution.clicks import degraded_reason
        from creators.services import notifications

        notifications.register()
        readiness_note_register("click_queue", degraded_reason)
        metrics.register()
