from django.apps import AppConfig


class ShopConfig(AppConfig):
    name = "shop"
    verbose_name = "Catalog and stock"

    def ready(self) -> None:
        from shop import signals  # noqa: F401
