"""Index orders by `paid_at`: the dashboard's windows, settlements' periods and a link's pace
all read paid orders by when they were paid (bench/README.md, `bench_dashboard`).

Built concurrently, so a live orders table is not locked while it builds."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("orders", "0007_stripeevent_to_payments"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="order",
            index=models.Index(fields=["paid_at"], name="order_paid_at"),
        ),
    ]
