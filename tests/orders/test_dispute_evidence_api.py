"""POST /api/v1/brand/disputes/{id}/evidence/: a brand answers a chargeback through the API,
with the rules of the admin's evidence page (the same service)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from orders.models import Dispute, DisputeEvidenceFile
from shop.models import BrandMember
from tests.conftest import client_for
from tests.factories import UserFactory
from tests.orders.aftersale_helpers import member, paid_order, two_brand_order, variant_of
from tests.orders.dispute_helpers import deliver, dispute_close, dispute_open
from tests.orders.helpers import stripe_test_client
from tests.shop.factories import BrandFactory, BrandMemberFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("stripe_emulator")]


def url(dispute: Dispute) -> str:
    return f"/api/v1/brand/disputes/{dispute.pk}/evidence/"


def opened(order, capture) -> Dispute:
    dispute_id = dispute_open(order)
    with capture(execute=True):
        deliver("charge.dispute.created", dispute_id)
    return Dispute.objects.get(stripe_dispute_id=dispute_id)


def at_stripe(dispute: Dispute):
    return stripe_test_client().v1.disputes.retrieve(dispute.stripe_dispute_id)


def test_an_owner_sends_text_and_a_file_and_gets_the_dispute_back(
    django_capture_on_commit_callbacks,
):
    brand = BrandFactory.create()
    dispute = opened(
        paid_order((variant_of(brand, "30.00"), 1)), django_capture_on_commit_callbacks
    )

    response = client_for(member(brand)).post(
        url(dispute),
        {
            "text": "Delivered on the 3rd, signed by the buyer.",
            "shipping_documentation": SimpleUploadedFile(
                "pod.pdf", b"%PDF-1.4 proof", content_type="application/pdf"
            ),
        },
        format="multipart",
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["id"], body["status"]) == (dispute.pk, "under_review")
    assert body["evidence_submitted_at"] is not None
    (stored,) = DisputeEvidenceFile.objects.all()
    assert (stored.evidence_field, stored.filename, stored.size) == (
        "shipping_documentation",
        "pod.pdf",
        14,
    )
    evidence = at_stripe(dispute).evidence
    assert evidence.shipping_documentation == stored.stripe_file_id
    assert str(evidence.uncategorized_text).startswith("Delivered")


def test_evidence_kept_open_is_not_submitted(django_capture_on_commit_callbacks):
    brand = BrandFactory.create()
    dispute = opened(
        paid_order((variant_of(brand, "30.00"), 1)), django_capture_on_commit_callbacks
    )

    response = client_for(member(brand)).post(
        url(dispute), {"text": "More to come.", "submit": "false"}, format="multipart"
    )

    assert response.status_code == 200, response.json()
    assert response.json()["evidence_submitted_at"] is None
    assert at_stripe(dispute).status == "needs_response"


@pytest.mark.parametrize(
    ("who", "status", "code"),
    [
        ("viewer", 404, "dispute_not_found"),
        ("other_brand", 404, "dispute_not_found"),
        ("shopper", 404, "dispute_not_found"),
    ],
)
def test_only_the_brands_writers_answer(who, status, code, django_capture_on_commit_callbacks):
    brand = BrandFactory.create()
    dispute = opened(
        paid_order((variant_of(brand, "30.00"), 1)), django_capture_on_commit_callbacks
    )
    user = {
        "viewer": lambda: BrandMemberFactory.create(brand=brand, role=BrandMember.Role.VIEWER).user,
        "other_brand": lambda: member(BrandFactory.create()),
        "shopper": lambda: UserFactory.create(),
    }[who]()

    response = client_for(user).post(url(dispute), {"text": "x"}, format="multipart")

    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert at_stripe(dispute).status == "needs_response"
    assert not DisputeEvidenceFile.objects.exists()


def test_a_payment_of_several_brands_is_the_platforms_to_answer(
    django_capture_on_commit_callbacks,
):
    t = two_brand_order()
    dispute = opened(t.order, django_capture_on_commit_callbacks)

    refused = client_for(t.owner_a).post(url(dispute), {"text": "ours"}, format="multipart")
    answered = client_for(UserFactory.create(is_staff=True, is_superuser=True)).post(
        url(dispute), {"text": "ours"}, format="multipart"
    )

    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "dispute_several_brands"
    assert answered.status_code == 200, answered.json()
    assert at_stripe(dispute).status == "under_review"


def test_bad_evidence_is_refused_and_sends_nothing(django_capture_on_commit_callbacks):
    brand = BrandFactory.create()
    dispute = opened(
        paid_order((variant_of(brand, "30.00"), 1)), django_capture_on_commit_callbacks
    )
    client = client_for(member(brand))
    too_big = SimpleUploadedFile("big.pdf", b"x" * (4 * 1024 * 1024 + 1))

    empty = client.post(url(dispute), {"text": "  "}, format="multipart")
    big = client.post(url(dispute), {"receipt": too_big}, format="multipart")

    assert (empty.status_code, empty.json()["error"]["code"]) == (400, "evidence_empty")
    assert big.status_code == 400
    assert "receipt" in big.json()["error"]["fields"]
    assert at_stripe(dispute).status == "needs_response"
    assert not DisputeEvidenceFile.objects.exists()


def test_a_closed_dispute_takes_no_more_evidence(django_capture_on_commit_callbacks):
    brand = BrandFactory.create()
    dispute = opened(
        paid_order((variant_of(brand, "30.00"), 1)), django_capture_on_commit_callbacks
    )
    with django_capture_on_commit_callbacks(execute=True):
        dispute_close(dispute.stripe_dispute_id, "won")
        deliver("charge.dispute.closed", dispute.stripe_dispute_id)

    response = client_for(member(brand)).post(url(dispute), {"text": "late"}, format="multipart")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "dispute_closed"


def test_the_same_file_sent_twice_is_one_file_at_stripe(django_capture_on_commit_callbacks):
    """A retried or repeated upload carries the same idempotency key: Stripe keeps one file
    and the dispute lists it once."""
    brand = BrandFactory.create()
    dispute = opened(
        paid_order((variant_of(brand, "30.00"), 1)), django_capture_on_commit_callbacks
    )
    client = client_for(member(brand))

    def send() -> int:
        receipt = SimpleUploadedFile("receipt.pdf", b"%PDF-1.4 receipt")
        return client.post(
            url(dispute), {"receipt": receipt, "submit": "false"}, format="multipart"
        ).status_code

    assert (send(), send()) == (200, 200)
    (stored,) = DisputeEvidenceFile.objects.all()
    assert at_stripe(dispute).evidence.receipt == stored.stripe_file_id
