"""Signals that cross app boundaries; sent after commit by the app that owns the fact."""

from django.dispatch import Signal

# Sent once per order when it becomes paid. kwargs: order_id.
order_paid = Signal()
# Sent once per refund of an order line. kwargs: order_line_id, refund_id.
order_line_refunded = Signal()
