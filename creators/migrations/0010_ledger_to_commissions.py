# The ledger, payout accounts, payouts and settlements now belong to commissions
# (commissions 0001): only the state leaves creators; the tables and rows stay.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('creators', '0009_click_partitions'),
        ('commissions', '0001_initial'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name='commissionline',
                    name='brand',
                ),
                migrations.RemoveField(
                    model_name='commissionline',
                    name='creator',
                ),
                migrations.RemoveField(
                    model_name='commissionline',
                    name='link',
                ),
                migrations.RemoveField(
                    model_name='commissionline',
                    name='payout',
                ),
                migrations.RemoveField(
                    model_name='settlementline',
                    name='commission_line',
                ),
                migrations.RemoveField(
                    model_name='commissionterms',
                    name='brand',
                ),
                migrations.RemoveField(
                    model_name='payout',
                    name='creator',
                ),
                migrations.RemoveField(
                    model_name='payoutaccount',
                    name='creator',
                ),
                migrations.RemoveField(
                    model_name='settlement',
                    name='brand',
                ),
                migrations.RemoveField(
                    model_name='settlementpayout',
                    name='settlement',
                ),
                migrations.RemoveField(
                    model_name='settlementline',
                    name='settlement',
                ),
                migrations.DeleteModel(
                    name='BrandPayoutAccount',
                ),
                migrations.DeleteModel(
                    name='CommissionLine',
                ),
                migrations.DeleteModel(
                    name='CommissionTerms',
                ),
                migrations.DeleteModel(
                    name='Payout',
                ),
                migrations.DeleteModel(
                    name='PayoutAccount',
                ),
                migrations.DeleteModel(
                    name='SettlementPayout',
                ),
                migrations.DeleteModel(
                    name='Settlement',
                ),
                migrations.DeleteModel(
                    name='SettlementLine',
                ),
            ],
            database_operations=[],
        ),
    ]
