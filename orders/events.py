"""The outbox events orders records (common.outbox), each with its payload.

Recorded in the transaction of the change they report; handled by whoever registers for
them (the ledger in creators, the emails in orders/handlers.py), in any order.
"""

ORDER_PAID = "orders.order_paid"  # {"order_id"}
ORDER_UNFULFILLABLE = "orders.order_unfulfillable"  # {"order_id"}: paid late, no stock
REFUND_SUCCEEDED = "orders.refund_succeeded"  # {"refund_id", "order_id", "order_line_ids"}
SHIPMENT_CREATED = "orders.shipment_created"  # {"shipment_id"}
SELLOUT_ALERT_OPENED = "orders.sellout_alert_opened"  # {"alert_id"}
WAITLIST_NOTIFIED = "orders.waitlist_notified"  # {"notification_id"}
DISPUTE_OPENED = "orders.dispute_opened"  # {"dispute_id", "order_id", "lines": {line id: share}}
DISPUTE_CLOSED = "orders.dispute_closed"  # {"dispute_id", "order_id", "outcome": won|lost}
