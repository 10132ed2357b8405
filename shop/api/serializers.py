"""Output serializers of the catalog; inputs live beside the views that parse them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from common.money import Money
from common.serializers import MoneyField
from shop.models import Brand, Product, ProductImage, StockMovement, Variant
from shop.selectors import stock_level_state


class BrandSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Brand
        fields = ("id", "slug", "name", "logo_url")


class BrandPublicSerializer(serializers.ModelSerializer):
    class Meta:
        model = Brand
        fields = ("id", "slug", "name", "description", "website", "logo_url", "currency")


class ImageSerializer(serializers.ModelSerializer):
    class Meta:
        model = ProductImage
        fields = ("url", "width", "height", "alt")


def stock_state(variant: Variant) -> str:
    return stock_level_state(variant.available, variant.low_stock_threshold)


class VariantPublicSerializer(serializers.ModelSerializer):
    price = MoneyField(amount="price", currency="product.brand.currency")
    compare_at_price = MoneyField(
        amount="compare_at_price", currency="product.brand.currency", allow_null=True
    )
    available = serializers.IntegerField(read_only=True, help_text="Units that can be bought now.")
    stock_state = serializers.SerializerMethodField(
        help_text="in_stock, low_stock or sold_out; new values may be added within v1."
    )

    class Meta:
        model = Variant
        fields = (
            "id",
            "sku",
            "title",
            "options",
            "price",
            "compare_at_price",
            "available",
            "stock_state",
        )

    def get_stock_state(self, variant: Variant) -> str:
        return stock_state(variant)


class ProductPublicSerializer(serializers.ModelSerializer):
    brand = BrandSummarySerializer(read_only=True)
    price = MoneyField(
        amount="min_price", currency="brand.currency", allow_null=True, help_text="Lowest price."
    )
    in_stock = serializers.BooleanField(read_only=True)
    images = ImageSerializer(many=True, read_only=True)
    variants = VariantPublicSerializer(many=True, read_only=True)

    class Meta:
        model = Product
        fields = (
            "id",
            "slug",
            "title",
            "description",
            "category",
            "tags",
            "brand",
            "price",
            "in_stock",
            "images",
            "variants",
            "created_at",
        )


class VariantBrandSerializer(VariantPublicSerializer):
    class Meta(VariantPublicSerializer.Meta):
        fields = (  # type: ignore[assignment]
            *VariantPublicSerializer.Meta.fields,
            "on_hand",
            "reserved",
            "low_stock_threshold",
            "position",
        )


class ProductBrandSerializer(serializers.ModelSerializer):
    brand = BrandSummarySerializer(read_only=True)
    images = ImageSerializer(many=True, read_only=True)
    variants = VariantBrandSerializer(many=True, read_only=True)
    open_rate = serializers.DecimalField(
        max_digits=5, decimal_places=2, read_only=True, help_text="Effective rate in percent."
    )

    class Meta:
        model = Product
        fields = (
            "id",
            "slug",
            "title",
            "description",
            "category",
            "tags",
            "status",
            "commission_rate",
            "open_rate",
            "brand",
            "images",
            "variants",
            "created_at",
            "updated_at",
        )


class StockMovementSerializer(serializers.ModelSerializer):
    class Meta:
        model = StockMovement
        fields = ("id", "variant", "delta", "reason", "reference", "on_hand_after", "created_at")


_datetime_field = serializers.DateTimeField()


def _money(amount: Any, currency: str) -> dict[str, str] | None:
    return None if amount is None else Money(Decimal(amount), currency).as_dict()


def product_public_data(product: Product) -> dict[str, Any]:
    """ProductPublicSerializer's output built directly: the list's hot path.

    A test holds the two to the same output, so the schema stays the contract.
    """
    brand = product.brand
    currency = brand.currency
    return {
        "id": product.pk,
        "slug": product.slug,
        "title": product.title,
        "description": product.description,
        "category": product.category,
        "tags": product.tags,
        "brand": {
            "id": brand.pk,
            "slug": brand.slug,
            "name": brand.name,
            "logo_url": brand.logo_url,
        },
        "price": _money(getattr(product, "min_price", None), currency),
        "in_stock": getattr(product, "in_stock", None),
        "images": [
            {"url": i.url, "width": i.width, "height": i.height, "alt": i.alt}
            for i in product.images.all()
        ],
        "variants": [
            {
                "id": v.pk,
                "sku": v.sku,
                "title": v.title,
                "options": v.options,
                "price": _money(v.price, currency),
                "compare_at_price": _money(v.compare_at_price, currency),
                "available": v.available,
                "stock_state": stock_state(v),
            }
            for v in product.variants.all()
        ],
        "created_at": _datetime_field.to_representation(product.created_at),
    }
