"""Commission holds: a held line is neither approved nor paid; released, it is paid once;
reversed, its commission is taken back once; creators see the reason code, never the detail."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.test import Client
from django.utils import timezone

from commissions.errors import HoldAlreadyResolved, PayoutBelowMinimum
from commissions.models import CommissionHold, CommissionLine, Payout
from commissions.selectors.ledger import commission_balances
from commissions.selectors.reconciliation import commission_ledger_differences
from commissions.services import payouts, recording
from commissions.services.approval import commissions_approve_due
from commissions.services.holds import (
    commission_hold_release,
    commission_hold_reverse,
    commission_lines_hold,
)
from common.errors import NotFound
from creators.models import Creator
from orders.models import Refund, RefundLine
from shop.models import Brand, BrandMember
from tests.commissions.helpers import paid_order, variant_of
from tests.conftest import client_for
from tests.creators.factories import CreatorFactory, PayoutAccountFactory
from tests.creators.test_admin_collaborations import changelist_pks, login
from tests.shop.factories import BrandFactory

pytestmark = pytest.mark.django_db
Status = CommissionLine.Status
HOLDS_URL = "/admin/commissions/commissionhold/"


def sale(
    creator: Creator, total: str = "300.00", *, brand: Brand | None = None, days_ago: int = 40
) -> CommissionLine:
    order = paid_order(
        (variant_of(brand), total),
        creator=creator,
        paid_at=timezone.now() - timedelta(days=days_ago),
    )
    recording.commission_record_for_orders(order_ids=[order.pk])
    return CommissionLine.objects.get(order_id=order.pk)


@pytest.fixture
def creator() -> Creator:
    creator = CreatorFactory.create()
    PayoutAccountFactory.create(creator=creator, provider="manual", stripe_account_id=None)
    return creator


def pay_out(creator: Creator) -> Payout:
    return payouts.payout_create_for_creator(creator_id=creator.pk, currency="USD")


def test_holding_twice_keeps_one_open_hold_with_the_first_detail(creator):
    line = sale(creator)

    first = commission_lines_hold(line_ids=[line.pk], reason="dispute", detail={"dispute": "dp_1"})
    again = commission_lines_hold(line_ids=[line.pk], reason="dispute", detail={"dispute": "dp_2"})

    assert [h.pk for h in again] == [h.pk for h in first]
    assert CommissionHold.objects.get().detail == {"dispute": "dp_1"}


def test_a_second_open_hold_for_the_same_reason_is_refused_by_the_database(creator):
    line = sale(creator)
    commission_lines_hold(line_ids=[line.pk], reason="dispute")

    with pytest.raises(IntegrityError), transaction.atomic():
        CommissionHold.objects.create(line=line, reason="dispute")


def test_holding_an_unknown_line_is_not_found_and_writes_nothing(creator):
    line = sale(creator)

    with pytest.raises(NotFound) as caught:
        commission_lines_hold(line_ids=[line.pk, line.pk + 1000], reason="dispute")

    assert caught.value.code == "commission_line_not_found"
    assert not CommissionHold.objects.exists()


def test_a_held_line_is_not_approved_and_released_is_approved_and_paid_once(creator):
    line = sale(creator)
    hold = commission_lines_hold(line_ids=[line.pk], reason="fraud_self_dealing")[0]

    assert commissions_approve_due().approved == 0
    line.refresh_from_db()
    assert line.status == Status.PENDING

    commission_hold_release(hold_id=hold.pk)
    commission_hold_release(hold_id=hold.pk)  # twice: nothing more
    assert commissions_approve_due().approved == 1
    payout = pay_out(creator)

    assert payout.amount == Decimal("30.00")
    with pytest.raises(PayoutBelowMinimum):
        pay_out(creator)
    line.refresh_from_db()
    assert (line.status, line.payout_id) == (Status.PAID, payout.pk)


def test_an_approved_line_held_is_left_out_of_payouts_until_released(creator):
    held = sale(creator, "300.00")
    other = sale(creator, "400.00")
    commissions_approve_due()
    hold = commission_lines_hold(line_ids=[held.pk], reason="dispute")[0]

    first = pay_out(creator)
    assert first.amount == Decimal("40.00")
    assert set(first.lines.values_list("pk", flat=True)) == {other.pk}
    with pytest.raises(PayoutBelowMinimum):
        pay_out(creator)  # 30.00 approved, all of it held

    commission_hold_release(hold_id=hold.pk)
    second = pay_out(creator)
    assert second.amount == Decimal("30.00")
    assert list(second.lines.values_list("pk", flat=True)) == [held.pk]


def test_releasing_one_of_two_holds_keeps_the_line_held(creator):
    line = sale(creator)
    dispute, fraud = (
        commission_lines_hold(line_ids=[line.pk], reason=reason)[0]
        for reason in ("dispute", "fraud_device")
    )

    commission_hold_release(hold_id=dispute.pk)
    assert commissions_approve_due().approved == 0

    commission_hold_release(hold_id=fraud.pk)
    assert commissions_approve_due().approved == 1


def test_reversing_an_unpaid_hold_voids_it_once_and_the_ledger_agrees(creator):
    line = sale(creator)
    hold = commission_lines_hold(line_ids=[line.pk], reason="fraud_self_dealing")[0]

    commission_hold_reverse(hold_id=hold.pk)
    commission_hold_reverse(hold_id=hold.pk)

    rows = CommissionLine.objects.filter(order_line_id=line.order_line_id).order_by("pk")
    assert [(r.kind, r.status, r.amount) for r in rows] == [
        ("commission", Status.VOIDED, Decimal("30.000")),
        ("reversal", Status.VOIDED, Decimal("-30.000")),
    ]
    assert commission_ledger_differences(order_line_ids=[line.order_line_id]) == []
    assert commissions_approve_due().approved == 0


def test_a_hold_reversed_after_payout_goes_negative_and_nets_from_the_next_payout(creator):
    line = sale(creator, "300.00")
    commissions_approve_due()
    pay_out(creator)
    hold = commission_lines_hold(line_ids=[line.pk], reason="dispute")[0]

    commission_hold_reverse(hold_id=hold.pk)

    (balance,) = commission_balances(creator=creator)
    assert balance.approved == Decimal("-30.00")
    sale(creator, "700.00")
    commissions_approve_due()
    assert pay_out(creator).amount == Decimal("40.00")
    assert commission_ledger_differences(order_line_ids=[line.order_line_id]) == []


def test_a_partial_hold_reverses_only_its_share_with_the_refunds_before_it(creator):
    line = sale(creator, "300.00")
    refund = Refund.objects.create(
        order_id=line.order_id,
        brand_id=line.brand_id,
        amount=Decimal("100.00"),
        currency="USD",
        status=Refund.Status.SUCCEEDED,
    )
    RefundLine.objects.create(
        refund=refund,
        order_line_id=line.order_line_id,
        brand_id=line.brand_id,
        amount=Decimal("100.00"),
    )
    recording.commission_reverse_for_refund(
        order_line_id=line.order_line_id, refund_id="re_1", refunded_to_date=Decimal("100.00")
    )
    hold = commission_lines_hold(
        line_ids=[line.pk], reason="dispute", amounts={line.pk: Decimal("50.00")}
    )[0]

    commission_hold_reverse(hold_id=hold.pk)

    total = sum(
        CommissionLine.objects.filter(order_line_id=line.order_line_id).values_list(
            "amount", flat=True
        )
    )
    assert total == Decimal("15.00")  # 10% of the 150.00 kept
    # The refund seen again (a late event, the reconciliation) reverses nothing more.
    assert recording.commissions_reconcile_refunds(order_line_ids=[line.order_line_id]) == 0
    assert commission_ledger_differences(order_line_ids=[line.order_line_id]) == []
    assert commissions_approve_due().approved == 3


def test_a_resolved_hold_cannot_be_resolved_the_other_way(creator):
    line = sale(creator)
    hold = commission_lines_hold(line_ids=[line.pk], reason="dispute")[0]
    commission_hold_release(hold_id=hold.pk)

    with pytest.raises(HoldAlreadyResolved):
        commission_hold_reverse(hold_id=hold.pk)

    assert CommissionLine.objects.filter(kind="reversal").count() == 0


def test_the_creator_sees_under_review_with_the_reason_code_and_never_the_detail(creator):
    line = sale(creator)
    commission_lines_hold(
        line_ids=[line.pk], reason="fraud_self_dealing", detail={"device": "secret-device"}
    )
    api = client_for(creator.user)

    body = api.get("/api/v1/creators/me/commissions/").json()
    balances = api.get("/api/v1/creators/me/commissions/balances/").json()["balances"]

    assert body["results"][0]["review"] == {
        "status": "under_review",
        "reasons": ["fraud_self_dealing"],
    }
    assert "secret-device" not in str(body)
    assert balances[0]["under_review"] == {"amount": "30.00", "currency": "USD"}
    assert balances[0]["pending"] == {"amount": "0.00", "currency": "USD"}


# --- the admin ------------------------------------------------------------------------


def test_a_brand_sees_and_resolves_only_its_own_holds(client: Client, creator):
    alpha, bravo = BrandFactory.create(slug="alpha"), BrandFactory.create(slug="bravo")
    mine = commission_lines_hold(line_ids=[sale(creator, brand=alpha).pk], reason="dispute")[0]
    theirs = commission_lines_hold(line_ids=[sale(creator, brand=bravo).pk], reason="dispute")[0]
    login(client, alpha, role=BrandMember.Role.MANAGER)

    assert changelist_pks(client, HOLDS_URL) == {mine.pk}
    assert client.get(f"{HOLDS_URL}{mine.pk}/change/").status_code == 200
    response = client.get(f"{HOLDS_URL}{theirs.pk}/change/", follow=True)
    assert response.redirect_chain[0][0] == "/admin/"

    client.post(
        HOLDS_URL,
        {"action": "release", "_selected_action": [mine.pk, theirs.pk]},
    )

    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.resolution == "released"
    assert mine.resolved_by is not None
    assert theirs.resolution == ""


def test_a_brand_viewer_cannot_release_or_reverse(client: Client, creator):
    brand = BrandFactory.create()
    hold = commission_lines_hold(line_ids=[sale(creator, brand=brand).pk], reason="dispute")[0]
    login(client, brand, role=BrandMember.Role.VIEWER)

    client.post(HOLDS_URL, {"action": "reverse", "_selected_action": [hold.pk]})

    hold.refresh_from_db()
    assert hold.resolution == ""
    assert not CommissionLine.objects.filter(kind="reversal").exists()


def test_releasing_and_reversing_are_in_the_brand_money_audit_once_each(creator):
    from accounts.models import MoneyAuditEntry
    from tests.factories import UserFactory

    staff = UserFactory.create()
    released_line, reversed_line = sale(creator), sale(creator, "120.00")
    released = commission_lines_hold(line_ids=[released_line.pk], reason="fraud_shared_device")[0]
    reversed_ = commission_lines_hold(line_ids=[reversed_line.pk], reason="dispute")[0]

    commission_hold_release(hold_id=released.pk, actor=staff)
    commission_hold_release(hold_id=released.pk, actor=staff)  # twice: one row
    commission_hold_reverse(hold_id=reversed_.pk)  # the system: a lost dispute

    rows = {
        row.action: row
        for row in MoneyAuditEntry.objects.filter(subject_type="commissions.commissionhold")
    }
    assert MoneyAuditEntry.objects.filter(subject_type="commissions.commissionhold").count() == 2
    release = rows["commission_release"]
    assert (release.brand_id, release.actor_id, release.subject_id) == (
        released_line.brand_id,
        staff.pk,
        str(released.pk),
    )
    assert (release.amount, release.currency) == (Decimal("30.00"), "USD")
    assert release.detail["reason"] == "fraud_shared_device"
    reverse = rows["commission_reverse"]
    assert (reverse.brand_id, reverse.actor_id, reverse.actor_label) == (
        reversed_line.brand_id,
        None,
        "dispute hold",
    )
    assert reverse.amount == Decimal("12.00")
