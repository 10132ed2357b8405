"""A staff member of brand A never sees or reaches brand B's rows anywhere in the admin."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db import transaction
from django.test import Client

from shop.models import Brand, BrandMember, Product, StockMovement, Variant
from shop.services.stock import stock_set
from tests.factories import UserFactory
from tests.shop.factories import BrandFactory, BrandMemberFactory, ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db


def stocked_variant(product: Product, sku: str, on_hand: int = 10) -> Variant:
    variant = VariantFactory.create(product=product, sku=sku, on_hand=0)
    with transaction.atomic():
        stock_set(variant_id=variant.pk, on_hand=on_hand, reason=StockMovement.Reason.INITIAL)
    variant.refresh_from_db()
    return variant


def login(client: Client, brand: Brand, role: str = BrandMember.Role.MANAGER) -> Client:
    member = BrandMemberFactory.create(brand=brand, role=role)
    client.force_login(member.user)
    return client


@pytest.fixture
def brand_a() -> Brand:
    return BrandFactory.create(name="Alpha Apparel", slug="alpha")


@pytest.fixture
def brand_b() -> Brand:
    return BrandFactory.create(name="Bravo Boots", slug="bravo")


@pytest.fixture
def catalog(brand_a: Brand, brand_b: Brand) -> dict[str, Variant]:
    a = ProductFactory.create(brand=brand_a, title="Alpha Tee", slug="alpha-tee")
    b = ProductFactory.create(brand=brand_b, title="Bravo Boot", slug="bravo-boot")
    return {"a": stocked_variant(a, "ALPHA-1"), "b": stocked_variant(b, "BRAVO-1")}


@pytest.fixture
def client_a(client: Client, brand_a: Brand) -> Client:
    return login(client, brand_a)


def changelist_pks(client: Client, url: str) -> set[int]:
    response = client.get(url)
    assert response.status_code == 200
    return {obj.pk for obj in response.context["cl"].result_list}


def form_data(response) -> dict[str, object]:
    """The POST data of an admin change form exactly as it was rendered."""
    data: dict[str, object] = {}

    def add(form) -> None:
        for name, field in form.fields.items():
            if field.disabled:
                continue
            value = form[name].value()
            widget: Any = field.widget
            names = getattr(widget, "widgets_names", None)
            if names is not None:  # a MultiWidget, e.g. options as name/value pairs
                parts: list[Any] = value if isinstance(value, list) else widget.decompress(value)
                for suffix, part in zip(names, parts, strict=True):
                    data[form.add_prefix(name) + suffix] = "" if part is None else part
                continue
            data[form.add_prefix(name)] = "" if value is None else value
            if field.show_hidden_initial:
                data[form.add_initial_prefix(name)] = "" if value is None else value

    add(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        management = formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = management[name].value()
        for form in formset.forms:
            add(form)
    return data


# --- changelists -----------------------------------------------------------------


def test_product_changelist_lists_only_own_brand_products(client_a, catalog):
    assert changelist_pks(client_a, "/admin/shop/product/") == {catalog["a"].product_id}


def test_variant_changelist_lists_only_own_brand_variants(client_a, catalog):
    assert changelist_pks(client_a, "/admin/shop/variant/") == {catalog["a"].pk}


def test_stock_movement_changelist_lists_only_own_brand_movements(client_a, catalog):
    own = set(StockMovement.objects.filter(variant=catalog["a"]).values_list("pk", flat=True))
    assert own
    assert changelist_pks(client_a, "/admin/shop/stockmovement/") == own


def test_brand_changelist_lists_only_member_brands(client_a, brand_a, brand_b):
    assert changelist_pks(client_a, "/admin/shop/brand/") == {brand_a.pk}


def test_search_never_finds_other_brand_products(client_a, catalog):
    assert changelist_pks(client_a, "/admin/shop/product/?q=Bravo") == set()
    assert changelist_pks(client_a, "/admin/shop/variant/?q=BRAVO-1") == set()


@pytest.fixture
def client_two_brands(client: Client, brand_a: Brand, catalog) -> Client:
    """A manager of brand A and of a second brand, whose filters have two choices to show."""
    member = BrandMemberFactory.create(brand=brand_a, role=BrandMember.Role.MANAGER)
    second = BrandFactory.create(name="Alpha Kids", slug="alpha-kids")
    BrandMemberFactory.create(brand=second, user=member.user, role=BrandMember.Role.MANAGER)
    stocked_variant(ProductFactory.create(brand=second, title="Kids Tee"), "KIDS-1")
    client.force_login(member.user)
    return client


def test_brand_list_filter_offers_only_member_brands(client_two_brands, brand_a):
    own = set(
        BrandMember.objects.filter(user_id=client_two_brands.session["_auth_user_id"]).values_list(
            "brand_id", flat=True
        )
    )
    assert len(own) == 2
    assert brand_a.pk in own
    for url in ("/admin/shop/product/", "/admin/shop/variant/", "/admin/shop/stockmovement/"):
        response = client_two_brands.get(url)
        brand_filter = next(
            spec for spec in response.context["cl"].filter_specs if spec.title == "brand"
        )
        assert {pk for pk, _ in brand_filter.lookup_choices} == own, url
        assert "Bravo Boots" not in response.content.decode(), url


def test_filtering_by_other_brand_id_shows_nothing(client_two_brands, brand_b):
    url = f"/admin/shop/product/?brand__id__exact={brand_b.pk}"
    assert changelist_pks(client_two_brands, url) == set()


# --- object views by URL -----------------------------------------------------------


@pytest.mark.parametrize("suffix", ["change/", "history/", "delete/"])
def test_other_brand_rows_are_unreachable_by_url(client_a, catalog, brand_b, suffix):
    variant = catalog["b"]
    movement = StockMovement.objects.filter(variant=variant).first()
    assert movement is not None
    urls = [
        f"/admin/shop/product/{variant.product_id}/{suffix}",
        f"/admin/shop/variant/{variant.pk}/{suffix}",
        f"/admin/shop/brand/{brand_b.pk}/{suffix}",
        f"/admin/shop/stockmovement/{movement.pk}/{suffix}",
    ]
    for url in urls:
        response = client_a.get(url, follow=True)
        body = response.content.decode()
        if response.status_code == 403:
            # Deleting movements and brands is refused to members before any lookup.
            assert suffix == "delete/", url
            assert "stockmovement" in url or "brand" in url, url
        else:
            assert response.redirect_chain[0][0] == "/admin/", url
            assert "doesn\u2019t exist" in body, url
        assert "Bravo Boot" not in body, url
        assert "BRAVO-1" not in body, url


def test_posting_to_other_brand_product_changes_nothing(client_a, catalog):
    product = catalog["b"].product
    response = client_a.post(
        f"/admin/shop/product/{product.pk}/change/", {"title": "Hijacked", "slug": "x"}
    )
    assert response.status_code == 302
    product.refresh_from_db()
    assert product.title == "Bravo Boot"


# --- forms: foreign-key choices ----------------------------------------------------


def test_single_brand_member_gets_brand_pinned_and_hidden_on_add(client_a, brand_a, brand_b):
    response = client_a.get("/admin/shop/product/add/")
    field = response.context["adminform"].form.fields["brand"]
    assert list(field.queryset) == [brand_a]
    assert field.widget.is_hidden
    assert field.initial == brand_a.pk


def test_brand_dropdown_lists_only_writable_brands(client, brand_a, brand_b):
    second = BrandFactory.create(name="Another Own")
    viewed = BrandFactory.create(name="Only Viewed")
    member = BrandMemberFactory.create(brand=brand_a, role=BrandMember.Role.OWNER)
    BrandMemberFactory.create(brand=second, user=member.user, role=BrandMember.Role.MANAGER)
    BrandMemberFactory.create(brand=viewed, user=member.user, role=BrandMember.Role.VIEWER)
    client.force_login(member.user)
    response = client.get("/admin/shop/product/add/")
    field = response.context["adminform"].form.fields["brand"]
    assert set(field.queryset) == {brand_a, second}
    assert not field.widget.is_hidden


def add_product_data(brand: Brand, **extra: object) -> dict[str, object]:
    data: dict[str, object] = {
        "brand": brand.pk,
        "title": "New Tee",
        "slug": "new-tee",
        "status": "draft",
        "category": "",
        "tags": "",
        "description": "",
        "commission_rate": "",
    }
    for prefix in ("variants", "images"):
        data.update({f"{prefix}-TOTAL_FORMS": 0, f"{prefix}-INITIAL_FORMS": 0})
    data.update(extra)
    return data


def test_adding_a_product_for_another_brand_is_a_form_error(client_a, brand_b):
    response = client_a.post("/admin/shop/product/add/", add_product_data(brand_b))
    assert response.status_code == 200
    assert "brand" in response.context["adminform"].form.errors
    assert not Product.objects.filter(slug="new-tee").exists()


def test_adding_a_product_sets_the_members_brand(client_a, brand_a):
    response = client_a.post("/admin/shop/product/add/", add_product_data(brand_a))
    assert response.status_code == 302
    assert Product.objects.get(slug="new-tee").brand == brand_a


def test_variant_product_choice_rejects_other_brand_products(client_a, catalog):
    other = catalog["b"].product
    response = client_a.post(
        "/admin/shop/variant/add/",
        {
            "product": other.pk,
            "sku": "SNEAKY-1",
            "title": "",
            "price": "5.00",
            "compare_at_price": "",
            "on_hand": 1,
            "initial-on_hand": 0,
            "low_stock_threshold": 5,
            "position": 0,
        },
    )
    assert response.status_code == 200
    assert "product" in response.context["adminform"].form.errors
    assert not Variant.objects.filter(sku="SNEAKY-1").exists()


# --- autocomplete ----------------------------------------------------------------------


def autocomplete_ids(client: Client, model_name: str, field_name: str, term: str = "") -> set[str]:
    response = client.get(
        "/admin/autocomplete/",
        {"app_label": "shop", "model_name": model_name, "field_name": field_name, "term": term},
    )
    assert response.status_code == 200
    return {item["id"] for item in response.json()["results"]}


def test_brand_autocomplete_returns_only_own_brands(client_a, brand_a, brand_b):
    assert autocomplete_ids(client_a, "product", "brand") == {str(brand_a.pk)}
    assert autocomplete_ids(client_a, "product", "brand", term="Bravo") == set()


def test_product_autocomplete_returns_only_own_products(client_a, catalog):
    assert autocomplete_ids(client_a, "variant", "product") == {str(catalog["a"].product_id)}
    assert autocomplete_ids(client_a, "variant", "product", term="Bravo") == set()


def test_autocomplete_leaves_out_brands_the_user_can_only_view(client, brand_a, brand_b):
    member = BrandMemberFactory.create(brand=brand_a, role=BrandMember.Role.MANAGER)
    BrandMemberFactory.create(brand=brand_b, user=member.user, role=BrandMember.Role.VIEWER)
    client.force_login(member.user)
    assert autocomplete_ids(client, "product", "brand") == {str(brand_a.pk)}


# --- roles -------------------------------------------------------------------------


def test_viewer_can_view_but_not_change_add_or_delete(client, brand_a, catalog):
    login(client, brand_a, BrandMember.Role.VIEWER)
    product = catalog["a"].product
    url = f"/admin/shop/product/{product.pk}/change/"
    response = client.get(url)
    assert response.status_code == 200
    assert not response.context["has_change_permission"]
    assert client.post(url, {"title": "Changed"}).status_code == 403
    assert client.get("/admin/shop/product/add/").status_code == 403
    assert client.get(f"/admin/shop/product/{product.pk}/delete/").status_code == 403
    product.refresh_from_db()
    assert product.title == "Alpha Tee"


def test_viewer_sees_the_brand_and_its_members_read_only(client, brand_a):
    owner = BrandMemberFactory.create(brand=brand_a, role=BrandMember.Role.OWNER)
    login(client, brand_a, BrandMember.Role.VIEWER)
    response = client.get(brand_url(brand_a))
    assert response.status_code == 200
    assert not response.context["has_change_permission"]
    assert owner.user.email in response.content.decode()


def test_viewer_gets_no_bulk_actions(client, brand_a, catalog):
    login(client, brand_a, BrandMember.Role.VIEWER)
    response = client.get("/admin/shop/product/")
    assert response.context["action_form"] is None


def test_staff_without_membership_gets_no_shop_admin(client, catalog):
    client.force_login(UserFactory.create(is_staff=True))
    assert client.get("/admin/shop/product/").status_code == 403
    assert client.get("/admin/").context["app_list"] == []


def test_superuser_sees_every_brand(client, catalog):
    client.force_login(UserFactory.create(is_staff=True, is_superuser=True))
    assert changelist_pks(client, "/admin/shop/product/") == {
        catalog["a"].product_id,
        catalog["b"].product_id,
    }
    assert client.get(f"/admin/shop/variant/{catalog['b'].pk}/change/").status_code == 200


def test_stock_movements_are_read_only_even_for_superusers(client, catalog):
    client.force_login(UserFactory.create(is_staff=True, is_superuser=True))
    movement = StockMovement.objects.filter(variant=catalog["a"]).first()
    assert movement is not None
    assert client.get("/admin/shop/stockmovement/add/").status_code == 403
    assert client.get(f"/admin/shop/stockmovement/{movement.pk}/delete/").status_code == 403
    response = client.get(f"/admin/shop/stockmovement/{movement.pk}/change/")
    assert response.status_code == 200
    assert not response.context["has_change_permission"]


# --- actions -------------------------------------------------------------------------


def test_archive_action_archives_selected_products_through_the_service(client_a, catalog):
    product = catalog["a"].product
    response = client_a.post(
        "/admin/shop/product/", {"action": "archive", ACTION_CHECKBOX_NAME: [product.pk]}
    )
    assert response.status_code == 302
    product.refresh_from_db()
    assert product.status == Product.Status.ARCHIVED


def test_actions_leave_out_products_of_brands_the_user_can_only_view(client, brand_a, brand_b):
    member = BrandMemberFactory.create(brand=brand_a, role=BrandMember.Role.MANAGER)
    BrandMemberFactory.create(brand=brand_b, user=member.user, role=BrandMember.Role.VIEWER)
    client.force_login(member.user)
    own = ProductFactory.create(brand=brand_a, status=Product.Status.ACTIVE)
    viewed = ProductFactory.create(brand=brand_b, status=Product.Status.ACTIVE)
    client.post(
        "/admin/shop/product/",
        {"action": "archive", ACTION_CHECKBOX_NAME: [own.pk, viewed.pk]},
    )
    own.refresh_from_db()
    viewed.refresh_from_db()
    assert own.status == Product.Status.ARCHIVED
    assert viewed.status == Product.Status.ACTIVE


def test_bulk_delete_cannot_reach_other_brand_products(client_a, catalog):
    other = catalog["b"].product
    client_a.post(
        "/admin/shop/product/",
        {"action": "delete_selected", ACTION_CHECKBOX_NAME: [other.pk], "post": "yes"},
    )
    assert Product.objects.filter(pk=other.pk).exists()


# --- brand members ---------------------------------------------------------------------


def member_rows(data: dict[str, object], *rows: dict[str, object]) -> dict[str, object]:
    """Append new member rows to a brand form's POST data."""
    total = int(str(data["members-TOTAL_FORMS"]))
    for offset, row in enumerate(rows):
        data.update({f"members-{total + offset}-{k}": v for k, v in row.items()})
    data["members-TOTAL_FORMS"] = total + len(rows)
    return data


def brand_url(brand: Brand) -> str:
    return f"/admin/shop/brand/{brand.pk}/change/"


def test_owner_adds_a_member_of_own_brand_by_email(client, brand_a):
    owner = BrandMemberFactory.create(brand=brand_a, role=BrandMember.Role.OWNER)
    newcomer = UserFactory.create(email="newcomer@example.com")
    client.force_login(owner.user)
    data = member_rows(
        form_data(client.get(brand_url(brand_a))),
        {"email": "NEWCOMER@example.com", "role": BrandMember.Role.VIEWER},
    )
    response = client.post(brand_url(brand_a), data)
    assert response.status_code == 302
    assert BrandMember.objects.get(brand=brand_a, user=newcomer).role == BrandMember.Role.VIEWER


def test_manager_cannot_manage_members(client, brand_a):
    owner = BrandMemberFactory.create(brand=brand_a, role=BrandMember.Role.OWNER)
    manager = BrandMemberFactory.create(brand=brand_a, role=BrandMember.Role.MANAGER)
    UserFactory.create(email="friend@example.com")
    client.force_login(manager.user)
    response = client.get(brand_url(brand_a))
    members_inline = response.context["inline_admin_formsets"][0]
    assert not members_inline.has_add_permission
    assert not members_inline.has_change_permission
    data = form_data(response)
    data.update(
        {
            "members-TOTAL_FORMS": 3,
            "members-INITIAL_FORMS": 2,
            "members-0-id": owner.pk,
            "members-0-role": BrandMember.Role.VIEWER,
            "members-1-id": manager.pk,
            "members-1-role": BrandMember.Role.OWNER,
            "members-2-email": "friend@example.com",
            "members-2-role": BrandMember.Role.OWNER,
        }
    )
    client.post(brand_url(brand_a), data)
    roles = dict(BrandMember.objects.filter(brand=brand_a).values_list("user_id", "role"))
    assert roles == {owner.user_id: "owner", manager.user_id: "manager"}


def test_owner_cannot_leave_the_brand_without_an_owner(client, brand_a):
    owner = BrandMemberFactory.create(brand=brand_a, role=BrandMember.Role.OWNER)
    client.force_login(owner.user)
    data = form_data(client.get(brand_url(brand_a)))
    data["members-0-role"] = BrandMember.Role.VIEWER
    response = client.post(brand_url(brand_a), data)
    assert response.status_code == 200
    assert "A brand needs at least one owner." in response.content.decode()
    owner.refresh_from_db()
    assert owner.role == BrandMember.Role.OWNER


def test_adding_a_member_with_an_unknown_email_is_a_form_error(client, brand_a):
    owner = BrandMemberFactory.create(brand=brand_a, role=BrandMember.Role.OWNER)
    client.force_login(owner.user)
    data = member_rows(
        form_data(client.get(brand_url(brand_a))),
        {"email": "nobody@example.com", "role": BrandMember.Role.VIEWER},
    )
    response = client.post(brand_url(brand_a), data)
    assert response.status_code == 200
    assert BrandMember.objects.filter(brand=brand_a).count() == 1


def test_members_edit_brand_details_but_not_its_currency_or_slug(client_a, brand_a):
    data = form_data(client_a.get(brand_url(brand_a)))
    assert "currency" not in data
    assert "slug" not in data
    data.update({"name": "Renamed", "currency": "EUR", "slug": "stolen"})
    assert client_a.post(brand_url(brand_a), data).status_code == 302
    brand_a.refresh_from_db()
    assert (brand_a.name, brand_a.currency, brand_a.slug) == ("Renamed", "USD", "alpha")
