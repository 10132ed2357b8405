"""The storefront a fan buys from: landing on the linked product, the product page, home.

Pages are read with Django's test client; the cart and checkout pages they lead to are
tested in tests/orders/test_web_cart.py and test_web_checkout.py.
"""

from __future__ import annotations

import io
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from creators.attribution.tokens import token_for_click, token_for_storefront
from creators.models import AffiliateLink
from creators.pages.storefront import storefront_stored_get
from orders.models import Cart
from tests.creators.test_storefront_page import (
    make_creator,
    make_link,
    make_product,
    make_showcase,
    make_video,
    read,
    text,
)
from tests.shop.factories import BrandFactory, VariantFactory

pytestmark = pytest.mark.django_db

# The first request builds the stored page (the creator's id, the build's lock, the page's
# versions, the creator, product, its variants, its images, its moments in the creator's
# videos, the link offering a fallback) and reads the live stock; in a test, the lock's
# transaction is a SAVEPOINT pair (`creators.pages.locks`).
PRODUCT_PAGE_QUERIES = 12


def featured_id(response) -> int | None:
    match = re.search(
        r'<section class="card featured" id="product-(\d+)"', response.content.decode()
    )
    return int(match.group(1)) if match else None


def stored_text(stored) -> str:
    """Everything a stored storefront holds: its pieces and every state of every card."""
    texts = []
    for piece in stored.pieces:
        if isinstance(piece, str):
            texts.append(piece)
            continue
        states = cache.get(stored.states_key(piece))
        texts += [piece.in_stock, states.sold_out, states.sold_out_fallback_in_stock]
        texts += [*states.low, *states.sold_out_fallback_low]
    return "".join(texts)


def hidden_inputs(response) -> dict[str, str]:
    return {
        i["name"] or "": i["value"] or ""
        for i in read(response).inputs
        if i.get("type") == "hidden"
    }


# --- landing ------------------------------------------------------------------------------


def test_a_link_tap_lands_on_the_storefront_with_its_product_first_and_open(client):
    showcase = make_showcase()
    # In no video and no collection: only the link knows it.
    loner = make_product("Travel mist", brand=showcase.serum.brand)
    link = make_link(showcase.creator, loner)

    tapped = client.get(f"/r/{link.code}")
    landed = client.get(tapped["Location"])

    assert tapped.status_code == 302
    assert featured_id(landed) == loner.pk
    body = landed.content.decode()
    assert body.index("Travel mist") < body.index('id="videos"')
    assert 'name="sku"' in body  # open: the variant picker is right there
    assert "Add to cart" in body


def test_product_in_the_query_opens_that_product_first_whatever_collection_it_is_in(client):
    showcase = make_showcase()

    response = client.get("/@maya.glows", {"product": str(showcase.lip_mask.pk)})

    assert featured_id(response) == showcase.lip_mask.pk
    assert "Only 3 left" in text(response)


def test_a_link_token_without_product_opens_the_links_product(client):
    showcase = make_showcase()
    link = make_link(showcase.creator, showcase.lip_mask)
    token = token_for_click(click_id="c1", link_id=link.pk)

    response = client.get("/@maya.glows", {"atk": token})

    assert featured_id(response) == showcase.lip_mask.pk
    assert hidden_inputs(response)["atk"] == token


def test_an_unknown_or_foreign_product_in_the_query_just_shows_the_storefront(client):
    make_showcase()
    stranger = make_product("Not hers")

    for value in (str(stranger.pk), "999999", "abc", "9" * 40):
        response = client.get("/@maya.glows", {"product": value})
        assert response.status_code == 200
        assert featured_id(response) is None


def test_the_shared_part_is_the_same_for_every_visitor_and_holds_no_token(client):
    showcase = make_showcase()
    link = AffiliateLink.objects.get(creator=showcase.creator, product=showcase.spf)
    tokens = [token_for_click(click_id=f"c{i}", link_id=link.pk) for i in (1, 2)]

    first = client.get("/@maya.glows", {"atk": tokens[0]}).content.decode()
    stored = storefront_stored_get(handle="maya.glows")
    second = Client().get("/@maya.glows", {"atk": tokens[1]}).content.decode()

    shared = stored_text(stored)
    assert storefront_stored_get(handle="maya.glows") == stored
    assert 'name="atk"' not in shared
    assert "?atk=" not in shared
    assert "csrf" not in shared.lower()
    assert not any(token in shared for token in tokens)
    assert tokens[0] in first
    assert tokens[1] in second
    assert tokens[1] not in first
    assert tokens[0] not in second


def test_links_and_forms_carry_the_visitors_tokens_for_browsers_without_cookies(client):
    showcase = make_showcase()
    token = token_for_storefront(creator_id=showcase.creator.pk)
    cart = Cart.objects.create()

    response = client.get("/@maya.glows", {"atk": token, "cart": cart.token})

    page = read(response)
    product_link = re.search(
        rf'href="(/@maya\.glows/p/{showcase.serum.pk}[^"]*)"', response.content.decode()
    )
    assert product_link is not None
    query = parse_qs(urlsplit(product_link.group(1).replace("&amp;", "&")).query)
    assert query == {"atk": [token], "cart": [cart.token]}
    assert any(i.get("name") == "atk" and i.get("value") == token for i in page.inputs)
    assert f"/cart/{cart.token}/" in response.content.decode()


def test_token_pages_send_same_origin_referrer_policy_and_are_never_cached(client):
    showcase = make_showcase()
    token = token_for_storefront(creator_id=showcase.creator.pk)

    landed = client.get("/@maya.glows", {"atk": token})
    product = client.get(f"/@maya.glows/p/{showcase.serum.pk}", {"atk": token})

    for response in (landed, product):
        assert response["Referrer-Policy"] == "same-origin"
        assert "no-store" in response["Cache-Control"]


def test_the_cart_link_shows_how_many_units_the_visitors_cart_holds(client):
    showcase = make_showcase()
    variant = showcase.serum.variants.get()
    cart = Cart.objects.create(currency="USD")
    cart.lines.create(variant=variant, quantity=3)

    response = client.get("/@maya.glows", {"cart": cart.token})

    assert "Cart (3)" in text(response)


def test_a_tampered_cart_token_on_the_storefront_is_ignored(client):
    make_showcase()

    response = client.get("/@maya.glows", {"cart": "not-a-real-cart-token"})

    assert response.status_code == 200
    assert "not-a-real-cart-token" not in response.content.decode()
    assert "Cart is empty" in text(response)


# --- product page --------------------------------------------------------------------------


def test_product_page_shows_images_price_variants_with_live_stock_and_the_video_moment(client):
    creator = make_creator()
    brand = BrandFactory.create(name="Glow Labs", currency="USD")
    product = make_product("Silk scrunchie", brand=brand, stock=[(10, 0)], price="12.00")
    product.variants.update(title="Blush")
    VariantFactory.create(product=product, title="Sage", price="12.00", on_hand=2, position=1)
    VariantFactory.create(product=product, title="Ink", price="14.00", on_hand=1, reserved=1)
    make_video(creator, products=[(product, 37)], caption="Hair day")

    response = client.get(f"/@maya.glows/p/{product.pk}")

    assert response.status_code == 200
    page = read(response)
    body = text(response)
    assert "Silk scrunchie" in body
    assert "$12.00" in body
    image = page.images[0]
    assert image["srcset"]
    assert image["sizes"]
    assert image["width"]
    assert image["height"]
    radios = [i for i in page.inputs if i.get("type") == "radio"]
    assert len(radios) == 3
    sold_out = [r for r in radios if "disabled" in r]
    assert len(sold_out) == 1
    assert "Blush" in body
    assert "In stock" in body
    assert "Only 2 left" in body
    assert "Sold out" in body
    assert "at 0:37" in body
    assert "Hair day" in body


def test_product_page_open_graph_and_canonical_urls_never_hold_a_token(client, settings):
    settings.SITE_URL = "https://tribe.example"
    showcase = make_showcase()
    token = token_for_storefront(creator_id=showcase.creator.pk)

    response = client.get(f"/@maya.glows/p/{showcase.serum.pk}", {"atk": token})

    page = read(response)
    url = f"https://tribe.example/@maya.glows/p/{showcase.serum.pk}"
    assert page.meta["og:url"] == url
    assert page.links["canonical"] == url
    assert page.meta["og:type"] == "product"
    assert page.meta["og:title"].startswith("Vitamin C serum")
    assert page.meta["product:price:amount"] == "24.00"
    assert page.meta["og:image"].startswith("https://")
    for value in [*page.meta.values(), *page.links.values()]:
        assert token not in value
        assert "atk" not in value


def test_sold_out_product_page_offers_the_waitlist_and_the_creators_fallback(client):
    showcase = make_showcase()  # the SPF is sold out; its link offers the serum instead

    response = client.get(f"/@maya.glows/p/{showcase.spf.pk}")

    page = read(response)
    body = text(response)
    assert "Sold out" in body
    assert not any(i.get("name") == "sku" for i in page.inputs)  # nothing to add
    assert any(f.get("action") == "/waitlist/join/" for f in page.forms)
    assert "Try this instead" in body
    assert f"/@maya.glows/p/{showcase.serum.pk}" in response.content.decode()


def test_product_page_of_a_product_not_on_this_storefront_is_a_friendly_404(client):
    make_showcase()
    stranger = make_product("Not hers")

    for path in (f"/@maya.glows/p/{stranger.pk}", "/@maya.glows/p/999999", "/@nobody/p/1"):
        response = client.get(path)
        assert response.status_code == 404
        assert "Back to Tribe" in text(response)


def test_product_page_of_a_mixed_case_handle_redirects_to_the_canonical_url(client):
    showcase = make_showcase()

    response = client.get(f"/@Maya.Glows/p/{showcase.serum.pk}")

    assert response.status_code == 301
    assert response["Location"] == f"/@maya.glows/p/{showcase.serum.pk}"


def test_product_page_messages_are_for_shoppers_never_sku_codes(client):
    showcase = make_showcase()

    body = text(client.get(f"/@maya.glows/p/{showcase.spf.pk}"))

    for variant in showcase.spf.variants.all():
        assert variant.sku not in body


# --- no dead ends -----------------------------------------------------------------------------


def test_home_lists_the_storefronts(client):
    make_showcase()
    make_creator("other.one", display_name="Other One")

    response = client.get("/")

    assert response.status_code == 200
    body = response.content.decode()
    assert 'href="/@maya.glows"' in body
    assert 'href="/@other.one"' in body


def test_an_unknown_link_code_shows_a_helpful_page(client):
    response = client.get("/r/nope1234")

    assert response.status_code == 404
    body = text(response)
    assert "link" in body.lower()
    assert 'href="/"' in response.content.decode()


def test_an_inactive_link_points_to_the_creators_storefront(client):
    showcase = make_showcase()
    link = make_link(showcase.creator, showcase.serum, is_active=False)

    response = client.get(f"/r/{link.code}")

    assert response.status_code == 404
    assert 'href="/@maya.glows"' in response.content.decode()


def test_product_page_queries_are_fixed_however_many_variants_images_and_videos(
    client, django_assert_max_num_queries
):
    creator = make_creator()
    small = make_product("Small", stock=[(5, 0)])
    big = make_product("Big", stock=[(5, 0)] * 30)
    for i in range(10):
        make_video(creator, url=f"https://www.tiktok.com/@m/video/{i}", products=[(big, i)])
    make_video(creator, products=[(small, 1)])

    with CaptureQueriesContext(connection) as few:
        assert client.get(f"/@maya.glows/p/{small.pk}").status_code == 200
    with django_assert_max_num_queries(PRODUCT_PAGE_QUERIES):
        response = client.get(f"/@maya.glows/p/{big.pk}")
    with CaptureQueriesContext(connection) as stored:
        again = client.get(f"/@maya.glows/p/{big.pk}")

    assert response.status_code == 200
    assert text(response).count("TikTok video") == 10
    assert len(few.captured_queries) == PRODUCT_PAGE_QUERIES
    # Served from the stored page: the variants' live stock only.
    assert again.content == response.content
    assert len(stored.captured_queries) == 1


def test_hostile_query_values_are_ignored_never_a_500(client):
    showcase = make_showcase()

    for query in ({"cart": "a\x00b"}, {"atk": "\x00"}, {"product": "1\x00"}, {"cart": "x" * 5000}):
        storefront = client.get("/@maya.glows", query)
        product = client.get(f"/@maya.glows/p/{showcase.serum.pk}", query)
        assert storefront.status_code == 200
        assert product.status_code == 200


def test_the_demo_has_no_dead_ends(client, settings):
    settings.DEMO_SEED_ALLOWED = True
    call_command("seed_demo", stdout=io.StringIO())
    home = client.get("/").content.decode()

    for link in AffiliateLink.objects.filter(is_active=True).select_related("creator"):
        assert f'href="/@{link.creator.handle}"' in home
        landed = client.get(client.get(f"/r/{link.code}")["Location"])
        assert landed.status_code == 200
        assert featured_id(landed) is not None
        product = client.get(f"/@{link.creator.handle}/p/{featured_id(landed)}")
        assert product.status_code == 200


def test_storefront_share_and_canonical_urls_never_hold_the_visitors_tokens(client, settings):
    settings.SITE_URL = "https://tribe.example"
    showcase = make_showcase()
    token = token_for_storefront(creator_id=showcase.creator.pk)
    cart = Cart.objects.create()

    page = read(client.get("/@maya.glows", {"atk": token, "cart": cart.token}))

    assert page.meta["og:url"] == "https://tribe.example/@maya.glows"
    assert page.links["canonical"] == "https://tribe.example/@maya.glows"
    for value in [*page.meta.values(), *page.links.values()]:
        assert token not in value
        assert cart.token not in value


def test_a_variant_in_the_query_is_the_one_picked_unless_it_is_sold_out(client):
    product = make_product("Scrunchie", stock=[(5, 0), (5, 0), (0, 0)])
    make_video(make_creator(), products=[(product, 1)])
    first, second, gone = product.variants.order_by("position")

    def picked(**query: str) -> str:
        checked = [
            i
            for i in read(client.get(f"/@maya.glows/p/{product.pk}", query)).inputs
            if "checked" in i
        ]
        return checked[0]["value"] or "" if checked else ""

    assert picked() == first.sku
    assert picked(variant=str(second.pk)) == second.sku
    assert picked(variant=str(gone.pk)) == first.sku
