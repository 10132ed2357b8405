"""The storefront and product pages served from their stored shared part (`creators.pages`).

Per request only the live parts are computed: the stock (one query), the visitor's tokens
and cart, and the linked product. These tests pin the queries, prove that no visitor's
token is ever stored or served to another visitor, and that the writers' changes show on
the next request.
"""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.db.models import F
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django.utils.html import escape

from common.visitor import carry_query
from creators.attribution.tokens import token_for_click, token_for_storefront
from creators.models import AffiliateLink, PageVersion
from creators.pages.product import product_stored_get
from creators.pages.storefront import storefront_stored_get
from creators.services.videos import video_tags_set
from orders.models import Cart
from shop.models import BrandMember, Product, Variant
from shop.services.catalog import product_set_status
from tests.creators.test_shop_pages import stored_text
from tests.creators.test_storefront_attribution import page_token
from tests.creators.test_storefront_page import (
    make_collection,
    make_creator,
    make_link,
    make_product,
    make_showcase,
    make_video,
    text,
)
from tests.factories import UserFactory
from tests.shop.factories import BrandFactory

pytestmark = pytest.mark.django_db


def make_storefront_of(handle: str, products: int) -> list[Product]:
    creator = make_creator(handle)
    brand = BrandFactory.create(currency="USD")
    made = [
        make_product(f"{handle} {i}", brand=brand, stock=[(9, 0), (2, 1)]) for i in range(products)
    ]
    make_video(creator, products=[(p, i) for i, p in enumerate(made[:5])])
    make_collection(creator, "All of it", made)
    make_link(creator, made[0], fallback=made[1])
    return made


def queries(client: Client, path: str, query: dict[str, str] | None = None) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path, query or {}).status_code == 200
    return len(captured.captured_queries)


def test_storefront_and_product_page_cost_one_query_with_10_or_200_products(client):
    small = make_storefront_of("small.shop", 10)
    big = make_storefront_of("big.shop", 200)
    # 205 cards (a video of 5, a collection of 200) on pages of 48: the last is page 5.
    for path in (
        "/@small.shop",
        "/@big.shop",
        "/@big.shop/page/5",
        f"/@small.shop/p/{small[3].pk}",
        f"/@big.shop/p/{big[3].pk}",
    ):
        client.get(path)  # builds the stored page

    assert queries(client, "/@small.shop") == 1
    assert queries(client, "/@big.shop") == 1
    assert queries(client, "/@big.shop/page/5") == 1
    assert queries(client, f"/@small.shop/p/{small[3].pk}") == 1
    assert queries(client, f"/@big.shop/p/{big[3].pk}") == 1
    last = client.get("/@big.shop/page/5").content.decode()
    assert last.count(f'data-product-id="{big[199].pk}"') == 1


def test_a_fan_landing_from_a_link_with_a_cart_costs_the_same_with_10_or_200_products(client):
    costs = []
    for handle, products in (("small.shop", 10), ("big.shop", 200)):
        made = make_storefront_of(handle, products)
        link = AffiliateLink.objects.get(creator__handle=handle, product=made[0])
        token = token_for_click(click_id=f"click-{handle}", link_id=link.pk)
        cart = Cart.objects.create(currency="USD")
        cart.lines.create(variant=made[2].variants.all()[0], quantity=1)
        query = {"atk": token, "cart": cart.token}
        client.get(f"/@{handle}", query)
        # The stock (with the linked product's variants) and the cart's count: the link's
        # terms were read by the first landing and are kept under the page's versions.
        costs.append(queries(client, f"/@{handle}", query))

    assert costs == [2, 2]


def landed_token(client: Client, path: str, token: str) -> str | None:
    """The link token the page carries into the cart, if it carried one."""
    return page_token(client.get(path, {"atk": token}))


def test_a_links_kept_terms_follow_the_brands_window_and_the_link_itself(client):
    """A landing reads the link's terms once per process; a shorter window and a removed
    link show on the very next landing."""
    made = make_storefront_of("kept.terms", 3)
    link = AffiliateLink.objects.get(creator__handle="kept.terms", product=made[0])
    token = token_for_click(click_id="click-kept", link_id=link.pk)
    assert landed_token(client, "/@kept.terms", token) == token
    assert queries(client, "/@kept.terms", {"atk": token}) == 1  # the stock only

    brand = made[0].brand
    brand.attribution_window_days = 0  # the click, made now, is outside it
    brand.save(update_fields=["attribution_window_days"])
    assert landed_token(client, "/@kept.terms", token) is None

    brand.attribution_window_days = 30
    brand.save(update_fields=["attribution_window_days"])
    assert landed_token(client, "/@kept.terms", token) == token
    link.delete()
    assert landed_token(client, "/@kept.terms", token) is None


def test_two_visitors_never_get_each_others_tokens_from_the_stored_pages(settings):
    settings.STOREFRONT_PAGE_PRODUCTS = 2  # its 5 cards on 3 pages
    showcase = make_showcase()
    link = AffiliateLink.objects.get(creator=showcase.creator, product=showcase.spf)
    link_token = token_for_click(click_id="click-a", link_id=link.pk)
    # An hour older than the click: not the storefront credit the link's page derives.
    storefront_token = token_for_storefront(
        creator_id=showcase.creator.pk, issued_at=timezone.now() - timedelta(hours=1)
    )
    carts = [Cart.objects.create(currency="USD") for _ in range(2)]
    for cart in carts:
        cart.lines.create(variant=showcase.serum.variants.get(), quantity=1)
    visitors = [
        (Client(), {"atk": link_token, "cart": carts[0].token}),
        (Client(), {"atk": storefront_token, "cart": carts[1].token}),
    ]
    own = [{link_token, carts[0].token}, {storefront_token, carts[1].token}]
    paths = [
        "/@maya.glows",
        "/@maya.glows/page/2",
        f"/@maya.glows/p/{showcase.serum.pk}",
        f"/@maya.glows/p/{showcase.spf.pk}",
    ]

    pages: list[list[str]] = [[], []]
    for _ in range(2):  # the second round is served from what the first stored
        for path in paths:
            for index, (client, query) in enumerate(visitors):
                pages[index].append(client.get(path, query).content.decode())

    for index in (0, 1):
        other = own[1 - index]
        assert all(token not in page for page in pages[index] for token in other)
        assert [carts[index].token in page for page in pages[index]] == [True] * 8
    assert link_token in pages[0][0]
    assert storefront_token in pages[1][0]
    # The next page's links carry each visitor's own tokens.
    carried = urlencode({"atk": link_token, "cart": carts[0].token}).replace("&", "&amp;")
    assert f'href="/@maya.glows/page/3?{carried}" rel="next"' in pages[0][1]
    stored = [
        stored_text(storefront_stored_get(handle="maya.glows")),
        stored_text(storefront_stored_get(handle="maya.glows", number=2)),
        product_stored_get(handle="maya.glows", product_id=showcase.serum.pk).html,
        product_stored_get(handle="maya.glows", product_id=showcase.spf.pk).featured_html,
    ]
    for html in stored:
        for token in (link_token, storefront_token, carts[0].token, carts[1].token):
            assert token not in html
        assert "csrf" not in html.lower()


def test_a_price_change_shows_on_the_next_request(client):
    showcase = make_showcase()
    client.get("/@maya.glows")
    client.get(f"/@maya.glows/p/{showcase.serum.pk}")
    variant = showcase.serum.variants.get()

    variant.price = "31.50"
    variant.save()

    assert "$31.50" in text(client.get("/@maya.glows"))
    assert "$31.50" in text(client.get(f"/@maya.glows/p/{showcase.serum.pk}"))
    assert "$24.00" not in text(client.get(f"/@maya.glows/p/{showcase.serum.pk}"))


def test_a_stock_change_shows_on_the_next_request_without_rebuilding_the_page(client):
    showcase = make_showcase()
    product_path = f"/@maya.glows/p/{showcase.serum.pk}"
    client.get("/@maya.glows")
    client.get(product_path)
    assert "Only" not in text(client.get(product_path))

    # Checkout's reserve: a conditional UPDATE, which sends no signal.
    Variant.objects.filter(product=showcase.serum).update(reserved=F("on_hand") - 3)

    assert queries(client, "/@maya.glows") == 1
    assert "Only 3 left" in text(client.get(product_path))
    serum = re.search(
        rf'<div class="product[^"]*" data-product-id="{showcase.serum.pk}" '
        r'data-stock-state="(\w+)"',
        client.get("/@maya.glows").content.decode(),
    )
    assert serum is not None
    assert serum.group(1) == "low_stock"

    Variant.objects.filter(product=showcase.serum).update(reserved=F("on_hand"))

    page = client.get(product_path)
    assert "Sold out" in text(page)
    assert "Add to cart" not in text(page)


def test_a_sold_out_product_offers_its_fallback_only_while_the_fallback_has_stock(client):
    showcase = make_showcase()  # spf is sold out; its link offers the serum
    assert "Try this instead" in text(client.get(f"/@maya.glows/p/{showcase.spf.pk}"))

    Variant.objects.filter(product=showcase.serum).update(reserved=F("on_hand"))

    assert "Try this instead" not in text(client.get(f"/@maya.glows/p/{showcase.spf.pk}"))
    assert "Try this instead" not in text(client.get("/@maya.glows"))


def test_a_creators_new_video_and_tags_show_on_the_next_request(client):
    showcase = make_showcase()
    extra = make_product("Night cream", brand=showcase.serum.brand, stock=[(8, 0)])
    client.get("/@maya.glows")
    video = make_video(showcase.creator, caption="Evening routine", products=[])

    assert "Evening routine" in text(client.get("/@maya.glows"))

    video_tags_set(
        creator=showcase.creator,
        video_id=video.pk,
        tags=[{"product_id": extra.pk, "appears_at_seconds": 3}],
    )

    assert "Night cream" in text(client.get("/@maya.glows"))
    assert client.get(f"/@maya.glows/p/{extra.pk}").status_code == 200


def test_a_product_taken_off_sale_leaves_the_stored_pages(client):
    showcase = make_showcase()
    client.get("/@maya.glows")
    client.get(f"/@maya.glows/p/{showcase.lip_mask.pk}")

    showcase.lip_mask.status = Product.Status.DRAFT
    showcase.lip_mask.save()

    assert "Overnight lip mask" not in text(client.get("/@maya.glows"))
    assert client.get(f"/@maya.glows/p/{showcase.lip_mask.pk}").status_code == 404


def test_products_archived_in_bulk_leave_the_stored_pages(client):
    showcase = make_showcase()
    owner = UserFactory.create()
    BrandMember.objects.create(
        user=owner, brand=showcase.lip_mask.brand, role=BrandMember.Role.OWNER
    )
    client.get("/@maya.glows")

    # One UPDATE for all of them: no model signal, only the catalog's change.
    product_set_status(
        user=owner, product_ids=[showcase.lip_mask.pk], status=Product.Status.ARCHIVED
    )

    assert "Overnight lip mask" not in text(client.get("/@maya.glows"))


def test_an_unknown_handle_is_stored_until_a_creator_takes_it(client):
    assert client.get("/@new.face").status_code == 404
    assert queries_404(client, "/@new.face") == 0

    make_creator("new.face", display_name="New Face")

    response = client.get("/@new.face")
    assert response.status_code == 200
    assert "New Face" in text(response)


def test_a_no_such_storefront_built_as_a_creator_takes_the_handle_is_not_kept(client, monkeypatch):
    """The entry is built from a read that missed the creator, and stored after the
    creator's write retired what was stored for the handle: its stamp must retire it."""
    from creators.pages import storefront

    read = storefront.storefront_creator_id

    def taken_meanwhile(**kwargs: str) -> int | None:
        found = read(**kwargs)
        make_creator("late.comer", display_name="Late Comer")
        return found

    monkeypatch.setattr(storefront, "storefront_creator_id", taken_meanwhile)
    assert client.get("/@late.comer").status_code == 404
    monkeypatch.undo()

    response = client.get("/@late.comer")
    assert response.status_code == 200
    assert "Late Comer" in text(response)


def test_unknown_handles_leave_nothing_in_redis_for_good(client):
    """Anyone can ask for any handle: what a miss stores (the entry and the handle's
    version) expires, and nothing is written to the database; the catalog's and creators'
    versions are rows, kept for good."""
    from django.core.cache import cache

    from creators.models import PageVersion
    from creators.pages.versions import handle_version_key, storefront_key

    assert client.get("/@nobody.here").status_code == 404
    redis = cache._cache.get_client()  # type: ignore[attr-defined]

    def ttl(key: str) -> int:
        return int(redis.ttl(cache.make_key(key)))

    assert ttl(storefront_key("nobody.here")) > 0
    assert ttl(handle_version_key("nobody.here")) > 0
    assert not PageVersion.objects.exists()
    creator = make_creator("nobody.here")  # the bump keeps the handle's version expiring
    assert ttl(handle_version_key("nobody.here")) > 0
    assert PageVersion.objects.filter(key=f"pages:v:creator:{creator.pk}").exists()


def queries_404(client: Client, path: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 404
    return len(captured.captured_queries)


def test_a_kept_page_reads_its_versions_with_its_stock_and_nothing_from_redis(client, monkeypatch):
    """A page this process keeps costs one statement (its versions and its stock); a write
    elsewhere changes a version row, and the next request reads the page afresh."""
    from django.core.cache import cache

    showcase = make_showcase()
    paths = ["/@maya.glows", f"/@maya.glows/p/{showcase.serum.pk}"]
    for path in paths:
        client.get(path)  # builds and keeps the page
    reads: list[tuple] = []

    def counted(real):
        def read(*args, **kwargs):
            reads.append(args)
            return real(*args, **kwargs)

        return read

    for name in ("get", "get_many"):
        monkeypatch.setattr(cache, name, counted(getattr(cache, name)))

    for path in paths:
        assert queries(client, path) == 1
    assert reads == []

    # As another process would: the row changes, nothing this process keeps is told.
    PageVersion.objects.filter(key=f"pages:v:creator:{showcase.creator.pk}").update(token="x")
    Product.objects.filter(pk=showcase.serum.pk).update(title="Vitamin C serum, refilled")
    for path in paths:
        assert "Vitamin C serum, refilled" in text(client.get(path))


def test_a_kept_page_found_retired_reads_no_version_again_before_its_build(client):
    """The live read that finds a kept page retired has the current versions: nothing
    between it and the build's lock reads them again."""
    showcase = make_showcase()
    paths = ["/@maya.glows", f"/@maya.glows/p/{showcase.serum.pk}"]
    for path in paths:
        client.get(path)  # builds and keeps the page
    for path in paths:
        PageVersion.objects.filter(key=f"pages:v:creator:{showcase.creator.pk}").update(
            token=f"elsewhere-{len(path)}"
        )
        with CaptureQueriesContext(connection) as captured:
            assert client.get(path).status_code == 200
        statements = [query["sql"] for query in captured.captured_queries]
        lock = next(i for i, sql in enumerate(statements) if "advisory_xact_lock" in sql)
        assert "creators_pageversion" in statements[0]  # the live read
        assert not any("creators_pageversion" in sql for sql in statements[1:lock])


def test_every_card_carries_the_visitors_tokens_in_every_stock_state(client):
    showcase = make_showcase()  # the serum in stock, the lip mask low, the SPF sold out
    token = token_for_storefront(creator_id=showcase.creator.pk)
    cart = Cart.objects.create(currency="USD")
    query = {"atk": token, "cart": cart.token}
    client.get("/@maya.glows", query)  # builds and stores the page

    page = client.get("/@maya.glows", query).content.decode()

    # Every slot filled, in the stored parts and in the cards put in per request.
    assert "tribe-visitor" not in page
    links = re.findall(r'href="/@maya\.glows/p/(\d+)([^"]*)"', page)
    carried = escape(carry_query(atk=token, cart=cart.token))
    assert {int(product_id) for product_id, _ in links} == {
        showcase.serum.pk,
        showcase.lip_mask.pk,
        showcase.spf.pk,
    }
    assert {rest for _, rest in links} == {carried}
    sold_out = page[page.index(f'data-product-id="{showcase.spf.pk}"') :]
    sold_out = sold_out[: sold_out.index("</li>")]
    assert "Sold out" in sold_out
    assert f'href="/@maya.glows/p/{showcase.serum.pk}{carried}"' in sold_out  # its fallback
    assert f'<input type="hidden" name="atk" value="{token}">' in sold_out  # the waitlist
    assert "Only 3 left" in text(client.get("/@maya.glows", query))
