"""Order lines hold their order's paid_at, for a link's pace (`orders.selectors.link_pace`):
every checkout through a link counts the link's paid orders of the last eight days, now from
one range of a partial index instead of joining every paid order of those days.

The column is nullable (no table rewrite); the lines of orders paid before get their order's
paid_at; the index is built concurrently, so a live order-lines table is not locked."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("orders", "0011_order_risk_signals"),
        ("shop", "0012_brand_timezone"),
    ]

    operations = [
        migrations.AddField(
            model_name="orderline",
            name="order_paid_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        # Once paid, an order never leaves the paid statuses.
        migrations.RunSQL(
            """
            UPDATE orders_orderline AS line SET order_paid_at = paid.paid_at
            FROM orders_order AS paid
            WHERE paid.id = line.order_id AND paid.paid_at IS NOT NULL
                AND paid.status IN (
                    'paid', 'partially_fulfilled', 'fulfilled', 'partially_refunded', 'refunded'
                )
            """,
            migrations.RunSQL.noop,
        ),
        AddIndexConcurrently(
            model_name="orderline",
            index=models.Index(
                condition=models.Q(("order_paid_at__isnull", False)),
                fields=["attributed_link_id", "order_paid_at"],
                include=("order_id",),
                name="order_line_link_paid",
            ),
        ),
    ]
