"""The money audit: every money action in the admin lands in an append-only list per brand,
and each brand's staff see their own brand's entries only."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import DatabaseError, transaction
from django.test import Client
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import MoneyAuditEntry
from commissions.models import SettlementPayout
from commissions.services.approval import commissions_approve_due
from commissions.services.payouts import payout_create_for_creator
from commissions.services.recording import commission_record_for_orders
from commissions.services.settlement_payouts import settlement_payout_create
from orders.models import Fulfilment, OrderLine, Refund, Shipment
from shop.models import BrandMember
from tests.commissions.test_admin import superuser
from tests.commissions.test_settlement_payouts import START, connected, manual, settlement
from tests.commissions.test_settlement_payouts import URL as SETTLEMENTS
from tests.creators.factories import CreatorFactory, PayoutAccountFactory
from tests.creators.test_admin_collaborations import login
from tests.orders.aftersale_helpers import two_brand_order
from tests.shop.factories import BrandFactory

pytestmark = pytest.mark.django_db

AUDIT = "/admin/accounts/moneyauditentry/"
DESK = "/admin/orders/fulfilment/"
Action = MoneyAuditEntry.Action


def audit_rows(client: Client) -> list[MoneyAuditEntry]:
    response = client.get(AUDIT)
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


@pytest.mark.usefixtures("stripe_emulator")
def test_a_refund_from_the_desk_is_audited_for_its_brand_with_who_and_how_much(client):
    t = two_brand_order(qty_a=2, price_a="20.00")
    client.force_login(t.owner_a)
    desk = Fulfilment.objects.get(order=t.order, brand=t.brand_a)

    client.post(f"{DESK}{desk.pk}/refund/", {f"qty_{t.line_a.pk}": "1", "reason": "duplicate"})

    entry = MoneyAuditEntry.objects.get()
    refund = Refund.objects.get()
    assert (entry.brand_id, entry.action, entry.actor_id) == (
        t.brand_a.pk,
        Action.REFUND,
        t.owner_a.pk,
    )
    assert (entry.amount, entry.currency) == (Decimal("20.00"), "USD")
    assert (entry.subject_type, entry.subject_id) == ("orders.refund", str(refund.pk))
    assert entry.detail["order_id"] == t.order.pk


@pytest.mark.usefixtures("stripe_emulator")
def test_a_refused_refund_leaves_no_audit_entry(client):
    t = two_brand_order(qty_a=1, price_a="20.00")
    client.force_login(t.owner_a)
    desk = Fulfilment.objects.get(order=t.order, brand=t.brand_a)

    response = client.post(f"{DESK}{desk.pk}/refund/", {f"amount_{t.line_a.pk}": "999.00"})

    assert response.status_code in (200, 409)
    assert not Refund.objects.exists()
    assert not MoneyAuditEntry.objects.exists()


@pytest.mark.usefixtures("stripe_emulator")
def test_a_shipment_is_audited_for_its_brand(client):
    t = two_brand_order()
    client.force_login(t.owner_a)
    desk = Fulfilment.objects.get(order=t.order, brand=t.brand_a)

    response = client.post(
        f"{DESK}{desk.pk}/ship/",
        {"carrier": "UPS", "tracking_number": "1Z9", f"qty_{t.line_a.pk}": "1"},
    )

    assert response.status_code == 302, response.content[:300]
    entry = MoneyAuditEntry.objects.get()
    assert (entry.brand_id, entry.action, entry.actor_id) == (
        t.brand_a.pk,
        Action.SHIP,
        t.owner_a.pk,
    )
    assert entry.subject_id == str(Shipment.objects.get().pk)
    assert entry.detail["tracking_number"] == "1Z9"
    assert entry.amount is None


def test_paying_a_settlement_from_the_admin_is_audited(client, stripe_emulator, on_commit):
    alpha = BrandFactory.create(slug="alpha")
    connected(alpha)
    statement = settlement(alpha, "45.00")
    login(client, alpha, role=BrandMember.Role.MANAGER)
    user = BrandMember.objects.get(brand=alpha).user

    on_commit(client.post, SETTLEMENTS, {"action": "pay", "_selected_action": [statement.pk]})
    # Asked again: the live attempt is returned, nothing is paid or audited twice.
    on_commit(client.post, SETTLEMENTS, {"action": "pay", "_selected_action": [statement.pk]})

    entry = MoneyAuditEntry.objects.get()
    assert (entry.brand_id, entry.action) == (alpha.pk, Action.SETTLEMENT_PAYMENT)
    assert (entry.actor_id, entry.actor_label) == (user.pk, user.email)
    assert (entry.amount, entry.currency) == (Decimal("45.00"), "USD")
    assert entry.subject_id == str(SettlementPayout.objects.get().pk)
    assert entry.detail["settlement_id"] == statement.pk


@pytest.mark.usefixtures("stripe_emulator")
def test_a_creator_payout_is_audited_once_per_brand_with_that_brands_part(settings):
    settings.COMMISSION_PAYOUT_MINIMUM = "1.00"
    t = two_brand_order(qty_a=2, price_a="20.00")
    creator = CreatorFactory.create()
    OrderLine.objects.filter(order=t.order).update(
        attributed_creator_id=creator.pk,
        commission_rate=Decimal("10.00"),
        attribution={"credited": True, "rule": "last_click", "rate": "10.00"},
    )
    assert commission_record_for_orders(order_ids=[t.order.pk]) == 2
    later = timezone.now() + timedelta(days=365)
    commissions_approve_due(now=later)
    PayoutAccountFactory.create(creator=creator, provider="manual", stripe_account_id=None)

    payout = payout_create_for_creator(creator_id=creator.pk, currency="USD", now=later)

    entries = {e.brand_id: e for e in MoneyAuditEntry.objects.all()}
    assert set(entries) == {t.brand_a.pk, t.brand_b.pk}
    assert sum(e.amount or Decimal(0) for e in entries.values()) == payout.amount
    assert entries[t.brand_a.pk].amount == Decimal("4.00")  # 10% of brand A's 40.00
    assert {e.actor_label for e in entries.values()} == {"scheduled payouts"}
    assert {e.action for e in entries.values()} == {Action.PAYOUT}


def _entry(brand_id: int, label: str) -> MoneyAuditEntry:
    with transaction.atomic():
        return audit_record(
            brand_id=brand_id,
            actor=None,
            actor_label=label,
            action=Action.REFUND,
            subject=("orders.refund", 1),
            amount=Decimal("5"),
            currency="usd",
        )


def test_brand_a_never_sees_brand_bs_entries(client):
    alpha, bravo = BrandFactory.create(), BrandFactory.create()
    mine, theirs = _entry(alpha.pk, "alpha's"), _entry(bravo.pk, "bravo's")
    login(client, alpha, role=BrandMember.Role.VIEWER)

    rows = audit_rows(client)
    searched = list(client.get(AUDIT, {"q": "bravo"}).context["cl"].result_list)
    other = client.get(f"{AUDIT}{theirs.pk}/change/", follow=True)

    assert [r.pk for r in rows] == [mine.pk]
    assert searched == []
    assert other.redirect_chain[0][0] == "/admin/"
    page = client.get(f"{AUDIT}{mine.pk}/change/").content.decode()
    assert "$5.00" in page
    assert alpha.name in page


def test_the_audit_is_read_only_in_the_admin(client):
    alpha = BrandFactory.create()
    entry = _entry(alpha.pk, "x")
    login(client, alpha, role=BrandMember.Role.OWNER)

    page = client.get(AUDIT)
    response = client.post(f"{AUDIT}{entry.pk}/delete/", {"post": "yes"})

    assert page.context["has_add_permission"] is False
    assert response.status_code == 403
    assert MoneyAuditEntry.objects.filter(pk=entry.pk).exists()


def test_the_audit_is_in_the_money_group_of_the_sidebar(client):
    alpha = BrandFactory.create()
    login(client, alpha, role=BrandMember.Role.VIEWER)

    groups = client.get("/admin/").context["sidebar_navigation"]
    money = next(g for g in groups if g["title"] == "Money")

    assert any(item["link"] == AUDIT and item["has_permission"] for item in money["items"])


def test_the_database_refuses_to_change_or_delete_an_entry():
    entry = _entry(BrandFactory.create().pk, "x")

    with pytest.raises(DatabaseError), transaction.atomic():
        MoneyAuditEntry.objects.filter(pk=entry.pk).update(amount=Decimal("1"))
    with pytest.raises(DatabaseError), transaction.atomic():
        MoneyAuditEntry.objects.filter(pk=entry.pk).delete()

    entry.refresh_from_db()
    assert entry.amount == Decimal("5.00")


@pytest.mark.django_db(transaction=True)
def test_recording_outside_a_transaction_is_a_programming_error():
    with pytest.raises(RuntimeError, match="inside the money action's transaction"):
        audit_record(
            brand_id=1,
            actor=None,
            action=Action.SHIP,
            subject=("orders.shipment", 1),
        )


def test_an_amount_without_a_currency_is_refused():
    with pytest.raises(ValueError, match="needs its currency"), transaction.atomic():
        audit_record(
            brand_id=1, actor=None, action=Action.REFUND, subject=("x.y", 1), amount=Decimal(1)
        )


def test_marking_a_manual_settlement_payment_paid_or_failed_is_audited_with_who(client, on_commit):
    brand = BrandFactory.create()
    manual(brand)
    paid = on_commit(settlement_payout_create, settlement_id=settlement(brand, "120.50").pk)
    rejected = on_commit(
        settlement_payout_create,
        settlement_id=settlement(brand, "20.00", start=START + timedelta(days=31)).pk,
    )
    superuser(client)
    staff = client.session["_auth_user_id"]
    url = "/admin/commissions/settlementpayout/"

    client.post(url, {"action": "mark_paid", "_selected_action": [paid.pk]})
    client.post(url, {"action": "mark_paid", "_selected_action": [paid.pk]})  # paid stays paid
    client.post(url, {"action": "mark_failed", "_selected_action": [rejected.pk]})

    marked = {
        e.action: e for e in MoneyAuditEntry.objects.exclude(action=Action.SETTLEMENT_PAYMENT)
    }
    assert set(marked) == {Action.SETTLEMENT_MANUAL_PAID, Action.SETTLEMENT_MANUAL_FAILED}
    assert MoneyAuditEntry.objects.filter(action=Action.SETTLEMENT_MANUAL_PAID).count() == 1
    assert marked[Action.SETTLEMENT_MANUAL_PAID].amount == Decimal("120.50")
    assert marked[Action.SETTLEMENT_MANUAL_FAILED].subject_id == str(rejected.pk)
    assert {str(e.actor_id) for e in marked.values()} == {staff}
    assert {e.brand_id for e in marked.values()} == {brand.pk}
