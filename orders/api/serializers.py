"""Output serializers of carts and orders."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from common.money import Money
from common.serializers import MoneyField, MoneySchema
from orders.models import Cart, CartLine, Order, OrderLine
from orders.pricing import brand_charges
from orders.selectors import cart_totals
from orders.services.carts import CartContents, CartRow
from shop.api.serializers import stock_level_state, stock_state


class CartLineSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="variant.sku")
    product_id = serializers.IntegerField(source="variant.product_id")
    title = serializers.CharField(source="variant.product.title")
    variant_title = serializers.CharField(source="variant.title")
    brand = serializers.CharField(source="variant.product.brand.slug")
    unit_price = MoneyField(amount="variant.price", currency="variant.product.brand.currency")
    available = serializers.IntegerField(source="variant.available")
    stock_state = serializers.SerializerMethodField()

    class Meta:
        model = CartLine
        fields = (
            "sku",
            "product_id",
            "title",
            "variant_title",
            "brand",
            "quantity",
            "unit_price",
            "available",
            "stock_state",
            "attribution_token",
        )

    def get_stock_state(self, line: CartLine) -> str:
        return stock_state(line.variant)


class CodeProblemSchema(serializers.Serializer):
    code = serializers.CharField(help_text="The error code checkout would answer with.")
    message = serializers.CharField()


class BrandShippingSchema(serializers.Serializer):
    brand = serializers.CharField()
    items = MoneySchema()
    discount = MoneySchema(help_text="What the brand's code takes off its items.")
    shipping = MoneySchema()
    code = serializers.CharField(allow_null=True, help_text="The brand's code on this cart.")
    code_problem = CodeProblemSchema(
        allow_null=True, help_text="Why the code applies nothing now (checkout refuses it)."
    )


class TotalsSchema(serializers.Serializer):
    items = MoneySchema()
    discount = MoneySchema(help_text="What codes take off the items, all brands.")
    shipping = MoneySchema()
    grand_total = MoneySchema()
    brands = BrandShippingSchema(many=True)
    tax_included = serializers.BooleanField()


class CartSerializer(serializers.ModelSerializer):
    lines = CartLineSerializer(many=True, read_only=True)
    totals = serializers.SerializerMethodField()

    class Meta:
        model = Cart
        fields = ("id", "status", "currency", "lines", "totals", "created_at", "updated_at")

    @extend_schema_field(TotalsSchema(allow_null=True))
    def get_totals(self, cart: Cart) -> dict[str, Any] | None:
        totals = cart_totals(cart)
        if totals is None:
            return None
        money = lambda amount: Money(amount, totals.currency).as_dict()  # noqa: E731
        return {
            "items": money(totals.items),
            "discount": money(totals.discount),
            "shipping": money(totals.shipping),
            "grand_total": money(totals.grand),
            "brands": [
                {
                    "brand": b.brand.slug,
                    "items": money(b.items),
                    "discount": money(b.discount),
                    "shipping": money(b.shipping),
                    "code": b.code or None,
                    "code_problem": {"code": b.code_problem.code, "message": b.code_problem.message}
                    if b.code_problem is not None
                    else None,
                }
                for b in totals.brands
            ],
            "tax_included": True,
        }


class NewCartSerializer(CartSerializer):
    token = serializers.CharField(
        read_only=True, help_text="Send as X-Cart-Token on every later cart or checkout request."
    )

    class Meta(CartSerializer.Meta):
        fields = (*CartSerializer.Meta.fields, "token")  # type: ignore[assignment]


DATETIME = serializers.DateTimeField()


def cart_body(cart: CartContents, *, new: bool = False) -> dict[str, Any]:
    """CartSerializer's answer (NewCartSerializer's with `new`), built from the values a write
    read back, for a cart without codes (a code's pricing reads its discounts: that cart
    goes through the serializer).

    Plain values instead of a serializer graph: setting a line is on every fan's way to
    checkout (the tests hold the two to the same output).
    """
    if cart.has_codes:
        raise ValueError("A cart with codes is priced by cart_totals().")
    currency = cart.currency
    body: dict[str, Any] = {
        "id": cart.id,
        "status": cart.status,
        "currency": currency,
        "lines": [_cart_line(line) for line in cart.lines],
        "totals": _cart_totals(cart.lines, currency) if cart.lines else None,
        "created_at": DATETIME.to_representation(cart.created_at),
        "updated_at": DATETIME.to_representation(cart.updated_at),
    }
    if new:
        body["token"] = cart.token
    return body


def _cart_line(line: CartRow) -> dict[str, Any]:
    return {
        "sku": line.sku,
        "product_id": line.product_id,
        "title": line.title,
        "variant_title": line.variant_title,
        "brand": line.brand_slug,
        "quantity": line.quantity,
        "unit_price": Money(line.price, line.currency).as_dict(),
        "available": line.available,
        "stock_state": stock_level_state(line.available, line.low_stock_threshold),
        "attribution_token": line.attribution_token,
    }


def _cart_totals(lines: list[CartRow], currency: str) -> dict[str, Any]:
    """`orders.pricing.price_lines` over rows: each brand's items and shipping."""
    items: dict[int, Decimal] = {}
    terms: dict[int, CartRow] = {}
    for line in lines:
        items[line.brand_id] = items.get(line.brand_id, Decimal(0)) + line.price * line.quantity
        terms.setdefault(line.brand_id, line)
    brands = []
    total_items = total_shipping = Decimal(0)
    zero = Money(Decimal(0), currency).as_dict()
    for brand_id in sorted(items):
        brand_items, shipping = brand_charges(terms[brand_id], items[brand_id], currency)
        total_items += brand_items
        total_shipping += shipping
        brands.append(
            {
                "brand": terms[brand_id].brand_slug,
                "items": Money(brand_items, currency).as_dict(),
                "discount": zero,
                "shipping": Money(shipping, currency).as_dict(),
                "code": None,
                "code_problem": None,
            }
        )
    return {
        "items": Money(total_items, currency).as_dict(),
        "discount": zero,
        "shipping": Money(total_shipping, currency).as_dict(),
        "grand_total": Money(total_items + total_shipping, currency).as_dict(),
        "brands": brands,
        "tax_included": True,
    }


class OrderLineSerializer(serializers.ModelSerializer):
    brand = serializers.CharField(source="brand.slug")
    unit_price = MoneyField(amount="unit_price", currency="currency")
    discount = MoneyField(amount="discount_amount", currency="currency")
    discount_code = serializers.CharField(help_text="The code that discounted it, or ''.")
    line_total = MoneyField(
        amount="line_total", currency="currency", help_text="What is paid: after the discount."
    )

    class Meta:
        model = OrderLine
        fields = (
            "sku",
            "title",
            "options",
            "brand",
            "quantity",
            "unit_price",
            "discount",
            "discount_code",
            "line_total",
        )


class OrderShippingSerializer(serializers.Serializer):
    brand = serializers.CharField(source="brand.slug")
    amount = MoneyField(amount="amount", currency="order.currency")


class CheckoutSerializer(serializers.ModelSerializer):
    order_id = serializers.IntegerField(source="id")
    order_token = serializers.CharField(source="token")
    amount = MoneyField(amount="grand_total", currency="currency")
    items_total = MoneyField(amount="items_total", currency="currency")
    discount_total = MoneyField(amount="discount_total", currency="currency")
    shipping_total = MoneyField(amount="shipping_total", currency="currency")
    shipping = OrderShippingSerializer(source="shipping_lines", many=True)
    lines = OrderLineSerializer(many=True)
    payment_intent_id = serializers.CharField(source="stripe_payment_intent_id")
    client_secret = serializers.SerializerMethodField(
        help_text="For Stripe's mobile SDKs and Stripe.js; only while payment is pending."
    )
    publishable_key = serializers.SerializerMethodField()
    payment_page_url = serializers.SerializerMethodField()

    class Meta:
        model = Order
        fields = (
            "order_id",
            "order_token",
            "status",
            "currency",
            "amount",
            "items_total",
            "discount_total",
            "shipping_total",
            "shipping",
            "lines",
            "payment_intent_id",
            "client_secret",
            "publishable_key",
            "reservation_expires_at",
            "payment_page_url",
            "created_at",
        )

    def get_client_secret(self, order: Order) -> str | None:
        if order.status != Order.Status.PENDING_PAYMENT:
            return None
        return order.stripe_client_secret or None

    def get_publishable_key(self, order: Order) -> str:
        from django.conf import settings

        return settings.STRIPE_PUBLISHABLE_KEY

    def get_payment_page_url(self, order: Order) -> str:
        from django.conf import settings

        return f"{settings.SITE_URL}/checkout/{order.token}/"


class CheckoutConfirmSerializer(CheckoutSerializer):
    payment_status = serializers.ChoiceField(
        choices=[
            "succeeded",
            "processing",
            "requires_action",
            "requires_capture",
            "requires_payment_method",
            "requires_confirmation",
            "canceled",
        ],
        help_text="The PaymentIntent's status after the confirmation.",
    )

    class Meta(CheckoutSerializer.Meta):
        fields = (*CheckoutSerializer.Meta.fields, "payment_status")  # type: ignore[assignment]
