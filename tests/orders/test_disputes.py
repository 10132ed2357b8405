"""Disputes on the orders side: recorded from Stripe's events (the test card that disputes,
through the emulator), refunds refused while open, shown in the order API, told to brands
by email and webhook, answered with evidence from the admin (brand-scoped)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core import mail
from django.test import Client
from hypothesis import given, settings
from hypothesis import strategies as st

from accounts.models import User
from orders.models import Dispute, DisputeEvidenceFile, Fulfilment, Refund, WebhookDelivery
from orders.services.disputes import dispute_shares
from shop.models import Brand, BrandMember
from tests.orders.aftersale_helpers import (
    TwoBrands,
    intent_of,
    member,
    paid_order,
    two_brand_order,
    variant_of,
)
from tests.orders.dispute_helpers import deliver, dispute_close, dispute_of_card, dispute_open
from tests.orders.helpers import cart_with, pay, stripe_test_client
from tests.orders.webhook_helpers import endpoint_for
from tests.shop.factories import BrandFactory, BrandMemberFactory

DISPUTE_CARD = "4000000000000259"
DISPUTES_URL = "/admin/orders/dispute/"


def disputed(t: TwoBrands, capture) -> Dispute:
    dispute_id = dispute_open(t.order)
    with capture(execute=True):
        deliver("charge.dispute.created", dispute_id)
    return Dispute.objects.get(stripe_dispute_id=dispute_id)


@pytest.mark.django_db
@pytest.mark.usefixtures("stripe_emulator")
class TestFromStripe:
    def test_the_dispute_card_is_recorded_with_its_fee_and_due_date_and_brands_are_told(
        self, django_capture_on_commit_callbacks
    ):
        from orders.services.checkout import checkout_start
        from orders.services.payments import order_mark_paid
        from tests.orders.helpers import ADDRESS

        brand = BrandFactory.create(name="Alpha")
        owner = member(brand)
        endpoint_for(brand, "https://brand.example.com/hooks", ["order.dispute_opened"])
        order = checkout_start(
            cart=cart_with((variant_of(brand, "30.00"), 1)),
            user=None,
            idempotency_key="dispute-card",
            email="fan@example.com",
            shipping_address=ADDRESS,
        )
        intent = pay(order.stripe_payment_intent_id, card=DISPUTE_CARD)
        order_mark_paid(order_id=order.pk, amount=intent.amount, currency=intent.currency)
        dispute_id = dispute_of_card(order)

        with django_capture_on_commit_callbacks(execute=True):
            deliver("charge.dispute.created", dispute_id)

        dispute = Dispute.objects.get()
        assert (dispute.amount, dispute.fee, dispute.reason, dispute.status) == (
            order.grand_total,
            Decimal("15.00"),
            "fraudulent",
            "needs_response",
        )
        assert dispute.evidence_due_by is not None
        (email,) = [m for m in mail.outbox if owner.email in m.to]
        assert "evidence due" in email.subject.lower()
        assert dispute.evidence_due_by.strftime("%Y") in email.body
        (delivery,) = WebhookDelivery.objects.filter(event_type="order.dispute_opened")
        body = delivery.payload["data"]["dispute"]
        assert body["evidence_due_by"] is not None
        assert body["amount"] == {"amount": str(order.grand_total), "currency": "USD"}

    def test_a_refund_of_a_disputed_order_is_409_charge_disputed_and_nothing_changes(
        self, django_capture_on_commit_callbacks
    ):
        t = two_brand_order()
        disputed(t, django_capture_on_commit_callbacks)

        response = t.client_a().post(
            f"/api/v1/brand/orders/{t.order.pk}/refunds/",
            {"lines": [{"line_id": t.line_a.pk, "quantity": 1}]},
            format="json",
        )

        assert response.status_code == 409
        assert response.json()["error"]["code"] == "charge_disputed"
        assert not Refund.objects.exists()
        t.line_a.refresh_from_db()
        assert t.line_a.refunded_amount == 0

    def test_the_admin_refund_page_says_why_in_words(self, django_capture_on_commit_callbacks):
        t = two_brand_order()
        disputed(t, django_capture_on_commit_callbacks)
        desk = Client()
        desk.force_login(t.owner_a)
        fulfilment = Fulfilment.objects.get(order=t.order, brand=t.brand_a)

        response = desk.post(
            f"/admin/orders/fulfilment/{fulfilment.pk}/refund/",
            {f"qty_{t.line_a.pk}": "1", "reason": "requested_by_customer"},
        )

        assert response.status_code == 409
        assert "disputed by the card holder" in response.content.decode()
        assert not Refund.objects.exists()

    def test_a_refund_is_possible_again_once_the_dispute_is_won(
        self, django_capture_on_commit_callbacks
    ):
        t = two_brand_order()
        dispute = disputed(t, django_capture_on_commit_callbacks)
        dispute_close(dispute.stripe_dispute_id, "won")
        with django_capture_on_commit_callbacks(execute=True):
            deliver("charge.dispute.closed", dispute.stripe_dispute_id)

        response = t.client_a().post(
            f"/api/v1/brand/orders/{t.order.pk}/refunds/",
            {"lines": [{"line_id": t.line_a.pk, "quantity": 1}]},
            format="json",
        )

        assert response.status_code == 201, response.content

    def test_each_brand_sees_the_dispute_with_its_own_share_in_the_order_api(
        self, django_capture_on_commit_callbacks
    ):
        t = two_brand_order(qty_a=2, price_a="20.00")  # A 40 + 5, B 15 + 4: 64.00
        disputed(t, django_capture_on_commit_callbacks)

        mine = t.client_a().get(f"/api/v1/brand/orders/{t.order.pk}/").json()["disputes"]
        theirs = t.client_b().get(f"/api/v1/brand/orders/{t.order.pk}/").json()["disputes"]

        assert [d["amount"]["amount"] for d in mine] == ["45.00"]
        assert [d["amount"]["amount"] for d in theirs] == ["19.00"]
        assert [line["line_id"] for line in mine[0]["lines"]] == [t.line_a.pk]
        assert mine[0]["status"] == "needs_response"
        assert Decimal(mine[0]["fee"]["amount"]) + Decimal(theirs[0]["fee"]["amount"]) == 15

    def test_the_order_desk_shows_the_brands_share_of_the_dispute_and_its_status(
        self, django_capture_on_commit_callbacks
    ):
        t = two_brand_order(qty_a=2, price_a="20.00")
        dispute = disputed(t, django_capture_on_commit_callbacks)
        desk = Client()
        desk.force_login(t.owner_a)
        fulfilment = Fulfilment.objects.get(order=t.order, brand=t.brand_a)

        page = desk.get(f"/admin/orders/fulfilment/{fulfilment.pk}/change/").content.decode()

        assert f"/admin/orders/dispute/{dispute.pk}/change/" in page
        assert "Needs a response" in page
        assert "$40.00" in page
        assert t.line_b.sku not in page

    def test_the_stripe_dispute_shows_the_charge_refused_too(self):
        t = two_brand_order()
        dispute_open(t.order)
        import stripe

        with pytest.raises(stripe.InvalidRequestError) as caught:
            stripe_test_client().v1.refunds.create(params={"payment_intent": intent_of(t.order)})
        assert caught.value.code == "charge_disputed"


# --- the admin: brand scoping and evidence -------------------------------------------------


@pytest.mark.django_db
@pytest.mark.usefixtures("stripe_emulator")
class TestAdmin:
    def single(self, capture, price: str = "30.00") -> tuple[Dispute, Brand, User]:
        brand = BrandFactory.create()
        order = paid_order((variant_of(brand, price), 1))
        dispute_id = dispute_open(order)
        with capture(execute=True):
            deliver("charge.dispute.created", dispute_id)
        return Dispute.objects.get(stripe_dispute_id=dispute_id), brand, member(brand)

    def test_brand_a_never_sees_brand_bs_disputes_or_their_files(
        self, django_capture_on_commit_callbacks
    ):
        mine, _, owner = self.single(django_capture_on_commit_callbacks)
        theirs, _, _ = self.single(django_capture_on_commit_callbacks)
        DisputeEvidenceFile.objects.create(
            dispute=theirs, stripe_file_id="file_theirs", evidence_field="receipt",
            filename="secret.pdf", size=1,
        )  # fmt: skip
        client = Client()
        client.force_login(owner)

        listed = client.get(DISPUTES_URL)
        assert [d.pk for d in listed.context["cl"].result_list] == [mine.pk]
        assert client.get(f"{DISPUTES_URL}{mine.pk}/change/").status_code == 200
        response = client.get(f"{DISPUTES_URL}{theirs.pk}/change/", follow=True)
        assert "secret.pdf" not in response.content.decode()
        assert client.get(f"{DISPUTES_URL}{theirs.pk}/evidence/").status_code == 404

    def test_a_brand_sends_evidence_text_and_a_file_through_stripe(
        self, django_capture_on_commit_callbacks
    ):
        dispute, _, owner = self.single(django_capture_on_commit_callbacks)
        client = Client()
        client.force_login(owner)
        from django.core.files.uploadedfile import SimpleUploadedFile

        response = client.post(
            f"{DISPUTES_URL}{dispute.pk}/evidence/",
            {
                "text": "Delivered on the 3rd, signed by the buyer.",
                "shipping_documentation": SimpleUploadedFile(
                    "pod.pdf", b"%PDF-1.4 proof", content_type="application/pdf"
                ),
                "submit": "on",
            },
        )

        assert response.status_code == 302, response.content.decode()[:2000]
        (stored,) = DisputeEvidenceFile.objects.all()
        assert (stored.evidence_field, stored.filename, stored.size) == (
            "shipping_documentation",
            "pod.pdf",
            14,
        )
        at_stripe = stripe_test_client().v1.disputes.retrieve(dispute.stripe_dispute_id)
        assert at_stripe.status == "under_review"
        assert at_stripe.evidence.shipping_documentation == stored.stripe_file_id
        assert str(at_stripe.evidence.uncategorized_text).startswith("Delivered")
        dispute.refresh_from_db()
        assert dispute.evidence_submitted_at is not None
        assert dispute.evidence_submission_count == 1

    def test_a_payment_of_several_brands_is_answered_by_platform_staff_only(
        self, django_capture_on_commit_callbacks
    ):
        t = two_brand_order()
        dispute = disputed(t, django_capture_on_commit_callbacks)
        brand_client = Client()
        brand_client.force_login(t.owner_a)

        page = brand_client.get(f"{DISPUTES_URL}{dispute.pk}/change/")
        assert page.status_code == 200
        inline_brands = {
            line.brand_id for line in page.context["inline_admin_formsets"][0].formset.queryset
        }
        assert inline_brands == {t.brand_a.pk}
        refused = brand_client.post(
            f"{DISPUTES_URL}{dispute.pk}/evidence/", {"text": "ours"}, follow=True
        )
        assert "several brands" in refused.content.decode()
        assert stripe_test_client().v1.disputes.retrieve(dispute.stripe_dispute_id).status == (
            "needs_response"
        )

        from tests.factories import UserFactory

        staff = Client()
        staff.force_login(UserFactory.create(is_staff=True, is_superuser=True))
        answered = staff.post(
            f"{DISPUTES_URL}{dispute.pk}/evidence/", {"text": "ours", "submit": "on"}
        )
        assert answered.status_code == 302
        assert stripe_test_client().v1.disputes.retrieve(dispute.stripe_dispute_id).status == (
            "under_review"
        )

    def test_a_brand_viewer_cannot_send_evidence(self, django_capture_on_commit_callbacks):
        dispute, brand, _ = self.single(django_capture_on_commit_callbacks)
        viewer = BrandMemberFactory.create(brand=brand, role=BrandMember.Role.VIEWER).user
        client = Client()
        client.force_login(viewer)

        client.post(f"{DISPUTES_URL}{dispute.pk}/evidence/", {"text": "x", "submit": "on"})

        at_stripe = stripe_test_client().v1.disputes.retrieve(dispute.stripe_dispute_id)
        assert at_stripe.status == "needs_response"


# --- the split ---------------------------------------------------------------------------

CURRENCIES = st.sampled_from(["USD", "JPY", "KWD"])
PLACES = {"USD": 2, "JPY": 0, "KWD": 3}


@st.composite
def disputes(draw: st.DrawFn) -> tuple[str, Decimal, Decimal, list[tuple[Decimal, Decimal]]]:
    currency = draw(CURRENCIES)
    unit = Decimal(1).scaleb(-PLACES[currency])
    charged = draw(st.lists(st.integers(0, 10**7), min_size=1, max_size=8))
    refunded = [draw(st.integers(0, c)) for c in charged]
    parts = [((c - r) * unit, c * unit) for c, r in zip(charged, refunded, strict=True)]
    room = sum((left for left, _ in parts), Decimal(0)) or sum((c for _, c in parts), Decimal(0))
    amount = draw(st.integers(1, max(1, int(room / unit)))) * unit
    fee = draw(st.integers(0, 5000)) * unit
    return currency, amount, fee, parts


@settings(max_examples=200, deadline=None, derandomize=True)
@given(disputes())
def test_the_shares_of_a_dispute_and_its_fee_add_up_exactly(case):
    currency, amount, fee, parts = case

    shares, fees = dispute_shares(amount=amount, fee=fee, parts=parts, currency=currency)

    assert sum(shares) == amount
    assert sum(fees) == fee
    assert all(s >= 0 for s in shares)
    assert all(f >= 0 for f in fees)
    assert all(s == s.quantize(Decimal(1).scaleb(-PLACES[currency])) for s in shares)
    if sum(left for left, _ in parts) >= amount:
        # Never more than was left unrefunded on a line.
        assert all(s <= left for s, (left, _) in zip(shares, parts, strict=True))
