"""CSV export of the order desk and CSV import of tracking numbers, scoped to the user's brands.

Export: one row per line of the brand orders chosen in the desk, only the user's brands'
lines. Import: one row per shipment (`order_id`, `carrier`, `tracking_number`, optionally
`tracking_url`, `sku` and `quantity`; `brand` when the user has several brands in the
order); every row goes through the shipment service inside import-export's transaction, so
the preview is a real run that is rolled back and nothing is saved until confirmed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from import_export import fields, resources, widgets

from accounts.models import User
from common.errors import ApplicationError
from orders.brand_access import brand_access_for
from orders.models import Fulfilment, OrderLine, Shipment
from orders.services.fulfilment import ShipLine, shipment_record


def _text(attribute: str | None, column: str) -> fields.Field:
    return fields.Field(attribute=attribute, column_name=column, widget=widgets.CharWidget())


logger = logging.getLogger(__name__)


class OrderDeskResource(resources.ModelResource):
    """One row per order line of the user's brands (export only)."""

    order_id = fields.Field(attribute="order_id", column_name="order_id")
    ordered_at = fields.Field(attribute="order__created_at", column_name="ordered_at")
    order_status = _text("order__status", "order_status")
    brand = _text("brand__slug", "brand")
    email = _text("order__email", "email")
    ship_to_name = fields.Field(column_name="ship_to_name")
    ship_to_address = fields.Field(column_name="ship_to_address")
    country = fields.Field(column_name="country")
    sku = _text("sku", "sku")
    title = _text("title", "title")
    quantity = fields.Field(attribute="quantity", column_name="quantity")
    unit_price = fields.Field(attribute="unit_price", column_name="unit_price")
    line_total = fields.Field(attribute="line_total", column_name="line_total")
    currency = _text("currency", "currency")
    shipped_quantity = fields.Field(attribute="shipped_quantity", column_name="shipped_quantity")
    refunded_quantity = fields.Field(attribute="refunded_quantity", column_name="refunded_quantity")
    refunded_amount = fields.Field(attribute="refunded_amount", column_name="refunded_amount")
    tracking_numbers = fields.Field(column_name="tracking_numbers")

    class Meta:
        model = OrderLine
        fields = (
            "order_id",
            "ordered_at",
            "order_status",
            "brand",
            "email",
            "ship_to_name",
            "ship_to_address",
            "country",
            "sku",
            "title",
            "quantity",
            "unit_price",
            "line_total",
            "currency",
            "shipped_quantity",
            "refunded_quantity",
            "refunded_amount",
            "tracking_numbers",
        )
        export_order = fields

    def __init__(self, user: User | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.user = user

    def filter_export(self, queryset: Any, **kwargs: Any) -> QuerySet[OrderLine]:
        """The lines of the chosen brand orders, and never of a brand the user is not in."""
        lines = OrderLine.objects.select_related("order", "brand").prefetch_related(
            "shipment_lines__shipment"
        )
        if isinstance(queryset, QuerySet) and queryset.model is Fulfilment:
            chosen = queryset.filter(order_id=OuterRef("order_id"), brand_id=OuterRef("brand_id"))
            lines = lines.filter(Exists(chosen.values("pk")))
        else:
            lines = lines.none()
        access = brand_access_for(self.user) if self.user is not None else None
        if access is None:
            return lines.none()
        if not access.unrestricted:
            lines = lines.filter(brand_id__in=access.view_ids)
        return lines.order_by("-order_id", "brand_id", "pk")

    def dehydrate_ship_to_name(self, line: OrderLine) -> str:
        return str(line.order.shipping_address.get("name", ""))

    def dehydrate_ship_to_address(self, line: OrderLine) -> str:
        address = line.order.shipping_address
        keys = ("line1", "line2", "postal_code", "city", "region")
        return ", ".join(str(address[k]) for k in keys if address.get(k))

    def dehydrate_country(self, line: OrderLine) -> str:
        return str(line.order.shipping_address.get("country", ""))

    def dehydrate_tracking_numbers(self, line: OrderLine) -> str:
        numbers = {part.shipment.tracking_number for part in line.shipment_lines.all()}
        return " ".join(sorted(n for n in numbers if n))


@dataclass
class _Plan:
    order_id: int
    carrier: str
    tracking_number: str
    tracking_url: str
    sku: str
    quantity: int | None
    brand: str | None


class TrackingImportResource(resources.ModelResource):
    """One row per shipment; each row calls the shipment service (see the module docstring)."""

    order_id = fields.Field(attribute="order_id", column_name="order_id")
    brand = _text("brand__slug", "brand")
    carrier = _text("carrier", "carrier")
    tracking_number = _text("tracking_number", "tracking_number")
    tracking_url = _text("tracking_url", "tracking_url")
    sku = _text(None, "sku")
    quantity = fields.Field(column_name="quantity")

    class Meta:
        model = Shipment
        fields = (
            "order_id",
            "brand",
            "carrier",
            "tracking_number",
            "tracking_url",
            "sku",
            "quantity",
        )
        import_order = fields
        force_init_instance = True  # every row is a new shipment
        use_transactions = True
        clean_model_instances = False

    def __init__(self, user: User | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.user = user

    def before_import(self, dataset: Any, **kwargs: Any) -> None:
        missing = [c for c in ("order_id", "carrier") if c not in (dataset.headers or [])]
        if missing:
            raise ValueError(f"The file needs the column(s): {', '.join(missing)}.")

    def import_instance(self, instance: Shipment, row: dict[str, Any], **kwargs: Any) -> None:
        errors: dict[str, list[str]] = {}

        def text(column: str) -> str:
            value = row.get(column)
            return "" if value is None else str(value).strip()

        order_id = text("order_id")
        if not order_id.isdigit():
            errors["order_id"] = ["Give the order number."]
        if not text("carrier"):
            errors["carrier"] = ["Name the carrier."]
        url = text("tracking_url")
        if url:
            try:
                URLValidator(schemes=["https"])(url)
            except ValidationError:
                errors["tracking_url"] = ["Use an https:// link."]
        quantity = text("quantity")
        if quantity and (not quantity.isdigit() or int(quantity) < 1):
            errors["quantity"] = ["A whole number of 1 or more."]
        if quantity and not text("sku"):
            errors["sku"] = ["A quantity needs the SKU it is of."]
        if errors:
            raise ValidationError(errors)
        instance._plan = _Plan(  # type: ignore[attr-defined]
            order_id=int(order_id),
            carrier=text("carrier"),
            tracking_number=text("tracking_number"),
            tracking_url=url,
            sku=text("sku"),
            quantity=int(quantity) if quantity else None,
            brand=text("brand") or None,
        )

    def save_instance(self, instance: Shipment, is_create: bool, row: Any, **kwargs: Any) -> None:
        plan: _Plan = instance._plan  # type: ignore[attr-defined]
        if self.user is None:
            raise ValidationError({NON_FIELD_ERRORS: ["Sign in to import."]})
        lines: list[ShipLine] = []
        with transaction.atomic():
            if plan.sku:
                access = brand_access_for(self.user)
                line = (
                    OrderLine.objects.filter(
                        access.brand_filter(), order_id=plan.order_id, sku=plan.sku
                    )
                    .values_list("pk", flat=True)
                    .first()
                )
                if line is None:
                    raise ValidationError({"sku": ["No line of yours with this SKU in the order."]})
                lines = [ShipLine(line_id=line, quantity=plan.quantity)]
            try:
                shipment = shipment_record(
                    order_id=plan.order_id,
                    user=self.user,
                    carrier=plan.carrier,
                    tracking_number=plan.tracking_number,
                    tracking_url=plan.tracking_url,
                    lines=lines,
                    brand_slug=plan.brand,
                )
            except ApplicationError as exc:
                logger.info("tracking import row refused: %s", exc.code)
                raise ValidationError({NON_FIELD_ERRORS: [exc.message]}) from None
        for model_field in Shipment._meta.concrete_fields:
            setattr(instance, model_field.attname, getattr(shipment, model_field.attname))
        instance._state.adding = False
