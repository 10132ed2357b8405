"""Creator fraud rules: a recorded sale a rule matches is held under the rule's reason code;
a clean sale is not; released, it is paid once; the creator sees the code, never the data."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from commissions.errors import PayoutBelowMinimum
from commissions.models import CommissionHold, CommissionLine, CommissionTerms, Payout
from commissions.services import payouts, recording
from commissions.services.approval import commissions_approve_due
from commissions.services.holds import commission_hold_release
from creators.models import Creator, PaymentFingerprint
from orders.models import Order
from orders.risk import email_key, shipping_hash
from shop.models import Brand, Variant
from tests.commissions.helpers import paid_order, variant_of
from tests.conftest import client_for
from tests.creators.factories import CreatorFactory, PayoutAccountFactory
from tests.orders.helpers import refund_succeeded
from tests.shop.factories import BrandFactory

pytestmark = pytest.mark.django_db
Status = CommissionLine.Status
ADDRESS = {"name": "A", "line1": "1 Main St.", "postal_code": "12345", "country": "US"}


def new_creator(email: str = "maker@example.com") -> Creator:
    creator = CreatorFactory.create(user__email=email)
    PayoutAccountFactory.create(creator=creator, provider="manual", stripe_account_id=None)
    return creator


@pytest.fixture
def creator() -> Creator:
    return new_creator()


def sale(
    creator: Creator,
    *,
    variant: Variant | None = None,
    days_ago: int = 40,
    attribution: dict[str, Any] | None = None,
    **signals: Any,
) -> CommissionLine:
    """A paid order credited to `creator` with these order signals, recorded in the ledger."""
    order = paid_order(
        (variant or variant_of(), "300.00"),
        creator=creator,
        paid_at=timezone.now() - timedelta(days=days_ago),
    )
    Order.objects.filter(pk=order.pk).update(**signals)
    if attribution is not None:
        order.lines.update(attribution=attribution)
    recording.commission_record_for_orders(order_ids=[order.pk])
    return CommissionLine.objects.get(order_id=order.pk, kind=CommissionLine.Kind.COMMISSION)


def reasons(line: CommissionLine) -> list[str]:
    return sorted(CommissionHold.objects.filter(line=line).values_list("reason", flat=True))


def own_purchase(creator: Creator, **signals: Any) -> Order:
    """An order the creator placed themselves while logged in (no credit to anyone)."""
    order = paid_order((variant_of(), "20.00"), creator=None)
    Order.objects.filter(pk=order.pk).update(user=creator.user, **signals)
    return order


def test_a_clean_sale_is_not_held(creator):
    own_purchase(creator, device_hash="dev-own", card_fingerprint="card-own")

    line = sale(
        creator,
        email="fan@example.com",
        device_hash="dev-fan",
        card_fingerprint="card-fan",
        shipping_hash=shipping_hash(ADDRESS),
    )

    assert reasons(line) == []


def test_a_buyer_with_the_creators_own_email_is_held_as_self_dealing(creator):
    line = sale(creator, email="Maker+shop@Example.com")

    hold = CommissionHold.objects.get(line=line)
    assert hold.reason == "fraud_self_dealing"
    assert hold.detail["matched"] == ["email"]


def test_a_buyer_on_the_creators_own_device_is_held_as_self_dealing(creator):
    own_purchase(creator, device_hash="dev-own")

    line = sale(creator, email="someone@example.com", device_hash="dev-own")

    assert reasons(line) == ["fraud_self_dealing"]
    assert CommissionHold.objects.get(line=line).detail["matched"] == ["device"]


def test_a_buyer_paying_with_the_creators_card_is_held_as_self_dealing(creator):
    PaymentFingerprint.objects.create(
        creator=creator, fingerprint="card-own", source=PaymentFingerprint.Source.PAYOUT
    )

    line = sale(creator, email="someone@example.com", card_fingerprint="card-own")

    assert reasons(line) == ["fraud_self_dealing"]
    assert CommissionHold.objects.get(line=line).detail["matched"] == ["card"]


def test_one_device_ordering_through_many_creators_is_held(settings):
    settings.COMMISSION_FRAUD_SHARED_ORDERS = 3
    settings.COMMISSION_FRAUD_SHARED_CREATORS = 3
    first, second, third = (new_creator(f"c{i}@example.com") for i in range(3))

    lines = [sale(c, days_ago=2, device_hash="dev-farm") for c in (first, second, third)]
    elsewhere = sale(third, days_ago=2, device_hash="dev-other")

    assert [reasons(line) for line in lines] == [[], [], ["fraud_shared_device"]]
    assert CommissionHold.objects.get(line=lines[2]).detail["device"] == {
        "orders": 3,
        "creators": 3,
    }
    assert reasons(elsewhere) == []


def test_one_address_ordering_through_many_creators_is_held(settings):
    settings.COMMISSION_FRAUD_SHARED_ORDERS = 2
    settings.COMMISSION_FRAUD_SHARED_CREATORS = 2
    same_place = {**ADDRESS, "line1": "1  main st"}  # spelled differently, the same address
    first, second = new_creator("c1@example.com"), new_creator("c2@example.com")

    sale(first, days_ago=1, shipping_hash=shipping_hash(ADDRESS))
    line = sale(second, days_ago=1, shipping_hash=shipping_hash(same_place))

    assert reasons(line) == ["fraud_shared_device"]
    assert "address" in CommissionHold.objects.get(line=line).detail


def test_a_creator_whose_orders_mostly_had_no_click_is_held(settings, creator):
    settings.COMMISSION_FRAUD_NO_CLICK_MIN_ORDERS = 4
    settings.COMMISSION_FRAUD_NO_CLICK_SHARE = "50"
    code_only = {"credited": True, "rule": "code", "rate": "10.00", "code": "MAKER"}
    clicked = {"credited": True, "rule": "last_click", "rate": "10.00", "click_id": "c1"}

    early = [sale(creator, days_ago=3, attribution=code_only) for _ in range(3)]
    fourth = sale(creator, days_ago=3, attribution=code_only)
    other = new_creator("clicks@example.com")
    with_clicks = [sale(other, days_ago=3, attribution=clicked) for _ in range(4)]

    assert [reasons(line) for line in early] == [[], [], []]  # too few orders to judge
    assert reasons(fourth) == ["fraud_no_click_share"]
    assert CommissionHold.objects.get(line=fourth).detail["without_click"] == 4
    assert all(reasons(line) == [] for line in with_clicks)


def test_a_refund_rate_above_the_brands_threshold_holds_new_sales(settings, creator):
    settings.COMMISSION_FRAUD_MIN_ORDERS = 3
    settings.COMMISSION_FRAUD_REFUND_RATE = "90"  # the platform's default would not flag
    brand: Brand = BrandFactory.create()
    CommissionTerms.objects.create(brand=brand, fraud_refund_rate=Decimal("40"))
    variant = VariantFor(brand)

    def refund(line: CommissionLine) -> None:
        refund_succeeded(Order.objects.get(pk=line.order_id).lines.get())

    first, second = sale(creator, variant=variant()), sale(creator, variant=variant())
    refund(first)
    under = sale(creator, variant=variant())  # 1 of 3 orders refunded: 33% is not above 40%
    refund(second)
    over = sale(creator, variant=variant())  # 2 of 4: 50%
    other_brand = sale(creator)

    assert reasons(under) == []
    assert reasons(over) == ["fraud_refund_rate"]
    detail = CommissionHold.objects.get(line=over).detail
    assert (detail["orders"], detail["refunded_or_disputed"]) == (4, 2)
    assert detail["threshold_percent"] == "40.00"
    assert reasons(other_brand) == []


class VariantFor:
    """New variants of one brand."""

    def __init__(self, brand: Brand) -> None:
        self.brand = brand

    def __call__(self) -> Variant:
        return variant_of(self.brand)


def test_a_released_fraud_hold_is_paid_exactly_once_and_not_held_again(creator):
    line = sale(creator, email="maker@example.com")
    hold = CommissionHold.objects.get(line=line)
    assert commissions_approve_due().approved == 0

    commission_hold_release(hold_id=hold.pk)
    recording.commission_record_for_orders(order_ids=[line.order_id])  # a retried recording
    assert commissions_approve_due().approved == 1
    payout = payouts.payout_create_for_creator(creator_id=creator.pk, currency="USD")

    assert payout.amount == Decimal("30.00")
    with pytest.raises(PayoutBelowMinimum):
        payouts.payout_create_for_creator(creator_id=creator.pk, currency="USD")
    line.refresh_from_db()
    assert (line.status, line.payout_id) == (Status.PAID, payout.pk)
    assert Payout.objects.filter(creator=creator).count() == 1
    assert CommissionHold.objects.filter(line=line).count() == 1


def test_the_creator_sees_the_reason_code_and_never_the_signals(creator):
    own_purchase(creator, device_hash="dev-own-secret")
    sale(creator, email="x@example.com", device_hash="dev-own-secret")
    api = client_for(creator.user)

    body = api.get("/api/v1/creators/me/commissions/").json()

    assert body["results"][0]["review"] == {
        "status": "under_review",
        "reasons": ["fraud_self_dealing"],
    }
    assert "dev-own-secret" not in str(body)
    assert "matched" not in str(body)


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("Fan.One+promo@GoogleMail.com", "fanone@gmail.com"),
        ("fan.one@example.com", "fan.one@example.com"),
        (" Fan@Example.COM ", "fan@example.com"),
    ],
)
def test_emails_are_compared_as_the_mailbox_they_reach(raw, key):
    assert email_key(raw) == key
