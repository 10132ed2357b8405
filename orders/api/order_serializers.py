"""Schemas of orders after payment (shopper and brand views) and of refund/shipment input.

The views are built as plain data by `orders.order_selectors.order_view`; these serializers
document them (the OpenAPI contract) and pass them through.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from common.serializers import MoneySchema, StrictCharField, StrictSlugField
from orders.models import Dispute, Fulfilment, Order, Refund


@extend_schema_field(MoneySchema)
class MoneyValue(serializers.Field):
    """A money object already built by the selector (`{"amount", "currency"}`)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> Any:
        return value


class BrandRefSchema(serializers.Serializer):
    slug = serializers.CharField()
    name = serializers.CharField()


class OrderLineViewSchema(serializers.Serializer):
    id = serializers.IntegerField()
    sku = serializers.CharField()
    title = serializers.CharField()
    options = serializers.DictField()
    quantity = serializers.IntegerField()
    unit_price = MoneyValue()
    line_total = MoneyValue()
    refunded_amount = MoneyValue(help_text="Refunded, or being refunded right now.")
    refunded_quantity = serializers.IntegerField()
    shipped_quantity = serializers.IntegerField()
    outstanding_quantity = serializers.IntegerField(help_text="Units still to ship.")


class ShipmentLineSchema(serializers.Serializer):
    line_id = serializers.IntegerField()
    quantity = serializers.IntegerField()


class ShipmentSchema(serializers.Serializer):
    id = serializers.IntegerField()
    carrier = serializers.CharField()
    tracking_number = serializers.CharField()
    tracking_url = serializers.CharField()
    shipped_at = serializers.DateTimeField()
    delivered_at = serializers.DateTimeField(allow_null=True)
    lines = ShipmentLineSchema(many=True)


class BrandPartSchema(serializers.Serializer):
    brand = BrandRefSchema()
    fulfilment_status = serializers.ChoiceField(choices=Fulfilment.Status.choices, allow_null=True)
    lines = OrderLineViewSchema(many=True)
    items_total = MoneyValue()
    shipping = MoneyValue()
    shipping_refunded = MoneyValue()
    shipments = ShipmentSchema(many=True)


class RefundLineViewSchema(serializers.Serializer):
    line_id = serializers.IntegerField()
    quantity = serializers.IntegerField()
    restocked = serializers.IntegerField()
    amount = MoneyValue()


class RefundViewSchema(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Refund.Status.choices)
    source = serializers.ChoiceField(choices=Refund.Source.choices)  # type: ignore[assignment]
    reason = serializers.CharField()
    amount = MoneyValue(help_text="In the brand API: the brand's share of the refund.")
    created_at = serializers.DateTimeField()
    lines = RefundLineViewSchema(many=True)
    shipping = MoneyValue()


class DisputeLineViewSchema(serializers.Serializer):
    line_id = serializers.IntegerField()
    amount = MoneyValue(help_text="The line's share of the disputed amount.")


class DisputeViewSchema(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Dispute.Status.choices)
    reason = serializers.CharField(help_text="The card network's reason, e.g. `fraudulent`.")
    amount = MoneyValue(help_text="In the brand API: the brand's share of the disputed amount.")
    evidence_due_by = serializers.DateTimeField(allow_null=True)
    evidence_submitted_at = serializers.DateTimeField(allow_null=True)
    opened_at = serializers.DateTimeField()
    closed_at = serializers.DateTimeField(allow_null=True)
    lines = DisputeLineViewSchema(many=True)


class BrandDisputeViewSchema(DisputeViewSchema):
    fee = MoneyValue(help_text="The brand's share of Stripe's dispute fee (less any returned).")


class AddressSchema(serializers.Serializer):
    name = serializers.CharField()
    line1 = serializers.CharField()
    line2 = serializers.CharField(required=False)
    city = serializers.CharField()
    postal_code = serializers.CharField()
    region = serializers.CharField(required=False)
    country = serializers.CharField()
    phone = serializers.CharField(required=False)


class _OrderViewBase(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Order.Status.choices)
    currency = serializers.CharField()
    created_at = serializers.DateTimeField()
    paid_at = serializers.DateTimeField(allow_null=True)
    email = serializers.EmailField()
    shipping_address = AddressSchema()
    brands = BrandPartSchema(many=True)
    refunds = RefundViewSchema(many=True)


class BrandOrderSchema(_OrderViewBase):
    """One paid order as a brand sees it: only its own lines, shipping, shipments, refunds."""

    disputes = BrandDisputeViewSchema(
        many=True, help_text="Chargebacks of the payment, with the brand's share of each."
    )


class ShopperOrderSchema(_OrderViewBase):
    """One of the shopper's orders, every brand's part of it."""

    status_url = serializers.URLField(help_text="The order-status page (no sign-in needed).")
    items_total = MoneyValue()
    shipping_total = MoneyValue()
    grand_total = MoneyValue()
    refunded_total = MoneyValue()
    disputes = DisputeViewSchema(many=True, help_text="Chargebacks of the payment by the bank.")


# --- input -----------------------------------------------------------------------------


class RefundLineInput(serializers.Serializer):
    line_id = serializers.IntegerField()
    quantity = serializers.IntegerField(
        min_value=0, required=False, default=0, help_text="Units refunded (and restocked)."
    )
    amount = serializers.DecimalField(
        max_digits=14,
        decimal_places=3,
        min_value=0,
        required=False,
        help_text="Default: the units' share of what was paid (the rest, for the last units).",
    )


class RefundInput(serializers.Serializer):
    lines = RefundLineInput(many=True, required=False, default=list)
    shipping = serializers.BooleanField(
        required=False, default=False, help_text="Also refund what is left of your shipping."
    )
    restock = serializers.BooleanField(
        required=False, default=False, help_text="Put the refunded units back in stock."
    )
    reason = serializers.ChoiceField(choices=Refund.Reason.choices, required=False, default="")
    note = StrictCharField(max_length=2000, required=False, allow_blank=True, default="")
    brand = StrictSlugField(
        required=False, help_text="Needed only for a shipping-only refund across several brands."
    )


class RefundCreatedSchema(RefundViewSchema):
    order_id = serializers.IntegerField()


class ShipmentLineInput(serializers.Serializer):
    line_id = serializers.IntegerField()
    quantity = serializers.IntegerField(
        min_value=1, required=False, help_text="Default: everything left to ship."
    )


class ShipmentInput(serializers.Serializer):
    carrier = StrictCharField(max_length=100)
    tracking_number = StrictCharField(max_length=100, required=False, allow_blank=True, default="")
    tracking_url = serializers.URLField(
        max_length=500,
        required=False,
        allow_blank=True,
        default="",
        help_text="Default: the carrier's tracking page, for known carriers.",
    )
    lines = ShipmentLineInput(
        many=True, required=False, default=list, help_text="Default: everything left to ship."
    )
    shipped_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    brand = StrictSlugField(required=False)

    def validate_tracking_url(self, value: str) -> str:
        if value and not value.lower().startswith("https://"):
            raise serializers.ValidationError("Use an https:// link.")
        return value


class DeliveredInput(serializers.Serializer):
    delivered_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
