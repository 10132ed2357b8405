from django.apps import AppConfig


class CreatorsConfig(AppConfig):
    name = "creators"

    def ready(self) -> None:
        from creators.commissions import handlers
        from creators.commissions.accounts import stripe_account_event_handle
        from orders.services.payments import stripe_event_handler_register

        handlers.register()
        stripe_event_handler_register("account", stripe_account_event_handle)
