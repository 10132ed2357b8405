# StripeEvent now belongs to payments (payments 0001): only the state leaves orders.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('orders', '0006_order_checkout_fingerprint'),
        ('payments', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name='StripeEvent')],
            database_operations=[],
        ),
    ]
