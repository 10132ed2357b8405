"""Keep an order's risk signals: the client IP, device id and address hashes at checkout and the
paying card's fingerprint. The columns have a constant default (no table rewrite); their
partial indexes are built concurrently, so a live orders table is not locked."""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models
from django.db.models import Q


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("orders", "0010_disputes"),
    ]

    operations = [
        migrations.AddField(
            model_name="order",
            name="client_ip_hash",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
        migrations.AddField(
            model_name="order",
            name="device_hash",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
        migrations.AddField(
            model_name="order",
            name="shipping_hash",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
        migrations.AddField(
            model_name="order",
            name="card_fingerprint",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
        AddIndexConcurrently(
            model_name="order",
            index=models.Index(
                condition=~Q(device_hash=""), fields=["device_hash"], name="order_device_hash"
            ),
        ),
        AddIndexConcurrently(
            model_name="order",
            index=models.Index(
                condition=~Q(shipping_hash=""), fields=["shipping_hash"], name="order_shipping_hash"
            ),
        ),
        AddIndexConcurrently(
            model_name="order",
            index=models.Index(
                condition=~Q(card_fingerprint=""),
                fields=["card_fingerprint"],
                name="order_card_fingerprint",
            ),
        ),
    ]
