# The ledger, payout accounts, payouts and settlements move from creators to commissions: the
# state moves, the tables (their creators_* names), their rows, content type ids and
# permissions stay. creators 0010 then drops them from its own state.

import django.core.validators
import django.db.models.deletion
import django.db.models.expressions
from decimal import Decimal
from django.db import migrations, models

from common.migration_ops import content_types_move


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('creators', '0009_click_partitions'),
        ('shop', '0008_product_lowest_price'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='Payout',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('currency', models.CharField(max_length=3)),
                        ('amount', models.DecimalField(decimal_places=3, max_digits=14)),
                        ('status', models.CharField(choices=[('pending', 'Pending (not sent yet)'), ('processing', 'Processing'), ('paid', 'Paid'), ('failed', 'Failed')], default='pending', max_length=20)),
                        ('provider', models.CharField(choices=[('stripe', 'Stripe Connect'), ('manual', 'Bank transfer (CSV export)')], max_length=20)),
                        ('destination', models.CharField(blank=True, max_length=255)),
                        ('reference', models.CharField(blank=True, help_text="The Stripe transfer id, or the bank's reference.", max_length=255)),
                        ('attempts', models.PositiveIntegerField(default=0)),
                        ('lease_until', models.DateTimeField(blank=True, null=True)),
                        ('last_error', models.TextField(blank=True)),
                        ('failure_code', models.CharField(blank=True, max_length=100)),
                        ('failure_message', models.TextField(blank=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('sent_at', models.DateTimeField(blank=True, null=True)),
                        ('paid_at', models.DateTimeField(blank=True, null=True)),
                        ('failed_at', models.DateTimeField(blank=True, null=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('creator', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='payouts', to='creators.creator')),
                    ],
                    options={
                        'db_table': 'creators_payout',
                        'ordering': ('-id',),
                    },
                ),
                migrations.CreateModel(
                    name='CommissionLine',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('kind', models.CharField(choices=[('commission', 'Commission'), ('reversal', 'Reversal')], max_length=20)),
                        ('status', models.CharField(choices=[('pending', 'Pending (in hold)'), ('approved', 'Approved (payable)'), ('paid', 'Paid'), ('voided', 'Void (refunded in hold)')], default='pending', max_length=20)),
                        ('order_id', models.PositiveBigIntegerField()),
                        ('order_line_id', models.PositiveBigIntegerField()),
                        ('refund_id', models.CharField(blank=True, help_text='The refund a reversal answers; empty otherwise.', max_length=255)),
                        ('currency', models.CharField(max_length=3)),
                        ('base', models.DecimalField(decimal_places=3, help_text="Commission: the line's paid amount, shipping excluded. Reversal: the part of it refunded since the previous reversal, negative.", max_digits=14)),
                        ('rate', models.DecimalField(decimal_places=2, max_digits=5, validators=[django.core.validators.MinValueValidator(Decimal('0')), django.core.validators.MaxValueValidator(Decimal('100'))])),
                        ('amount', models.DecimalField(decimal_places=3, max_digits=14)),
                        ('refunded_to_date', models.DecimalField(blank=True, decimal_places=3, help_text="Reversal: the line's refunds so far, which this reversal brings the ledger to.", max_digits=14, null=True)),
                        ('receipt', models.JSONField(blank=True, default=dict)),
                        ('earned_at', models.DateTimeField(help_text='When the order was paid, or the refund seen.')),
                        ('payable_at', models.DateTimeField()),
                        ('approved_at', models.DateTimeField(blank=True, null=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('brand', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='shop.brand')),
                        ('creator', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='commissions', to='creators.creator')),
                        ('link', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='commissions', to='creators.affiliatelink')),
                        ('payout', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='lines', to='commissions.payout')),
                    ],
                    options={
                        'db_table': 'creators_commissionline',
                        'ordering': ('-id',),
                    },
                ),
                migrations.CreateModel(
                    name='PayoutAccount',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('provider', models.CharField(choices=[('stripe', 'Stripe Connect'), ('manual', 'Bank transfer (CSV export)')], default='stripe', max_length=20)),
                        ('stripe_account_id', models.CharField(blank=True, max_length=255, null=True, unique=True)),
                        ('status', models.CharField(choices=[('onboarding', 'Onboarding'), ('ready', 'Ready'), ('restricted', 'Restricted')], default='onboarding', max_length=20)),
                        ('payouts_enabled', models.BooleanField(default=False)),
                        ('details_submitted', models.BooleanField(default=False)),
                        ('disabled_reason', models.CharField(blank=True, max_length=100)),
                        ('currently_due', models.JSONField(blank=True, default=list)),
                        ('bank_reference', models.CharField(blank=True, help_text='Manual payouts: how the bank identifies the payee.', max_length=200)),
                        ('synced_at', models.DateTimeField(blank=True, null=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('creator', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='payout_account', to='creators.creator')),
                    ],
                    options={
                        'db_table': 'creators_payoutaccount',
                    },
                ),
                migrations.CreateModel(
                    name='Settlement',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('period_start', models.DateTimeField()),
                        ('period_end', models.DateTimeField(help_text='Exclusive.')),
                        ('currency', models.CharField(max_length=3)),
                        ('gross', models.DecimalField(decimal_places=3, max_digits=14)),
                        ('refunds', models.DecimalField(decimal_places=3, max_digits=14)),
                        ('commissions', models.DecimalField(decimal_places=3, help_text='Commissions earned less reversals.', max_digits=14)),
                        ('platform_fee_percent', models.DecimalField(decimal_places=2, max_digits=5)),
                        ('platform_fee', models.DecimalField(decimal_places=3, max_digits=14)),
                        ('amount_due', models.DecimalField(decimal_places=3, help_text='What Tribe owes the brand; negative when the brand owes Tribe.', max_digits=14)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('brand', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='settlements', to='shop.brand')),
                    ],
                    options={
                        'db_table': 'creators_settlement',
                        'ordering': ('-period_start', '-id'),
                    },
                ),
                migrations.CreateModel(
                    name='SettlementLine',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('kind', models.CharField(choices=[('sale', 'Sale'), ('shipping', 'Shipping'), ('refund', 'Refund'), ('commission', 'Creator commission'), ('reversal', 'Commission reversal'), ('platform_fee', 'Platform fee')], max_length=20)),
                        ('order_id', models.PositiveBigIntegerField(blank=True, null=True)),
                        ('order_line_id', models.PositiveBigIntegerField(blank=True, null=True)),
                        ('refund_id', models.PositiveBigIntegerField(blank=True, null=True)),
                        ('occurred_at', models.DateTimeField(blank=True, null=True)),
                        ('amount', models.DecimalField(decimal_places=3, max_digits=14)),
                        ('commission_line', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='commissions.commissionline')),
                        ('settlement', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='lines', to='commissions.settlement')),
                    ],
                    options={
                        'db_table': 'creators_settlementline',
                        'ordering': ('id',),
                    },
                ),
                migrations.CreateModel(
                    name='SettlementPayout',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('currency', models.CharField(max_length=3)),
                        ('amount', models.DecimalField(decimal_places=3, max_digits=14)),
                        ('status', models.CharField(choices=[('pending', 'Pending (not sent yet)'), ('processing', 'Processing'), ('paid', 'Paid'), ('failed', 'Failed')], default='pending', max_length=20)),
                        ('provider', models.CharField(choices=[('stripe', 'Stripe Connect'), ('manual', 'Bank transfer (CSV export)')], max_length=20)),
                        ('destination', models.CharField(blank=True, max_length=255)),
                        ('reference', models.CharField(blank=True, help_text="The Stripe transfer id, or the bank's reference.", max_length=255)),
                        ('attempts', models.PositiveIntegerField(default=0)),
                        ('lease_until', models.DateTimeField(blank=True, null=True)),
                        ('last_error', models.TextField(blank=True)),
                        ('failure_code', models.CharField(blank=True, max_length=100)),
                        ('failure_message', models.TextField(blank=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('sent_at', models.DateTimeField(blank=True, null=True)),
                        ('paid_at', models.DateTimeField(blank=True, null=True)),
                        ('failed_at', models.DateTimeField(blank=True, null=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('settlement', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='payouts', to='commissions.settlement')),
                    ],
                    options={
                        'db_table': 'creators_settlementpayout',
                        'ordering': ('-id',),
                    },
                ),
                migrations.CreateModel(
                    name='BrandPayoutAccount',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('provider', models.CharField(choices=[('stripe', 'Stripe Connect'), ('manual', 'Bank transfer (CSV export)')], default='stripe', max_length=20)),
                        ('stripe_account_id', models.CharField(blank=True, max_length=255, null=True, unique=True)),
                        ('status', models.CharField(choices=[('onboarding', 'Onboarding'), ('ready', 'Ready'), ('restricted', 'Restricted')], default='onboarding', max_length=20)),
                        ('payouts_enabled', models.BooleanField(default=False)),
                        ('details_submitted', models.BooleanField(default=False)),
                        ('disabled_reason', models.CharField(blank=True, max_length=100)),
                        ('currently_due', models.JSONField(blank=True, default=list)),
                        ('bank_reference', models.CharField(blank=True, help_text='Manual payouts: how the bank identifies the payee.', max_length=200)),
                        ('synced_at', models.DateTimeField(blank=True, null=True)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('brand', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='payout_account', to='shop.brand')),
                    ],
                    options={
                        'db_table': 'creators_brandpayoutaccount',
                        'constraints': [models.CheckConstraint(condition=models.Q(models.Q(('provider', 'stripe'), ('status', 'ready'), _negated=True), ('stripe_account_id__isnull', False), _connector='OR'), name='brand_payout_account_ready_stripe_has_id')],
                    },
                ),
                migrations.CreateModel(
                    name='CommissionTerms',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('hold_days', models.PositiveSmallIntegerField(default=30, help_text='Days after payment before a commission may be paid out (returns window). Changes apply to sales made afterwards.', validators=[django.core.validators.MinValueValidator(0), django.core.validators.MaxValueValidator(120)])),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                        ('brand', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name='commission_terms', to='shop.brand')),
                    ],
                    options={
                        'verbose_name': 'commission terms',
                        'verbose_name_plural': 'commission terms',
                        'db_table': 'creators_commissionterms',
                        'constraints': [models.CheckConstraint(condition=models.Q(('hold_days__gte', 0), ('hold_days__lte', 120)), name='commission_terms_hold_0_120')],
                    },
                ),
                migrations.AddIndex(
                    model_name='payout',
                    index=models.Index(fields=['creator', '-id'], name='payout_creator_recent'),
                ),
                migrations.AddIndex(
                    model_name='payout',
                    index=models.Index(condition=models.Q(('status__in', ['pending', 'processing'])), fields=['lease_until'], name='payout_in_flight'),
                ),
                migrations.AddConstraint(
                    model_name='payout',
                    constraint=models.CheckConstraint(condition=models.Q(('amount__gt', 0)), name='payout_amount_positive'),
                ),
                migrations.AddConstraint(
                    model_name='payout',
                    constraint=models.CheckConstraint(condition=models.Q(('currency__regex', '^[A-Z]{3}$')), name='payout_currency_iso'),
                ),
                migrations.AddConstraint(
                    model_name='payout',
                    constraint=models.UniqueConstraint(condition=models.Q(('reference', ''), _negated=True), fields=('provider', 'reference'), name='payout_reference_unique'),
                ),
                migrations.AddIndex(
                    model_name='commissionline',
                    index=models.Index(condition=models.Q(('kind', 'commission'), ('status', 'pending')), fields=['payable_at', 'id'], name='commission_pending_due'),
                ),
                migrations.AddIndex(
                    model_name='commissionline',
                    index=models.Index(fields=['creator', 'currency', 'status'], name='commission_balance'),
                ),
                migrations.AddIndex(
                    model_name='commissionline',
                    index=models.Index(fields=['creator', '-id'], name='commission_creator_recent'),
                ),
                migrations.AddIndex(
                    model_name='commissionline',
                    index=models.Index(fields=['brand', 'status'], name='commission_brand_status'),
                ),
                migrations.AddConstraint(
                    model_name='commissionline',
                    constraint=models.UniqueConstraint(fields=('order_line_id', 'kind', 'refund_id'), name='commission_line_unique'),
                ),
                migrations.AddConstraint(
                    model_name='commissionline',
                    constraint=models.CheckConstraint(condition=models.Q(models.Q(('amount__gte', 0), ('base__gte', 0), ('kind', 'commission'), ('refund_id', '')), models.Q(('amount__lte', 0), ('base__lte', 0), ('kind', 'reversal'), models.Q(('refund_id', ''), _negated=True)), _connector='OR'), name='commission_line_kind_signs'),
                ),
                migrations.AddConstraint(
                    model_name='commissionline',
                    constraint=models.CheckConstraint(condition=models.Q(models.Q(('payout__isnull', False), ('status', 'paid')), models.Q(models.Q(('status', 'paid'), _negated=True), ('payout__isnull', True)), _connector='OR'), name='commission_line_paid_has_payout'),
                ),
                migrations.AddConstraint(
                    model_name='commissionline',
                    constraint=models.CheckConstraint(condition=models.Q(('rate__gte', 0), ('rate__lte', 100)), name='commission_line_rate_0_100'),
                ),
                migrations.AddConstraint(
                    model_name='commissionline',
                    constraint=models.CheckConstraint(condition=models.Q(('currency__regex', '^[A-Z]{3}$')), name='commission_line_currency_iso'),
                ),
                migrations.AddConstraint(
                    model_name='payoutaccount',
                    constraint=models.CheckConstraint(condition=models.Q(models.Q(('provider', 'stripe'), _negated=True), ('stripe_account_id__isnull', False), _connector='OR'), name='payout_account_stripe_has_id'),
                ),
                migrations.AddConstraint(
                    model_name='settlement',
                    constraint=models.UniqueConstraint(fields=('brand', 'period_start', 'period_end', 'currency'), name='settlement_unique_period'),
                ),
                migrations.AddConstraint(
                    model_name='settlement',
                    constraint=models.CheckConstraint(condition=models.Q(('period_end__gt', models.F('period_start'))), name='settlement_period_forward'),
                ),
                migrations.AddConstraint(
                    model_name='settlement',
                    constraint=models.CheckConstraint(condition=models.Q(('amount_due', django.db.models.expressions.CombinedExpression(django.db.models.expressions.CombinedExpression(django.db.models.expressions.CombinedExpression(models.F('gross'), '-', models.F('refunds')), '-', models.F('commissions')), '-', models.F('platform_fee')))), name='settlement_adds_up'),
                ),
                migrations.AddConstraint(
                    model_name='settlement',
                    constraint=models.CheckConstraint(condition=models.Q(('currency__regex', '^[A-Z]{3}$')), name='settlement_currency_iso'),
                ),
                migrations.AddIndex(
                    model_name='settlementline',
                    index=models.Index(fields=['settlement', 'kind'], name='settlement_line_kind'),
                ),
                migrations.AddIndex(
                    model_name='settlementpayout',
                    index=models.Index(condition=models.Q(('status__in', ['pending', 'processing'])), fields=['lease_until'], name='settlement_payout_in_flight'),
                ),
                migrations.AddConstraint(
                    model_name='settlementpayout',
                    constraint=models.CheckConstraint(condition=models.Q(('amount__gt', 0)), name='settlement_payout_amount_positive'),
                ),
                migrations.AddConstraint(
                    model_name='settlementpayout',
                    constraint=models.CheckConstraint(condition=models.Q(('currency__regex', '^[A-Z]{3}$')), name='settlement_payout_currency_iso'),
                ),
                migrations.AddConstraint(
                    model_name='settlementpayout',
                    constraint=models.UniqueConstraint(condition=models.Q(('status', 'failed'), _negated=True), fields=('settlement',), name='settlement_payout_one_live'),
                ),
                migrations.AddConstraint(
                    model_name='settlementpayout',
                    constraint=models.UniqueConstraint(condition=models.Q(('reference', ''), _negated=True), fields=('provider', 'reference'), name='settlement_payout_reference_unique'),
                ),
            ],
            database_operations=[],
        ),
        content_types_move(
            'creators',
            'commissions',
            'commissionterms',
            'commissionline',
            'payoutaccount',
            'brandpayoutaccount',
            'payout',
            'settlement',
            'settlementline',
            'settlementpayout',
        ),
    ]
