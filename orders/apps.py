from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"

    def ready(self) -> None:
        # Admins of the demand-side packages (orders/alerts/) register with the site.
        from orders import handlers
        from orders.alerts import admin  # noqa: F401

        handlers.register()
