"""GET /api/v1/storefronts/{handle}/: the storefront page's data for the apps."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from creators.api.storefront import PublicStorefrontSerializer
from creators.attribution.tokens import token_for_click, token_for_storefront, token_read
from creators.models import Creator
from creators.pages.storefront_json import storefront_json_key
from creators.selectors.storefront import storefront_page_get
from shop.models import Variant
from tests.creators.test_storefront_page import (
    MAX_QUERIES,
    Showcase,
    make_big_storefront,
    make_creator,
    make_link,
    make_product,
    make_showcase,
    make_video,
)

pytestmark = pytest.mark.django_db

URL = "/api/v1/storefronts/{}/"


def _products(data: dict) -> dict[str, dict]:
    return {t["product"]["title"]: t for t in data["videos"][0]["products"]}


def test_anyone_gets_the_creator_and_storefront(api_client):
    make_showcase(
        social_accounts=[
            {"platform": "tiktok", "handle": "maya.glows", "url": "https://tiktok.com/@maya.glows"}
        ]
    )

    response = api_client.get(URL.format("maya.glows"))

    assert response.status_code == 200
    data = response.json()
    assert data["creator"] == {
        "handle": "maya.glows",
        "display_name": "Maya Chen",
        "bio": "Skincare that earns its shelf space.",
        "avatar_url": "https://cdn.example.com/avatars/maya.jpg",
        "social_accounts": [
            {"platform": "tiktok", "handle": "maya.glows", "url": "https://tiktok.com/@maya.glows"}
        ],
    }
    assert data["storefront"] == {"title": "Maya's shelf", "theme_color": "#2F6F5E"}


def test_videos_come_newest_first_with_tagged_products_in_order(api_client):
    creator = make_creator()
    serum, balm = make_product("Serum"), make_product("Balm")
    older = make_video(creator, posted_at=timezone.now() - timedelta(days=2))
    newer = make_video(creator, products=[(balm, 30), (serum, 3)])

    data = api_client.get(URL.format("maya.glows")).json()

    assert [v["id"] for v in data["videos"]] == [newer.pk, older.pk]
    video = data["videos"][0]
    assert set(video) == {
        "id",
        "platform",
        "url",
        "caption",
        "posted_at",
        "thumbnail_url",
        "products",
    }
    assert [(t["product"]["id"], t["appears_at_seconds"]) for t in video["products"]] == [
        (balm.pk, 30),
        (serum.pk, 3),
    ]


def test_product_carries_money_images_and_stock(api_client):
    showcase = make_showcase()

    tags = _products(api_client.get(URL.format("maya.glows")).json())

    lip_mask = tags["Overnight lip mask"]["product"]
    assert lip_mask["id"] == showcase.lip_mask.pk
    assert lip_mask["brand"]["name"] == "Glow Labs"
    assert lip_mask["price"] == {"amount": "16.00", "currency": "USD"}
    assert lip_mask["images"][0]["width"] == 800
    assert (lip_mask["stock_state"], lip_mask["available"]) == ("low_stock", 3)
    assert lip_mask["fallback_product"] is None
    serum = tags["Vitamin C serum"]["product"]
    assert (serum["stock_state"], serum["available"]) == ("in_stock", 40)


def test_sold_out_product_names_the_fallback_from_the_creators_link(api_client):
    showcase = make_showcase()

    tags = _products(api_client.get(URL.format("maya.glows")).json())

    spf = tags["Dewy SPF 50"]["product"]
    assert (spf["stock_state"], spf["available"]) == ("sold_out", 0)
    fallback = spf["fallback_product"]
    assert fallback["id"] == showcase.serum.pk
    assert fallback["price"] == {"amount": "24.00", "currency": "USD"}
    assert fallback["stock_state"] == "in_stock"
    assert "fallback_product" not in fallback


def test_inactive_link_gives_no_fallback(api_client):
    creator = make_creator()
    gone, other = make_product("Gone", stock=[(0, 0)]), make_product("Other")
    make_video(creator, products=[(gone, 1)])
    make_link(creator, gone, fallback=other, is_active=False)

    tags = _products(api_client.get(URL.format("maya.glows")).json())

    assert tags["Gone"]["product"]["fallback_product"] is None


def test_collections_list_their_products(api_client):
    showcase = make_showcase()

    data = api_client.get(URL.format("maya.glows")).json()

    assert [c["title"] for c in data["collections"]] == ["Morning routine"]
    products = data["collections"][0]["products"]
    assert [p["id"] for p in products] == [showcase.serum.pk, showcase.spf.pk]
    assert products[1]["fallback_product"]["id"] == showcase.serum.pk


def test_handle_is_matched_case_insensitively(api_client):
    make_showcase()

    response = api_client.get(URL.format("Maya.Glows"))

    assert response.status_code == 200
    assert response.json()["creator"]["handle"] == "maya.glows"


@pytest.mark.parametrize("status", [None, Creator.Status.SUSPENDED])
def test_unknown_or_suspended_creator_is_a_404_envelope(api_client, status):
    if status is not None:
        make_showcase(status=status)

    response = api_client.get(URL.format("maya.glows"))

    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "storefront_not_found"
    assert error["retryable"] is False


def test_query_count_is_fixed_however_many_videos_and_products(
    api_client, django_assert_max_num_queries
):
    make_showcase("small.one")
    make_big_storefront("big.one")

    with django_assert_max_num_queries(MAX_QUERIES):
        assert api_client.get(URL.format("small.one")).status_code == 200
    with django_assert_max_num_queries(MAX_QUERIES):
        response = api_client.get(URL.format("big.one"))

    assert response.status_code == 200
    data = response.json()
    assert len(data["videos"]) == 20
    assert all(len(v["products"]) == 5 for v in data["videos"])
    assert len(data["collections"]) == 3
    assert any(t["product"]["fallback_product"] for v in data["videos"] for t in v["products"])
    # Served from the stored body: the versions and the stock, in one statement.
    for handle in ("small.one", "big.one"):
        with CaptureQueriesContext(connection) as stored:
            assert api_client.get(URL.format(handle)).status_code == 200
        assert len(stored.captured_queries) == 1


def _stock_states(showcase: Showcase) -> list[Callable[[], object]]:
    """Five stock states of the showcase in turn, the lip mask's fallback the SPF: in
    stock, low and sold out beside each other, each fallback offered and not."""
    return [
        lambda: None,
        # Stock moves by statements that bump no version: each state is read live.
        lambda: Variant.objects.filter(product=showcase.serum).update(reserved=F("on_hand")),
        lambda: Variant.objects.filter(product=showcase.lip_mask).update(reserved=F("on_hand")),
        lambda: Variant.objects.filter(product=showcase.spf).update(on_hand=1, reserved=0),
        lambda: Variant.objects.filter(product=showcase.serum).update(reserved=0),
    ]


@pytest.mark.parametrize("query", [{}, {"page": 1}])
def test_the_stored_body_with_live_stock_says_what_the_rows_say_in_every_stock_state(
    api_client, query
):
    showcase = make_showcase()  # in stock, low, sold out beside its fallback in stock
    make_link(showcase.creator, showcase.lip_mask, fallback=showcase.spf)

    def from_rows() -> dict:
        page = storefront_page_get(handle="maya.glows")
        return json.loads(JSONRenderer().render(PublicStorefrontSerializer(page).data))

    def served() -> dict:
        body = api_client.get(URL.format("maya.glows"), query).json()
        assert body.pop("storefront_token") is None
        assert (body.pop("page") is None) == (not query)
        return body

    def without_answer_only_keys(body: dict) -> dict:
        return {k: v for k, v in body.items() if k not in ("storefront_token", "page")}

    states, offered = [], []
    for change in _stock_states(showcase):
        change()
        body = served()
        assert body == without_answer_only_keys(from_rows())
        tagged = body["videos"][0]["products"]
        states.append({t["product"]["title"]: t["product"]["stock_state"] for t in tagged})
        offered.append(_products(body)["Overnight lip mask"]["product"]["fallback_product"])
    assert states[0]["Dewy SPF 50"] == "sold_out"
    assert states[2]["Overnight lip mask"] == "sold_out"  # beside the SPF, sold out too
    assert states[3]["Dewy SPF 50"] == "low_stock"  # 2 left: offered beside the lip mask
    assert offered[2] is None
    assert offered[3]["id"] == showcase.spf.pk
    assert offered[3]["available"] == 2
    assert states[4]["Vitamin C serum"] == "in_stock"


@pytest.mark.parametrize("query", [{}, {"page": 1}])
def test_the_joined_answer_is_byte_for_byte_what_the_renderer_writes(api_client, query):
    showcase = make_showcase()
    link = make_link(showcase.creator, showcase.lip_mask, fallback=showcase.spf)
    # Text beyond ASCII, and a line separator the renderer escapes.
    showcase.video.caption = "Crème, jour et nuit \u2028✨"
    showcase.video.save()
    token = token_for_click(click_id="click-a", link_id=link.pk)

    for change in _stock_states(showcase):
        change()
        for params in (query, {**query, "atk": token}):
            joined = api_client.get(URL.format("maya.glows"), params)
            assert joined.status_code == 200
            assert joined["Content-Type"] == "application/json"
            assert joined.content == JSONRenderer().render(json.loads(joined.content))
            # Asked indented, DRF's renderer writes the same data again.
            indented = api_client.get(
                URL.format("maya.glows"), params, HTTP_ACCEPT="application/json; indent=2"
            )
            assert b"\n" in indented.content
            assert json.loads(indented.content) == json.loads(joined.content)
    assert "Crème, jour et nuit \\u2028✨" in joined.content.decode()
    assert json.loads(joined.content)["storefront_token"] is not None


def test_two_apps_get_their_own_storefront_tokens_from_one_stored_body(api_client):
    showcase = make_showcase()
    link = make_link(showcase.creator, showcase.serum)
    # A link's click now, and this creator's storefront credit from an hour before.
    tokens = [
        token_for_click(click_id="click-a", link_id=link.pk),
        token_for_storefront(
            creator_id=showcase.creator.pk, issued_at=timezone.now() - timedelta(hours=1)
        ),
    ]

    answers = [api_client.get(URL.format("maya.glows"), {"atk": t}).json() for t in tokens * 2]

    given = [answer["storefront_token"] for answer in answers]
    assert given[0] == given[2] != given[1] == given[3] == tokens[1]
    assert token_read(given[0]).creator_id == showcase.creator.pk
    stored = cache.get(storefront_json_key("maya.glows", None))
    encoded = b"".join(stored.encoded.parts)
    assert b'"storefront_token":' in encoded
    assert not any(t.encode() in encoded for t in [*tokens, *given])


def test_a_write_retires_the_stored_body_at_once(api_client):
    showcase = make_showcase()
    assert "Vitamin C serum" in api_client.get(URL.format("maya.glows")).content.decode()

    showcase.serum.title = "Vitamin C serum, new formula"
    showcase.serum.save()
    showcase.video.caption = "Updated routine"
    showcase.video.save()

    body = api_client.get(URL.format("maya.glows")).json()
    assert "Vitamin C serum, new formula" in _products(body)
    assert body["videos"][0]["caption"] == "Updated routine"


def test_a_body_this_process_keeps_is_served_without_the_cache(api_client):
    make_showcase()
    key = storefront_json_key("maya.glows", None)
    api_client.get(URL.format("maya.glows"))  # built, stored and kept
    cache.delete(key)

    with CaptureQueriesContext(connection) as served:
        response = api_client.get(URL.format("maya.glows"))

    assert response.status_code == 200
    assert len(served.captured_queries) == 1  # the versions and the stock: no build
    assert cache.get(key) is None
