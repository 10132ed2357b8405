"""A storefront in pages of a fixed number of product cards (`/@handle/page/N`): what a fan
on a phone loads, and what a request costs, stay the same whatever the catalog's size."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from creators.models import CollectionItem
from creators.selectors.storefront import storefront_page_get
from shop.models import Product
from tests.creators.test_storefront_codes import code
from tests.creators.test_storefront_page import (
    make_collection,
    make_creator,
    make_product,
    make_video,
    read,
    text,
)
from tests.shop.factories import BrandFactory

pytestmark = pytest.mark.django_db

_CARD = re.compile(r'data-product-id="(\d+)"')


@pytest.fixture(autouse=True)
def pages_of_four(settings):
    settings.STOREFRONT_PAGE_PRODUCTS = 4


def cards(response) -> list[int]:
    assert response.status_code == 200
    return [int(found) for found in _CARD.findall(response.content.decode())]


def shelf(handle: str = "maya.glows"):
    """A video of 3, an older video with none, a collection of 10 with a draft among them:
    13 cards, pages of 4, 4, 4 and 1."""
    creator = make_creator(handle)
    brand = BrandFactory.create(currency="USD")
    tagged = [make_product(f"Tagged {i}", brand=brand) for i in range(3)]
    collected = [make_product(f"Collected {i}", brand=brand) for i in range(10)]
    draft = make_product("Draft", brand=brand, status=Product.Status.DRAFT)
    newest = make_video(creator, products=[(p, i) for i, p in enumerate(tagged)])
    bare = make_video(creator, posted_at=timezone.now() - timedelta(hours=1), caption="No tags")
    make_collection(creator, "Everything", [*collected[:5], draft, *collected[5:]])
    code(creator, "MAYA10")
    return creator, tagged, collected, newest, bare


def test_every_product_shows_once_in_order_on_pages_of_the_same_size(client):
    _creator, tagged, collected, _newest, _bare = shelf()

    pages = [cards(client.get("/@maya.glows"))]
    pages += [cards(client.get(f"/@maya.glows/page/{n}")) for n in (2, 3, 4)]

    assert [len(page) for page in pages] == [4, 4, 4, 1]
    assert [pk for page in pages for pk in page] == [p.pk for p in (*tagged, *collected)]


def test_sections_show_on_the_pages_their_cards_are_on_and_codes_on_the_first(client):
    _creator, _tagged, _collected, newest, _bare = shelf()

    first = text(client.get("/@maya.glows"))
    second = text(client.get("/@maya.glows/page/2"))

    assert f'id="video-{newest.pk}"' in first
    assert f'id="video-{newest.pk}"' not in second
    # A video with no products goes where its place in the order falls: after the first's 3.
    assert "No tags" in first
    assert "No tags" not in second
    assert "Everything" in first
    assert "Everything" in second
    assert "MAYA10" in first
    assert "MAYA10" not in second


def test_the_pager_links_the_pages_and_each_page_names_itself(client):
    shelf()

    first = client.get("/@maya.glows")
    second = client.get("/@maya.glows/page/2")
    last = client.get("/@maya.glows/page/4")

    assert 'href="/@maya.glows/page/2" rel="next">More products' in first.content.decode()
    assert "Previous" not in text(first)
    assert 'href="/@maya.glows" rel="prev"' in second.content.decode()
    assert 'href="/@maya.glows/page/3" rel="next"' in second.content.decode()
    assert "Page 2 of 4" in text(second)
    assert "More products" not in text(last)
    assert read(second).links["canonical"].endswith("/@maya.glows/page/2")
    assert "(@maya.glows) · page 2 · Tribe" in text(second)


def test_page_one_and_zero_padded_numbers_redirect_to_the_canonical_url(client):
    shelf()

    for asked, canonical in (
        ("/@maya.glows/page/1", "/@maya.glows"),
        ("/@maya.glows/page/02?atk=t", "/@maya.glows/page/2?atk=t"),
        ("/@Maya.Glows/page/2", "/@maya.glows/page/2"),
        ("/@maya.glows/page/2/", "/@maya.glows/page/2"),
    ):
        response = client.get(asked)
        assert response.status_code == 301, asked
        assert response["Location"] == canonical


def test_a_page_past_the_last_is_a_plain_404_and_stored_like_a_page(client):
    shelf()
    client.get("/@maya.glows/page/9")

    with CaptureQueriesContext(connection) as again:
        response = client.get("/@maya.glows/page/9")

    assert response.status_code == 404
    assert "@maya.glows has no page 9. This storefront has 4 pages." in text(response)
    assert len(again.captured_queries) == 1  # its versions: no build
    assert client.get("/@maya.glows/page/0").status_code == 404


def test_a_new_product_moves_the_later_pages_along_at_once(client):
    creator, _tagged, collected, _newest, _bare = shelf()
    assert cards(client.get("/@maya.glows/page/4")) == [collected[9].pk]
    added = make_product("Added", brand=collected[0].brand)

    collection = creator.storefront.collections.get()
    collection.items.update(position=F("position") + 1)
    CollectionItem.objects.create(collection=collection, product=added, position=0)

    assert cards(client.get("/@maya.glows"))[3] == added.pk
    assert cards(client.get("/@maya.glows/page/2"))[0] == collected[0].pk
    assert cards(client.get("/@maya.glows/page/4")) == [collected[8].pk, collected[9].pk]


def test_a_page_loads_only_its_own_products():
    shelf()

    with CaptureQueriesContext(connection) as captured:
        page = storefront_page_get(handle="maya.glows", every_fallback=True, number=4)

    assert [p.title for c in page.collections for p in c.products] == ["Collected 9"]
    # The images come with the products loaded: the page's one, not the storefront's 13.
    (images,) = [q["sql"] for q in captured.captured_queries if "shop_productimage" in q["sql"]]
    (loaded,) = re.findall(r'"product_id" IN \(([^)]*)\)', images)
    assert loaded.split(", ") == [str(page.collections[0].products[0].id)]


def test_the_api_still_returns_the_whole_storefront(api_client):
    _creator, tagged, collected, _newest, _bare = shelf()

    body = api_client.get("/api/v1/storefronts/maya.glows/").json()

    shown = [t["product"]["id"] for v in body["videos"] for t in v["products"]]
    shown += [p["id"] for c in body["collections"] for p in c["products"]]
    assert shown == [p.pk for p in (*tagged, *collected)]
    assert body["page"] is None


def test_the_api_gives_the_same_pages_with_links_to_the_next(api_client):
    _creator, tagged, collected, _newest, _bare = shelf()

    first = api_client.get("/api/v1/storefronts/maya.glows/", {"page": 1, "atk": "x"}).json()
    second = api_client.get(first["page"]["next"]).json()
    last = api_client.get("/api/v1/storefronts/maya.glows/", {"page": 4, "atk": "x"}).json()

    shown = [t["product"]["id"] for v in first["videos"] for t in v["products"]]
    shown += [p["id"] for c in first["collections"] for p in c["products"]]
    assert shown == [p.pk for p in (*tagged, collected[0])]
    assert [c["code"] for c in first["codes"]] == ["MAYA10"]
    assert {k: v for k, v in first["page"].items() if k != "next"} == {
        "number": 1,
        "pages": 4,
        "previous": None,
    }
    following = urlsplit(first["page"]["next"])
    assert following.path == "/api/v1/storefronts/maya.glows/"
    assert parse_qs(following.query) == {"page": ["2"], "atk": ["x"]}  # the token carried
    assert second["page"]["number"] == 2
    assert [p["id"] for c in second["collections"] for p in c["products"]] == [
        p.pk for p in collected[1:5]
    ]
    assert [p["id"] for c in last["collections"] for p in c["products"]] == [collected[9].pk]
    assert last["codes"] == []
    assert last["page"]["next"] is None
    assert parse_qs(urlsplit(last["page"]["previous"]).query)["page"] == ["3"]


@pytest.mark.parametrize("page", ["0", "two", "", "10000", "1.5"])
def test_the_api_refuses_a_page_that_is_no_number_of_one(api_client, page):
    shelf()

    response = api_client.get("/api/v1/storefronts/maya.glows/", {"page": page})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert "page" in response.json()["error"]["fields"]


def test_the_api_answers_a_page_past_the_last_with_how_many_there_are(api_client):
    creator, _tagged, collected, _newest, _bare = shelf()
    api_client.get("/api/v1/storefronts/maya.glows/", {"page": 5})

    with CaptureQueriesContext(connection) as again:
        response = api_client.get("/api/v1/storefronts/maya.glows/", {"page": 5})

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "storefront_page_not_found"
    assert response.json()["error"]["details"] == {"pages": 4}
    assert len(again.captured_queries) == 1  # stored: its versions, no build
    # Four more products make a fifth page, at once.
    for i in range(4):
        CollectionItem.objects.create(
            collection=creator.storefront.collections.get(),
            product=make_product(f"More {i}", brand=collected[0].brand),
            position=20 + i,
        )
    fifth = api_client.get("/api/v1/storefronts/maya.glows/", {"page": 5}).json()
    assert [p["title"] for c in fifth["collections"] for p in c["products"]] == ["More 3"]
