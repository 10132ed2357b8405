"""The creator codes admin: brand-scoped, issues through the service, switches codes on and
off, never deletes, and shows uses without a query per row."""

from __future__ import annotations

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.test import Client

from creators.models import CreatorCode
from shop.models import BrandMember, Discount, DiscountUse
from tests.creators.factories import CreatorFactory
from tests.creators.test_admin_collaborations import autocomplete, changelist_pks, login
from tests.shop.factories import BrandFactory

pytestmark = pytest.mark.django_db
URL = "/admin/creators/creatorcode/"


def discount_of(brand, name="Spring") -> Discount:
    return Discount.objects.create(brand=brand, name=name, kind="percentage", value="10")


def code_of(brand, code: str, creator=None) -> CreatorCode:
    return CreatorCode.objects.create(
        code=code, brand=brand, discount=discount_of(brand, code), creator=creator
    )


def test_a_brand_sees_only_its_codes_in_the_list_the_change_view_and_the_dropdowns(
    client: Client,
):
    alpha, bravo = BrandFactory.create(), BrandFactory.create()
    ours, theirs = code_of(alpha, "OURS10"), code_of(bravo, "THEIRS10")
    login(client, alpha)

    assert changelist_pks(client, URL) == {ours.pk}
    assert client.get(f"{URL}{theirs.pk}/change/").status_code in (302, 404)
    form = client.get(f"{URL}add/").context["adminform"].form
    assert {d.pk for d in form.fields["discount"].queryset} == {ours.discount_id}


def test_a_brand_issues_a_code_for_a_creator_stored_upper_case(client: Client):
    brand = BrandFactory.create()
    discount = discount_of(brand)
    creator = CreatorFactory.create()
    login(client, brand)

    response = client.post(
        f"{URL}add/",
        {
            "brand": brand.pk,
            "code": " maya10 ",
            "discount": discount.pk,
            "creator": creator.pk,
            "is_active": "on",
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    code = CreatorCode.objects.get()
    assert (code.code, code.creator_id, code.brand_id) == ("MAYA10", creator.pk, brand.pk)
    assert autocomplete(client, "creatorcode", "creator", creator.handle[:3]).status_code == 200


def test_a_taken_or_malformed_code_is_a_form_error_and_nothing_is_saved(client: Client):
    brand = BrandFactory.create()
    code_of(brand, "TAKEN10")
    discount = discount_of(brand)
    login(client, brand)
    for typed in ("taken10", "no", "bad code"):
        response = client.post(
            f"{URL}add/", {"brand": brand.pk, "code": typed, "discount": discount.pk}
        )
        assert response.status_code == 200
        assert "code" in response.context["adminform"].form.errors
    assert CreatorCode.objects.count() == 1


def test_another_brands_discount_is_refused(client: Client):
    alpha, bravo = BrandFactory.create(), BrandFactory.create()
    theirs = discount_of(bravo)
    login(client, alpha)
    response = client.post(f"{URL}add/", {"brand": alpha.pk, "code": "X10", "discount": theirs.pk})
    assert response.status_code == 200
    assert not CreatorCode.objects.exists()


def test_codes_are_switched_off_never_deleted_and_viewers_cannot(client: Client):
    brand = BrandFactory.create()
    code = code_of(brand, "MAYA10")
    login(client, brand)
    assert client.get(f"{URL}{code.pk}/delete/").status_code in (302, 403)

    client.post(URL, {"action": "switch_off", ACTION_CHECKBOX_NAME: [code.pk]})

    code.refresh_from_db()
    assert code.is_active is False
    viewer = Client()
    login(viewer, brand, role=BrandMember.Role.VIEWER)
    viewer.post(URL, {"action": "switch_on", ACTION_CHECKBOX_NAME: [code.pk]})
    code.refresh_from_db()
    assert code.is_active is False


def test_the_list_shows_uses_in_a_fixed_number_of_queries(
    client: Client, django_assert_max_num_queries
):
    brand = BrandFactory.create()
    for n in range(30):
        code = code_of(brand, f"CODE{n:02d}", creator=CreatorFactory.create())
        DiscountUse.objects.create(
            discount_id=code.discount_id, code=code.code, order_id=n + 1, email=f"{n}@x.co"
        )
    login(client, brand)
    client.get(URL)  # warm the session and the admin's caches
    with django_assert_max_num_queries(12):
        response = client.get(URL)
    assert response.status_code == 200
    assert [row.uses for row in response.context["cl"].result_list] == [1] * 30
