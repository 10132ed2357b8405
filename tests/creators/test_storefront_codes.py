"""The creator's live codes on their stored storefront: shown once, retired by their writers
and by the clock, the same for every visitor."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from creators.models import CreatorCode
from creators.services.codes import code_set_active
from shop.models import Discount
from shop.services.discounts import discount_update
from tests.creators.test_storefront_page import make_creator, text
from tests.shop.factories import BrandFactory

pytestmark = pytest.mark.django_db


def code(creator, name: str, **discount_fields) -> CreatorCode:
    brand = BrandFactory.create(name=f"{name} brand")
    fields = {"kind": "percentage", "value": "10", **discount_fields}
    discount = Discount.objects.create(brand=brand, name=name, **fields)
    return CreatorCode.objects.create(code=name, brand=brand, discount=discount, creator=creator)


def page(client) -> str:
    response = client.get("/@maya.glows")
    assert response.status_code == 200
    return text(response)


def test_the_storefront_lists_the_creators_live_codes_only(client):
    creator = make_creator()
    code(creator, "MAYA10")
    code(creator, "MAYA5OFF", kind="fixed", value="5")
    code(creator, "PAUSED", status=Discount.Status.PAUSED)
    code(creator, "ENDED", ends_at=timezone.now() - timedelta(days=1))
    code(creator, "LATER", starts_at=timezone.now() + timedelta(days=1))
    withdrawn = code(creator, "WITHDRAWN")
    CreatorCode.objects.filter(pk=withdrawn.pk).update(is_active=False)
    code(make_creator("someone.else"), "NOTHERS")

    body = page(client)

    assert "MAYA10</strong> · 10% off at MAYA10 brand" in body
    assert "MAYA5OFF</strong> · $5.00 off" in body
    for hidden in ("PAUSED", "ENDED", "LATER", "WITHDRAWN", "NOTHERS"):
        assert hidden not in body


def test_every_visitor_gets_the_same_codes_from_one_stored_build(client, django_assert_num_queries):
    creator = make_creator()
    code(creator, "MAYA10")
    first = page(client)
    # Stored: no codes read; one statement for the page's versions (and no stock to read).
    with django_assert_num_queries(1):
        again = client.get("/@maya.glows?atk=someone-elses-token")
    assert "MAYA10" in first
    assert "MAYA10" in text(again)


def test_switching_a_code_off_or_changing_its_discount_retires_the_stored_page(client):
    creator = make_creator()
    maya = code(creator, "MAYA10")
    other = code(creator, "MAYA20", value="20")
    assert "MAYA10" in page(client)

    code_set_active(code=maya, is_active=False)
    discount_update(discount=other.discount, value="25")

    body = page(client)
    assert "MAYA10" not in body
    assert "MAYA20</strong> · 25% off" in body


def test_a_code_that_ends_or_starts_retires_the_stored_page_when_the_clock_gets_there(client):
    creator = make_creator()
    now = timezone.now()
    code(creator, "ENDSOON", ends_at=now + timedelta(hours=1))
    code(creator, "STARTSOON", starts_at=now + timedelta(hours=2))
    body = page(client)
    assert "ENDSOON" in body
    assert "STARTSOON" not in body

    with mock.patch("django.utils.timezone.now", return_value=now + timedelta(hours=3)):
        later = page(client)

    assert "ENDSOON" not in later
    assert "STARTSOON" in later


def test_the_storefront_api_lists_the_live_codes(api_client):
    creator = make_creator()
    code(creator, "MAYA10")
    code(creator, "PAUSED", status=Discount.Status.PAUSED)

    body = api_client.get("/api/v1/storefronts/maya.glows/").json()

    assert [(c["code"], c["offer"], c["brand_name"]) for c in body["codes"]] == [
        ("MAYA10", "10% off", "MAYA10 brand")
    ]
