"""The ledger's tables move from creators to commissions with their rows, content types and
permissions (commissions 0001, creators 0010)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from tests.creators.factories import CreatorFactory
from tests.shop.factories import BrandFactory

# The leaf migrations of the apps involved before the move.
OLD_LEAVES = [("creators", "0009_click_partitions"), ("commissions", None)]
MOVED = (
    "commissionterms",
    "commissionline",
    "payoutaccount",
    "brandpayoutaccount",
    "payout",
    "settlement",
    "settlementline",
    "settlementpayout",
)


def _old_state_nodes(executor: MigrationExecutor) -> list[tuple[str, str]]:
    moved = {app for app, _ in OLD_LEAVES}
    return [node for node in executor.loader.graph.leaf_nodes() if node[0] not in moved] + [
        (app, name) for app, name in OLD_LEAVES if name is not None
    ]


def _migrate(targets: list[tuple[str, str | None]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return MigrationExecutor(connection)  # a fresh loader that sees what was just applied


@pytest.mark.django_db(transaction=True)
def test_ledger_rows_content_types_and_permissions_survive_the_move_to_commissions() -> None:
    # Given today's schema with a commission line, a payout, a settlement and a connected
    # account written through the creators app's models
    creator, brand = CreatorFactory.create(), BrandFactory.create()
    executor = _migrate(OLD_LEAVES)
    old_apps = executor.loader.project_state(_old_state_nodes(executor)).apps
    now = timezone.now()
    account = old_apps.get_model("creators", "PayoutAccount").objects.create(
        creator_id=creator.pk, provider="stripe", stripe_account_id="acct_before_move"
    )
    payout = old_apps.get_model("creators", "Payout").objects.create(
        creator_id=creator.pk, currency="USD", amount=Decimal("12.500"), provider="stripe"
    )
    line = old_apps.get_model("creators", "CommissionLine").objects.create(
        kind="commission",
        status="paid",
        creator_id=creator.pk,
        brand_id=brand.pk,
        order_id=41,
        order_line_id=42,
        currency="USD",
        base=Decimal("125.000"),
        rate=Decimal("10.00"),
        amount=Decimal("12.500"),
        earned_at=now,
        payable_at=now + timedelta(days=14),
        payout_id=payout.pk,
    )
    settlement = old_apps.get_model("creators", "Settlement").objects.create(
        brand_id=brand.pk,
        period_start=now - timedelta(days=7),
        period_end=now,
        currency="USD",
        gross=Decimal("125.000"),
        refunds=Decimal("0"),
        commissions=Decimal("12.500"),
        platform_fee_percent=Decimal("5.00"),
        platform_fee=Decimal("6.250"),
        amount_due=Decimal("106.250"),
    )
    content_type_model = old_apps.get_model("contenttypes", "ContentType")
    old_types = {
        ct.model: ct.pk
        for ct in content_type_model.objects.filter(app_label="creators", model__in=MOVED)
    }
    permission = old_apps.get_model("auth", "Permission").objects.get(
        content_type_id=old_types["commissionline"], codename="view_commissionline"
    )
    assert set(old_types) == set(MOVED)

    # When the project migrates to the current leaves
    executor = _migrate(executor.loader.graph.leaf_nodes())
    ContentType.objects.clear_cache()

    # Then the rows read back through the commissions app's models, in the same tables
    from commissions.models import CommissionLine, Payout, PayoutAccount, Settlement

    assert CommissionLine._meta.db_table == "creators_commissionline"
    moved_line = CommissionLine.objects.select_related("payout").get(pk=line.pk)
    assert (moved_line.amount, moved_line.order_line_id, moved_line.creator_id) == (
        Decimal("12.500"),
        42,
        creator.pk,
    )
    assert moved_line.payout == Payout.objects.get(pk=payout.pk)
    assert PayoutAccount.objects.get(pk=account.pk).stripe_account_id == "acct_before_move"
    assert Settlement.objects.get(pk=settlement.pk).amount_due == Decimal("106.250")
    # and every content type kept its id under the new label, with its permissions
    for model, pk in old_types.items():
        content_type = ContentType.objects.get(pk=pk)
        assert (content_type.app_label, content_type.model) == ("commissions", model)
    assert not ContentType.objects.filter(app_label="creators", model__in=MOVED).exists()
    assert ContentType.objects.get_for_model(CommissionLine).pk == old_types["commissionline"]
    moved_permission = ContentType.objects.get(pk=old_types["commissionline"]).permission_set.get(
        codename="view_commissionline"
    )
    assert moved_permission.pk == permission.pk


@pytest.mark.django_db(transaction=True)
def test_migrating_back_returns_the_content_types_to_creators() -> None:
    executor = _migrate(OLD_LEAVES)
    ContentType.objects.clear_cache()

    assert ContentType.objects.filter(app_label="creators", model="commissionline").exists()
    assert not ContentType.objects.filter(app_label="commissions", model="commissionline").exists()

    _migrate(executor.loader.graph.leaf_nodes())
    ContentType.objects.clear_cache()
    assert ContentType.objects.filter(app_label="commissions", model="commissionline").exists()
    assert not ContentType.objects.filter(app_label="creators", model="commissionline").exists()
