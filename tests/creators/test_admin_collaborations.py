"""Brand invitations in the admin: scoped to the member's brands, written only by the services."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from itertools import count
from typing import Any

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.test import Client
from django.utils import timezone

from creators import admin as creators_admin
from creators.models import AffiliateLink, Collaboration, Creator
from shop.models import Brand, BrandMember, Product
from tests.factories import UserFactory
from tests.shop.factories import BrandFactory, BrandMemberFactory, ProductFactory

pytestmark = pytest.mark.django_db

URL = "/admin/creators/collaboration/"
_seq = count()


# --- rows built here, independent of any shared creators factories -------------------


def creator_row(handle: str, *, status: str = Creator.Status.ACTIVE) -> Creator:
    return Creator.objects.create(
        user=UserFactory.create(), handle=handle, display_name=handle.title(), status=status
    )


def invitation_row(
    brand: Brand,
    creator: Creator,
    *,
    rate: str = "15.00",
    status: str = Collaboration.Status.INVITED,
    product: Product | None = None,
) -> Collaboration:
    return Collaboration.objects.create(
        brand=brand,
        creator=creator,
        product=product,
        rate=Decimal(rate),
        valid_from=timezone.now(),
        status=status,
    )


def link_row(creator: Creator, product: Product, **extra: Any) -> AffiliateLink:
    return AffiliateLink.objects.create(
        creator=creator,
        product=product,
        code=f"L{next(_seq):07d}",
        locked_rate=Decimal("10.00"),
        lock_ends_at=timezone.now() + timedelta(days=30),
        **extra,
    )


def login(client: Client, brand: Brand, role: str = BrandMember.Role.MANAGER) -> Client:
    member = BrandMemberFactory.create(brand=brand, role=role)
    client.force_login(member.user)
    return client


def changelist_pks(client: Client, url: str) -> set[int]:
    response = client.get(url)
    assert response.status_code == 200
    return {obj.pk for obj in response.context["cl"].result_list}


def autocomplete(client: Client, model_name: str, field_name: str, term: str = "") -> Any:
    return client.get(
        "/admin/autocomplete/",
        {"app_label": "creators", "model_name": model_name, "field_name": field_name, "term": term},
    )


def invite_data(brand: Brand, creator: Creator, **extra: object) -> dict[str, object]:
    data: dict[str, object] = {
        "brand": brand.pk,
        "creator": creator.pk,
        "product": "",
        "rate": "20",
        "valid_from_0": "",
        "valid_from_1": "",
        "valid_until_0": "",
        "valid_until_1": "",
        "message": "Join our summer drop",
    }
    data.update(extra)
    return data


@pytest.fixture
def brand_a() -> Brand:
    return BrandFactory.create(name="Alpha Apparel", slug="alpha")


@pytest.fixture
def brand_b() -> Brand:
    return BrandFactory.create(name="Bravo Boots", slug="bravo")


@pytest.fixture
def rows(brand_a: Brand, brand_b: Brand) -> dict[str, Any]:
    shared = creator_row("shared_star")
    only_b = creator_row("bravo_only")
    return {
        "shared": shared,
        "only_b": only_b,
        "a": invitation_row(brand_a, shared),
        "b": invitation_row(brand_b, shared, rate="40.00"),
        "b_only": invitation_row(brand_b, only_b),
        "product_a": ProductFactory.create(brand=brand_a, title="Alpha Tee"),
        "product_b": ProductFactory.create(brand=brand_b, title="Bravo Boot"),
    }


@pytest.fixture
def client_a(client: Client, brand_a: Brand) -> Client:
    return login(client, brand_a)


@pytest.fixture
def service_calls(monkeypatch) -> dict[str, list[dict[str, Any]]]:
    """Record every call the admin makes to the collaboration services."""
    calls: dict[str, list[dict[str, Any]]] = {"invite": [], "revoke": []}
    invite, revoke = creators_admin.collaboration_invite, creators_admin.collaboration_revoke

    def spy_invite(**kwargs: Any) -> Collaboration:
        calls["invite"].append(kwargs)
        return invite(**kwargs)

    def spy_revoke(**kwargs: Any) -> Collaboration:
        calls["revoke"].append(kwargs)
        return revoke(**kwargs)

    monkeypatch.setattr(creators_admin, "collaboration_invite", spy_invite)
    monkeypatch.setattr(creators_admin, "collaboration_revoke", spy_revoke)
    return calls


# --- visibility ---------------------------------------------------------------------


def test_changelist_lists_only_own_brand_invitations(client_a, rows):
    assert changelist_pks(client_a, URL) == {rows["a"].pk}


def test_changelist_shows_handle_status_rate_and_window(client_a, rows):
    body = client_a.get(URL).content.decode()
    assert "@shared_star" in body
    assert "Invited" in body
    assert "15.00" in body
    assert "40.00" not in body
    assert "@bravo_only" not in body


def test_search_never_finds_other_brand_invitations(client_a, rows):
    assert changelist_pks(client_a, f"{URL}?q=bravo_only") == set()


def test_brand_filter_offers_only_member_brands(client, brand_a, rows):
    member = BrandMemberFactory.create(brand=brand_a, role=BrandMember.Role.MANAGER)
    second = BrandFactory.create(name="Alpha Kids")
    BrandMemberFactory.create(brand=second, user=member.user, role=BrandMember.Role.VIEWER)
    client.force_login(member.user)
    response = client.get(URL)
    brand_filter = next(s for s in response.context["cl"].filter_specs if s.title == "brand")
    assert {pk for pk, _ in brand_filter.lookup_choices} == {brand_a.pk, second.pk}
    assert "Bravo Boots" not in response.content.decode()
    assert changelist_pks(client, f"{URL}?brand__id__exact={rows['b'].brand_id}") == set()


@pytest.mark.parametrize("suffix", ["change/", "history/"])
def test_other_brand_invitations_are_not_found_by_url(client_a, rows, suffix):
    response = client_a.get(f"{URL}{rows['b'].pk}/{suffix}", follow=True)
    assert response.redirect_chain[0][0] == "/admin/"
    body = response.content.decode()
    assert "doesn\u2019t exist" in body
    assert "40.00" not in body


def test_invitations_cannot_be_deleted_by_url(client_a, rows):
    for invitation in (rows["a"], rows["b"]):
        assert client_a.post(f"{URL}{invitation.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Collaboration.objects.count() == 3


def test_superuser_sees_every_brand_invitation(client, rows):
    client.force_login(UserFactory.create(is_staff=True, is_superuser=True))
    assert changelist_pks(client, URL) == {rows["a"].pk, rows["b"].pk, rows["b_only"].pk}
    assert client.get(f"{URL}{rows['b'].pk}/change/").status_code == 200


# --- the invite form: choices ---------------------------------------------------------


def test_invite_form_offers_only_own_products_and_pins_the_brand(client_a, rows, brand_a):
    form = client_a.get(f"{URL}add/").context["adminform"].form
    assert list(form.fields["product"].queryset) == [rows["product_a"]]
    assert list(form.fields["brand"].queryset) == [brand_a]
    assert form.fields["brand"].widget.is_hidden


def test_invite_form_offers_active_creators_of_any_brand(client_a, rows):
    suspended = creator_row("on_break", status=Creator.Status.SUSPENDED)
    form = client_a.get(f"{URL}add/").context["adminform"].form
    creators = set(form.fields["creator"].queryset)
    assert {rows["shared"], rows["only_b"]} <= creators
    assert suspended not in creators


def test_product_autocomplete_returns_only_own_products(client_a, rows):
    response = autocomplete(client_a, "collaboration", "product")
    assert {r["id"] for r in response.json()["results"]} == {str(rows["product_a"].pk)}
    assert autocomplete(client_a, "collaboration", "product", "Bravo").json()["results"] == []


def test_creator_autocomplete_returns_active_handles_and_nothing_else(client_a, rows):
    creator_row("on_break", status=Creator.Status.SUSPENDED)
    response = autocomplete(client_a, "collaboration", "creator")
    assert response.status_code == 200
    results = response.json()["results"]
    assert results == [
        {"id": str(rows["only_b"].pk), "text": "@bravo_only"},
        {"id": str(rows["shared"].pk), "text": "@shared_star"},
    ]
    assert autocomplete(client_a, "collaboration", "creator", "Bravo Boots").json() == {
        "results": [],
        "pagination": {"more": False},
    }


def test_creator_autocomplete_is_refused_to_viewers_and_other_forms(client, brand_a, rows):
    login(client, brand_a, BrandMember.Role.VIEWER)
    assert autocomplete(client, "collaboration", "creator").status_code == 403
    login(client, brand_a)
    assert autocomplete(client, "video", "creator").status_code == 403
    assert autocomplete(client, "affiliatelink", "creator").status_code == 403


# --- inviting -------------------------------------------------------------------------


def test_inviting_creates_the_collaboration_through_the_service(
    client, brand_a, rows, service_calls
):
    member = BrandMemberFactory.create(brand=brand_a, role=BrandMember.Role.MANAGER)
    client.force_login(member.user)
    data = invite_data(brand_a, rows["only_b"], product=rows["product_a"].pk)
    response = client.post(f"{URL}add/", data)
    assert response.status_code == 302
    invitation = Collaboration.objects.get(brand=brand_a, creator=rows["only_b"])
    assert invitation.invited_by == member.user
    assert invitation.status == Collaboration.Status.INVITED
    assert invitation.product == rows["product_a"]
    assert invitation.rate == Decimal("20")
    assert len(service_calls["invite"]) == 1
    assert service_calls["invite"][0]["invited_by"] == member.user


def test_inviting_with_a_window(client_a, brand_a, rows):
    data = invite_data(
        brand_a,
        rows["only_b"],
        valid_from_0="2031-06-01",
        valid_from_1="00:00:00",
        valid_until_0="2031-09-01",
        valid_until_1="00:00:00",
    )
    assert client_a.post(f"{URL}add/", data).status_code == 302
    invitation = Collaboration.objects.get(brand=brand_a, creator=rows["only_b"])
    assert invitation.valid_until is not None
    assert (invitation.valid_from.month, invitation.valid_until.month) == (6, 9)


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"rate": "100.01"}, "rate"),
        ({"rate": "-1"}, "rate"),
        (
            {
                "valid_from_0": "2031-06-01",
                "valid_from_1": "00:00:00",
                "valid_until_0": "2031-05-01",
                "valid_until_1": "00:00:00",
            },
            "valid_until",
        ),
    ],
)
def test_invalid_invitations_are_form_errors(client_a, brand_a, rows, extra, field):
    response = client_a.post(f"{URL}add/", invite_data(brand_a, rows["only_b"], **extra))
    assert response.status_code == 200
    assert field in response.context["adminform"].form.errors
    assert not Collaboration.objects.filter(brand=brand_a, creator=rows["only_b"]).exists()


def test_inviting_with_another_brand_product_is_a_form_error(client_a, brand_a, rows):
    data = invite_data(brand_a, rows["only_b"], product=rows["product_b"].pk)
    response = client_a.post(f"{URL}add/", data)
    assert response.status_code == 200
    assert "product" in response.context["adminform"].form.errors
    assert not Collaboration.objects.filter(brand=brand_a, creator=rows["only_b"]).exists()


def test_inviting_for_another_brand_is_a_form_error(client_a, brand_b, rows):
    response = client_a.post(f"{URL}add/", invite_data(brand_b, rows["shared"]))
    assert response.status_code == 200
    assert "brand" in response.context["adminform"].form.errors
    assert Collaboration.objects.filter(brand=brand_b).count() == 2


def test_superuser_invite_checks_the_product_belongs_to_the_chosen_brand(client, brand_a, rows):
    client.force_login(UserFactory.create(is_staff=True, is_superuser=True))
    data = invite_data(brand_a, rows["only_b"], product=rows["product_b"].pk)
    response = client.post(f"{URL}add/", data)
    assert response.status_code == 200
    assert "product" in response.context["adminform"].form.errors


# --- read-only rows, revoking ------------------------------------------------------------


def test_own_invitation_is_read_only(client_a, rows):
    url = f"{URL}{rows['a'].pk}/change/"
    response = client_a.get(url)
    assert response.status_code == 200
    assert not response.context["has_change_permission"]
    assert client_a.post(url, {"rate": "99"}).status_code == 403
    rows["a"].refresh_from_db()
    assert rows["a"].rate == Decimal("15.00")


def test_revoke_action_revokes_through_the_service(client_a, rows, service_calls):
    accepted = invitation_row(rows["a"].brand, rows["only_b"], status="accepted")
    response = client_a.post(
        URL, {"action": "revoke", ACTION_CHECKBOX_NAME: [rows["a"].pk, accepted.pk]}
    )
    assert response.status_code == 302
    for invitation in (rows["a"], accepted):
        invitation.refresh_from_db()
        assert invitation.status == Collaboration.Status.REVOKED
    assert len(service_calls["revoke"]) == 2


def test_revoke_cannot_reach_other_brand_invitations(client_a, rows):
    client_a.post(URL, {"action": "revoke", ACTION_CHECKBOX_NAME: [rows["b"].pk]})
    rows["b"].refresh_from_db()
    assert rows["b"].status == Collaboration.Status.INVITED


def test_revoke_leaves_out_brands_the_member_can_only_view(client, brand_a, brand_b, rows):
    member = BrandMemberFactory.create(brand=brand_a, role=BrandMember.Role.MANAGER)
    BrandMemberFactory.create(brand=brand_b, user=member.user, role=BrandMember.Role.VIEWER)
    client.force_login(member.user)
    client.post(URL, {"action": "revoke", ACTION_CHECKBOX_NAME: [rows["a"].pk, rows["b"].pk]})
    rows["a"].refresh_from_db()
    rows["b"].refresh_from_db()
    assert rows["a"].status == Collaboration.Status.REVOKED
    assert rows["b"].status == Collaboration.Status.INVITED


def test_viewer_can_neither_invite_nor_revoke(client, brand_a, rows, service_calls):
    login(client, brand_a, BrandMember.Role.VIEWER)
    assert changelist_pks(client, URL) == {rows["a"].pk}
    assert client.get(URL).context["action_form"] is None
    assert client.get(f"{URL}add/").status_code == 403
    assert client.post(f"{URL}add/", invite_data(brand_a, rows["only_b"])).status_code == 403
    client.post(URL, {"action": "revoke", ACTION_CHECKBOX_NAME: [rows["a"].pk]})
    rows["a"].refresh_from_db()
    assert rows["a"].status == Collaboration.Status.INVITED
    assert service_calls == {"invite": [], "revoke": []}
