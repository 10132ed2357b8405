"""The rows that cap refunds, moved with conditional UPDATEs under the order's row lock.

`OrderLine.refunded_amount`, `OrderShipping.refunded_amount` and `Order.refunded_total` are
each checked by the database never to exceed what was paid; these helpers take from them
(or give back) and turn a refused UPDATE into a 409 with what is left.
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import F

from common.errors import Conflict
from common.money import Money
from orders.models import Order, OrderLine, OrderShipping, Refund


class RefundExceedsPaid(Conflict):
    code = "refund_exceeds_paid"
    default_message = "That is more than is left to refund."


def line_take(*, line: OrderLine, amount: Decimal, quantity: int) -> int:
    """Reserve a refund of `amount` and `quantity` units of a line; returns the units counted.

    A line refunded in full counts all its units as refunded: nothing of it ships any more.
    """
    taken = OrderLine.objects.filter(
        pk=line.pk,
        refunded_amount__lte=F("line_total") - amount,
        refunded_quantity__lte=F("quantity") - quantity,
    ).update(
        refunded_amount=F("refunded_amount") + amount,
        refunded_quantity=F("refunded_quantity") + quantity,
    )
    if not taken:
        line.refresh_from_db(fields=["refunded_amount", "refunded_quantity"])
        if quantity > line.quantity - line.refunded_quantity:
            raise Conflict(
                "That is more units than are left to refund on this line.",
                code="refund_exceeds_quantity",
                details={
                    "line_id": line.pk,
                    "refundable_quantity": line.quantity - line.refunded_quantity,
                },
            )
        raise RefundExceedsPaid(
            details={
                "line_id": line.pk,
                "refundable": Money(
                    line.line_total - line.refunded_amount, line.currency
                ).as_dict(),
            }
        )
    line.refresh_from_db(fields=["refunded_amount", "refunded_quantity"])
    in_full = line.line_total > 0 and line.refunded_amount == line.line_total
    if amount > 0 and in_full and line.refunded_quantity < line.quantity:
        extra = line.quantity - line.refunded_quantity
        OrderLine.objects.filter(pk=line.pk).update(refunded_quantity=F("quantity"))
        line.refunded_quantity = line.quantity
        return quantity + extra
    return quantity


def shipping_take(*, shipping: OrderShipping, amount: Decimal, currency: str) -> None:
    taken = OrderShipping.objects.filter(
        pk=shipping.pk, refunded_amount__lte=F("amount") - amount
    ).update(refunded_amount=F("refunded_amount") + amount)
    if not taken:
        shipping.refresh_from_db(fields=["refunded_amount"])
        raise RefundExceedsPaid(
            "That is more shipping than is left to refund.",
            details={
                "shipping": Money(shipping.amount - shipping.refunded_amount, currency).as_dict()
            },
        )


def order_take(*, order: Order, amount: Decimal) -> None:
    taken = Order.objects.filter(pk=order.pk, refunded_total__lte=F("grand_total") - amount).update(
        refunded_total=F("refunded_total") + amount
    )
    if not taken:
        raise RefundExceedsPaid("That is more than is left to refund on this order.")


def refund_lines_give_back(*, refund: Refund) -> None:
    """Undo a refund's reservation, line by line (the order's row lock is held)."""
    for part in refund.lines.all():
        if part.order_line_id is not None:
            OrderLine.objects.filter(pk=part.order_line_id).update(
                refunded_amount=F("refunded_amount") - part.amount,
                refunded_quantity=F("refunded_quantity") - part.quantity,
            )
        elif part.shipping_id is not None:
            OrderShipping.objects.filter(pk=part.shipping_id).update(
                refunded_amount=F("refunded_amount") - part.amount
            )
    Order.objects.filter(pk=refund.order_id).update(
        refunded_total=F("refunded_total") - refund.amount
    )
