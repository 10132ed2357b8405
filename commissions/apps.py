from django.apps import AppConfig


class CommissionsConfig(AppConfig):
    name = "commissions"
    label = "commissions"

    def ready(self) -> None:
        # The handlers answer orders' outbox events and
        # Stripe's Connect account events.
        from commissions import handlers
        from commissions.services.accounts import stripe_account_event_handle
        from payments.services import stripe_event_handler_register

        handlers.register()
        stripe_event_handler_register("account", stripe_account_event_handle)
