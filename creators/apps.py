from django.apps import AppConfig


class CreatorsConfig(AppConfig):
    name = "creators"

    def ready(self) -> None:
        from common.health import readiness_note_register
        from creators import metrics
        from creators.attribution.clicks import degraded_reason
        from creators.commissions import handlers
        from creators.commissions.accounts import stripe_account_event_handle
        from creators.services import notifications
        from payments.services import stripe_event_handler_register

        handlers.register()
        notifications.register()
        readiness_note_register("click_queue", degraded_reason)
        metrics.register()
        stripe_event_handler_register("account", stripe_account_event_handle)
