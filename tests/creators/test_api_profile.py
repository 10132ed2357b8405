"""Becoming a creator, the profile, the storefront and its collections."""

import pytest

from common.errors import ValidationFailed
from creators.models import Collection, CollectionItem, Creator, Storefront
from creators.services.profiles import RESERVED_HANDLES, handle_validate
from shop.models import Product
from tests.conftest import client_for
from tests.creators.factories import CollectionFactory, CollectionItemFactory, CreatorFactory
from tests.shop.factories import BrandFactory, ProductFactory

pytestmark = pytest.mark.django_db

ME = "/api/v1/creators/me/"
STOREFRONT = "/api/v1/creators/me/storefront/"
COLLECTIONS = "/api/v1/creators/me/collections/"


def collection_url(pk: int) -> str:
    return f"{COLLECTIONS}{pk}/"


def item_url(collection_id: int, product_id: int) -> str:
    return f"{COLLECTIONS}{collection_id}/items/{product_id}"


@pytest.fixture
def creator():
    return CreatorFactory.create(handle="maya")


@pytest.fixture
def creator_client(creator):
    return client_for(creator.user)


@pytest.fixture
def other_collection():
    return CollectionFactory.create()


# Becoming a creator


def test_user_becomes_a_creator_with_an_empty_storefront(auth_client, user):
    response = auth_client.post(
        ME,
        {
            "handle": "@Maya.Makes",
            "display_name": "Maya",
            "bio": "Skincare, honestly.",
            "social_accounts": [{"platform": "tiktok", "handle": "maya"}],
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["handle"] == "maya.makes"
    assert body["storefront"]["title"] == "Maya"
    assert body["social_accounts"] == [{"platform": "tiktok", "handle": "maya"}]
    creator = Creator.objects.get(user=user)
    assert Storefront.objects.filter(creator=creator).exists()


def test_becoming_a_creator_twice_is_409(creator_client):
    response = creator_client.post(ME, {"handle": "maya2", "display_name": "M"}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "already_creator"


def test_become_with_the_same_idempotency_key_replays_the_first_answer(auth_client, user):
    body = {"handle": "keyed", "display_name": "Keyed"}
    first = auth_client.post(ME, body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    second = auth_client.post(ME, body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == second.status_code == 201
    assert second["Idempotent-Replayed"] == "true"
    assert Creator.objects.filter(user=user).count() == 1


@pytest.mark.parametrize(
    ("handle", "code"),
    [
        ("ab", "invalid_handle"),
        ("a" * 31, "invalid_handle"),
        ("maya makes", "invalid_handle"),
        ("maya-makes", "invalid_handle"),
        ("mäya", "invalid_handle"),
        (".maya", "invalid_handle"),
        ("maya.", "invalid_handle"),
        ("ma..ya", "invalid_handle"),
        ("admin", "reserved_handle"),
        ("API", "reserved_handle"),
        ("r", "invalid_handle"),
        ("checkout", "reserved_handle"),
        ("me", "invalid_handle"),
        ("creators", "reserved_handle"),
    ],
)
def test_bad_handle_is_400_with_a_code_and_saves_nothing(auth_client, user, handle, code):
    response = auth_client.post(ME, {"handle": handle, "display_name": "X"}, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == code
    assert error["fields"]["handle"][0]["code"] == code
    assert not Creator.objects.filter(user=user).exists()


def test_reserved_words_that_fit_the_format_are_refused():
    for word in RESERVED_HANDLES:
        with pytest.raises(ValidationFailed):
            handle_validate(word)


def test_taken_handle_is_400_handle_taken_and_saves_nothing(creator, auth_client, user):
    response = auth_client.post(ME, {"handle": "MAYA", "display_name": "Other"}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "handle_taken"
    assert error["fields"]["handle"][0]["code"] == "handle_taken"
    assert not Creator.objects.filter(user=user).exists()
    assert not Storefront.objects.filter(creator__user=user).exists()


def test_missing_display_name_is_400_with_field_errors(auth_client):
    response = auth_client.post(ME, {"handle": "fine_handle"}, format="json")
    assert response.status_code == 400
    assert "display_name" in response.json()["error"]["fields"]


def test_signed_out_is_401(api_client):
    assert api_client.get(ME).status_code == 401
    assert api_client.post(ME, {"handle": "anon", "display_name": "A"}).status_code == 401


# Profile


def test_creator_reads_their_profile(creator_client, creator):
    body = creator_client.get(ME).json()
    assert body["handle"] == "maya"
    assert body["id"] == creator.pk
    assert body["storefront"]["theme_color"] == "#111111"


def test_creator_changes_handle_and_bio(creator_client, creator):
    response = creator_client.patch(ME, {"handle": "Maya_2", "bio": "New bio"}, format="json")
    assert response.status_code == 200, response.content
    creator.refresh_from_db()
    assert (creator.handle, creator.bio) == ("maya_2", "New bio")


def test_changing_to_a_taken_handle_is_400_and_keeps_the_old_one(creator_client, creator):
    CreatorFactory.create(handle="taken")
    response = creator_client.patch(ME, {"handle": "taken"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "handle_taken"
    creator.refresh_from_db()
    assert creator.handle == "maya"


def test_changing_to_a_reserved_handle_is_400(creator_client, creator):
    response = creator_client.patch(ME, {"handle": "admin"}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "reserved_handle"
    creator.refresh_from_db()
    assert creator.handle == "maya"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", ME),
        ("patch", ME),
        ("get", STOREFRONT),
        ("patch", STOREFRONT),
        ("get", COLLECTIONS),
        ("post", COLLECTIONS),
        ("get", "/api/v1/creators/me/videos/"),
        ("post", "/api/v1/creators/me/videos/"),
        ("get", "/api/v1/creators/me/links/"),
        ("post", "/api/v1/creators/me/links/"),
        ("get", "/api/v1/creators/me/collaborations/"),
        ("post", "/api/v1/creators/me/collaborations/1/accept/"),
    ],
)
def test_someone_who_is_not_a_creator_gets_404_not_a_creator(auth_client, method, path):
    response = getattr(auth_client, method)(path, {}, format="json")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_a_creator"


# Storefront


def test_creator_reads_and_updates_their_storefront(creator_client, creator):
    assert creator_client.get(STOREFRONT).json()["title"] == creator.display_name
    response = creator_client.patch(
        STOREFRONT, {"title": "Maya's picks", "theme_color": "#FF8800"}, format="json"
    )
    assert response.status_code == 200, response.content
    creator.storefront.refresh_from_db()
    assert (creator.storefront.title, creator.storefront.theme_color) == (
        "Maya's picks",
        "#FF8800",
    )


@pytest.mark.parametrize("colour", ["red", "#12345", "#GGGGGG", "123456"])
def test_bad_theme_colour_is_400_and_saves_nothing(creator_client, creator, colour):
    response = creator_client.patch(
        STOREFRONT, {"title": "Changed", "theme_color": colour}, format="json"
    )
    assert response.status_code == 400
    assert "theme_color" in response.json()["error"]["fields"]
    creator.storefront.refresh_from_db()
    assert creator.storefront.theme_color == "#111111"
    assert creator.storefront.title != "Changed"


# Collections


def test_creator_creates_renames_and_deletes_a_collection(creator_client, creator):
    response = creator_client.post(COLLECTIONS, {"title": "Summer", "position": 2}, format="json")
    assert response.status_code == 201, response.content
    pk = response.json()["id"]
    assert Collection.objects.get(pk=pk).storefront == creator.storefront

    response = creator_client.patch(collection_url(pk), {"title": "Summer glow"}, format="json")
    assert response.status_code == 200
    assert response.json()["title"] == "Summer glow"
    assert response.json()["position"] == 2

    assert creator_client.delete(collection_url(pk)).status_code == 204
    assert not Collection.objects.filter(pk=pk).exists()


def test_creator_puts_moves_and_removes_products_in_a_collection(creator_client, creator):
    collection = CollectionFactory.create(storefront=creator.storefront)
    first, second = ProductFactory.create(), ProductFactory.create()

    assert creator_client.put(item_url(collection.pk, first.pk), {"position": 1}).status_code == 200
    response = creator_client.put(item_url(collection.pk, second.pk), {"position": 0})
    assert [i["product"]["id"] for i in response.json()["items"]] == [second.pk, first.pk]

    response = creator_client.put(item_url(collection.pk, second.pk), {"position": 5})
    assert [i["product"]["id"] for i in response.json()["items"]] == [first.pk, second.pk]
    assert CollectionItem.objects.filter(collection=collection).count() == 2

    response = creator_client.delete(item_url(collection.pk, first.pk))
    assert response.status_code == 200
    assert [i["product"]["id"] for i in response.json()["items"]] == [second.pk]


def test_removing_a_product_not_in_the_collection_is_404(creator_client, creator):
    collection = CollectionFactory.create(storefront=creator.storefront)
    response = creator_client.delete(item_url(collection.pk, ProductFactory.create().pk))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "item_not_found"


@pytest.mark.parametrize(
    ("product_kwargs", "brand_kwargs", "code"),
    [
        ({"status": Product.Status.DRAFT}, {}, "product_not_active"),
        ({"status": Product.Status.ARCHIVED}, {}, "product_not_active"),
        ({}, {"is_active": False}, "product_not_active"),
        ({}, {"open_to_creators": False}, "product_not_allowed"),
    ],
)
def test_collecting_a_product_you_may_not_promote_is_400_and_saves_nothing(
    creator_client, creator, product_kwargs, brand_kwargs, code
):
    collection = CollectionFactory.create(storefront=creator.storefront)
    product = ProductFactory.create(brand=BrandFactory.create(**brand_kwargs), **product_kwargs)
    response = creator_client.put(item_url(collection.pk, product.pk), {"position": 0})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == code
    assert not CollectionItem.objects.filter(collection=collection).exists()


def test_collection_list_is_in_storefront_order_and_only_yours(
    creator_client, creator, other_collection
):
    late = CollectionFactory.create(storefront=creator.storefront, position=5)
    early = CollectionFactory.create(storefront=creator.storefront, position=1)
    body = creator_client.get(COLLECTIONS).json()
    assert [c["id"] for c in body["results"]] == [early.pk, late.pk]


@pytest.mark.parametrize(
    ("method", "path_of", "body"),
    [
        ("get", lambda c, p: collection_url(c), None),
        ("patch", lambda c, p: collection_url(c), {"title": "Mine now"}),
        ("delete", lambda c, p: collection_url(c), None),
        ("put", lambda c, p: item_url(c, p), {"position": 3}),
        ("delete", lambda c, p: item_url(c, p), None),
    ],
)
def test_another_creators_collection_is_404_and_untouched(
    creator_client, other_collection, method, path_of, body
):
    item = CollectionItemFactory.create(collection=other_collection, position=0)
    response = getattr(creator_client, method)(
        path_of(other_collection.pk, item.product_id), body, format="json"
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "collection_not_found"
    other_collection.refresh_from_db()
    item.refresh_from_db()
    assert other_collection.title != "Mine now"
    assert item.position == 0


def test_collection_list_costs_a_fixed_number_of_queries(
    creator_client, creator, django_assert_max_num_queries
):
    brands = BrandFactory.create_batch(4)
    for n in range(20):
        collection = CollectionFactory.create(storefront=creator.storefront, position=n)
        for k in range(3):
            CollectionItemFactory.create(
                collection=collection, product=ProductFactory.create(brand=brands[(n + k) % 4])
            )
    # user, creator, collections, items with their products and brands
    with django_assert_max_num_queries(4):
        response = creator_client.get(COLLECTIONS)
    body = response.json()
    assert len(body["results"]) == 20
    assert all(len(c["items"]) == 3 for c in body["results"])
    assert body["results"][0]["items"][0]["product"]["brand"]["slug"]
