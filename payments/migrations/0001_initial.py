# StripeEvent moves from orders to payments: the state moves, the table
# (orders_stripeevent), its rows, its content type id and its permissions stay.

from django.db import migrations, models

from common.migration_ops import content_types_move


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('orders', '0006_order_checkout_fingerprint'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='StripeEvent',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('event_id', models.CharField(max_length=255, unique=True)),
                        ('type', models.CharField(max_length=100)),
                        ('payload', models.JSONField()),
                        ('received_at', models.DateTimeField(auto_now_add=True)),
                        ('processed_at', models.DateTimeField(blank=True, null=True)),
                        ('attempts', models.PositiveIntegerField(default=0)),
                        ('last_error', models.TextField(blank=True)),
                    ],
                    options={
                        'db_table': 'orders_stripeevent',
                        'ordering': ('-id',),
                    },
                ),
            ],
            database_operations=[],
        ),
        content_types_move('orders', 'payments', 'stripeevent'),
    ]
