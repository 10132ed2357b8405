"""Brands see their commission liabilities and terms in the admin; payouts are superusers'."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.test import Client

from commissions.models import CommissionLine, CommissionTerms, Payout
from commissions.services import recording
from shop.models import Brand, BrandMember
from tests.commissions.helpers import paid_order, variant_of
from tests.creators.factories import CreatorFactory, PayoutAccountFactory
from tests.creators.test_admin_collaborations import changelist_pks, login
from tests.factories import UserFactory
from tests.shop.factories import BrandFactory

pytestmark = pytest.mark.django_db

LINES_URL = "/admin/commissions/commissionline/"
TERMS_URL = "/admin/commissions/commissionterms/"
PAYOUTS_URL = "/admin/commissions/payout/"
ACCOUNTS_URL = "/admin/commissions/payoutaccount/"


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (
            "/admin/creators/commissionline/?status=paid",
            "/admin/commissions/commissionline/?status=paid",
        ),
        ("/admin/creators/settlement/12/change/", "/admin/commissions/settlement/12/change/"),
    ],
)
def test_the_ledgers_old_admin_addresses_redirect_to_the_commissions_app(
    client: Client, old: str, new: str
) -> None:
    response = client.get(old)

    assert response.status_code == 301
    assert response["Location"] == new


def sale(brand: Brand, total: str, **kw) -> CommissionLine:
    order = paid_order((variant_of(brand), total), creator=CreatorFactory.create(), **kw)
    recording.commission_record_for_orders(order_ids=[order.pk])
    return CommissionLine.objects.get(order_id=order.pk)


@pytest.fixture
def brands() -> tuple[Brand, Brand]:
    return BrandFactory.create(slug="alpha"), BrandFactory.create(slug="bravo")


def assert_not_found(client: Client, url: str) -> None:
    """The admin's "not found": back to the index saying the object does not exist."""
    response = client.get(url, follow=True)
    assert response.redirect_chain[0][0] == "/admin/"
    assert "doesn\u2019t exist" in response.content.decode()


def superuser(client: Client) -> Client:
    client.force_login(UserFactory.create(is_staff=True, is_superuser=True))
    return client


def test_a_brand_sees_its_own_liabilities_with_totals_and_never_another_brands(client, brands):
    alpha, bravo = brands
    mine = [sale(alpha, "100.00"), sale(alpha, "50.00")]
    CommissionLine.objects.filter(pk=mine[1].pk).update(status="approved")
    theirs = sale(bravo, "70.00")
    login(client, alpha, role=BrandMember.Role.VIEWER)

    assert changelist_pks(client, LINES_URL) == {line.pk for line in mine}
    response = client.get(LINES_URL)
    assert response.context["liabilities"] == [
        {
            "currency": "USD",
            "columns": [
                ("Pending (in hold)", Decimal("10.00")),
                ("Approved (payable)", Decimal("5.00")),
                ("Paid", Decimal("0.00")),
            ],
        }
    ]
    assert_not_found(client, f"{LINES_URL}{theirs.pk}/change/")
    assert client.get(f"{LINES_URL}{mine[0].pk}/change/").status_code == 200


def test_nobody_edits_or_deletes_a_ledger_line_in_the_admin(client, brands):
    line = sale(brands[0], "100.00")
    superuser(client)

    response = client.post(f"{LINES_URL}{line.pk}/change/", {"status": "paid"})
    assert response.status_code == 403
    assert client.post(f"{LINES_URL}{line.pk}/delete/", {"post": "yes"}).status_code == 403
    line.refresh_from_db()
    assert line.status == "pending"


def test_brand_writers_set_their_own_hold_period_only(client, brands):
    alpha, bravo = brands
    theirs = CommissionTerms.objects.create(brand=bravo, hold_days=60)
    login(client, alpha)

    response = client.post(f"{TERMS_URL}add/", {"brand": alpha.pk, "hold_days": 14})
    assert response.status_code == 302, response.content
    assert CommissionTerms.objects.get(brand=alpha).hold_days == 14
    assert changelist_pks(client, TERMS_URL) == {CommissionTerms.objects.get(brand=alpha).pk}
    assert_not_found(client, f"{TERMS_URL}{theirs.pk}/change/")
    refused = client.post(f"{TERMS_URL}add/", {"brand": alpha.pk, "hold_days": 121})
    assert refused.status_code == 200  # the form shows the error


def test_payouts_and_accounts_are_invisible_to_brand_members(client, brands):
    login(client, brands[0], role=BrandMember.Role.OWNER)

    assert client.get(PAYOUTS_URL).status_code == 403
    assert client.get(ACCOUNTS_URL).status_code == 403


def test_the_pay_out_action_creates_payouts_and_reports_refusals(
    client, brands, django_capture_on_commit_callbacks, caplog
):
    ready = PayoutAccountFactory.create(provider="manual", stripe_account_id=None)
    low = PayoutAccountFactory.create(provider="manual", stripe_account_id=None)
    for account, total in ((ready, "300.00"), (low, "10.00")):
        order = paid_order((variant_of(), total), creator=account.creator)
        recording.commission_record_for_orders(order_ids=[order.pk])
    CommissionLine.objects.update(status="approved")
    superuser(client)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            ACCOUNTS_URL,
            {"action": "pay_out_now", "_selected_action": [ready.pk, low.pk]},
            follow=True,
        )

    messages = [str(m) for m in response.context["messages"]]
    # The refusal in words for the person; its code only in the log.
    refused = [m for m in messages if f"Creator {low.creator_id}" in m]
    assert len(refused) == 1
    assert "refused" in refused[0]
    assert not any("payout_below_minimum" in m for m in messages)
    assert "payout_below_minimum" in caplog.text
    payout = Payout.objects.get()
    assert (payout.creator_id, payout.status) == (ready.creator_id, "processing")

    export = client.post(PAYOUTS_URL, {"action": "export_csv", "_selected_action": [payout.pk]})
    [row] = list(csv.DictReader(io.StringIO(export.content.decode())))
    assert (row["payout_id"], row["amount"]) == (str(payout.pk), "30.00")

    client.post(PAYOUTS_URL, {"action": "mark_paid", "_selected_action": [payout.pk]})
    payout.refresh_from_db()
    assert payout.status == "paid"
