"""The buy box kept per process for visitors without a cart (`creators.pages.product`).

A product page's buy box is rendered once for each stock it shows and served to every
visitor without a cart; their tokens go into its slots per request. These tests prove that
a kept box never carries one visitor's token to another, that it follows every change of
stock it shows (compared with a box rendered afresh), and that it is kept at all.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db.models import F
from django.test import Client
from django.utils import timezone

from creators.attribution.tokens import token_for_click, token_for_storefront
from creators.models import AffiliateLink
from creators.pages import product as product_pages
from orders.models import Cart
from shop.models import Variant
from tests.creators.test_storefront_page import make_showcase

pytestmark = pytest.mark.django_db

_BOX = re.compile(
    r'<form class="buy".*?</form>|<div class="buy sold-out-box">.*?\n</div>', re.DOTALL
)


def buy_box(html: str) -> str:
    found = _BOX.search(html)
    assert found is not None, "no buy box on the page"
    return found.group(0)


def fresh_page(client: Client, path: str, query: dict[str, str]) -> str:
    """The page with nothing kept: the box rendered for this request."""
    product_pages._BUY_BOXES.clear()
    return client.get(path, query).content.decode()


def test_visitors_without_a_cart_never_get_each_others_tokens_from_a_kept_box():
    showcase = make_showcase()
    link = AffiliateLink.objects.get(creator=showcase.creator, product=showcase.spf)
    tokens = [
        token_for_click(click_id="click-1", link_id=link.pk),
        # An hour older than the click: not the storefront credit the link's token derives.
        token_for_storefront(
            creator_id=showcase.creator.pk, issued_at=timezone.now() - timedelta(hours=1)
        ),
    ]
    # The serum is not the link's product: its buy box carries the storefront credit too.
    paths = [f"/@maya.glows/p/{showcase.serum.pk}", f"/@maya.glows/p/{showcase.spf.pk}"]
    pages: list[list[str]] = [[], []]
    for _ in range(2):  # the second round is served from the kept boxes
        for path in paths:
            for index, token in enumerate(tokens):
                pages[index].append(Client().get(path, {"atk": token}).content.decode())

    for index, token in enumerate(tokens):
        for page in pages[index]:
            assert f'name="atk" value="{token}"' in buy_box(page)
            assert tokens[1 - index] not in page
        serum_box = buy_box(pages[index][0])
        satk = re.search(r'name="satk" value="([^"]+)"', serum_box)
        assert satk is not None
        assert satk.group(1) not in "".join(pages[1 - index])
    for box in product_pages._BUY_BOXES._entries.values():
        assert not any(token in box for token in tokens)
        assert 'name="atk"' not in box
        assert 'name="satk"' not in box


def test_a_kept_box_follows_every_stock_change_it_shows(client):
    showcase = make_showcase()  # the spf offers the serum when sold out
    link = AffiliateLink.objects.get(creator=showcase.creator, product=showcase.spf)
    query = {"atk": token_for_click(click_id="click-1", link_id=link.pk)}
    serum = showcase.serum.variants.get()
    serum_path = f"/@maya.glows/p/{showcase.serum.pk}"
    spf_path = f"/@maya.glows/p/{showcase.spf.pk}"
    spf_sizes = list(showcase.spf.variants.order_by("position", "id"))
    steps = [
        ("in stock", lambda: None, serum_path, "In stock"),
        (
            "fewer, still in stock",
            lambda: Variant.objects.filter(pk=serum.pk).update(reserved=10),
            serum_path,
            "In stock",
        ),
        (
            "low",
            lambda: Variant.objects.filter(pk=serum.pk).update(reserved=F("on_hand") - 3),
            serum_path,
            "Only 3 left",
        ),
        (
            "lower",
            lambda: Variant.objects.filter(pk=serum.pk).update(reserved=F("on_hand") - 2),
            serum_path,
            "Only 2 left",
        ),
        ("sold out, its fallback offered", lambda: None, spf_path, "Try this instead"),
        (
            "sold out, its fallback gone too",
            lambda: Variant.objects.filter(pk=serum.pk).update(reserved=F("on_hand")),
            spf_path,
            "Notify me",
        ),
        (
            "one size back",
            lambda: Variant.objects.filter(pk=spf_sizes[1].pk).update(on_hand=1),
            spf_path,
            "Only 1 left",
        ),
    ]
    for name, change, path, shown in steps:
        client.get(path, query)  # kept, before the change
        change()
        served = buy_box(client.get(path, query).content.decode())
        assert served == buy_box(fresh_page(client, path, query)), name
        assert shown in served, name


def test_a_box_is_rendered_once_for_each_stock_it_shows(client, monkeypatch):
    showcase = make_showcase()
    path = f"/@maya.glows/p/{showcase.serum.pk}"
    serum = showcase.serum.variants.get()
    renders = []
    render = product_pages._rendered

    def counted(*args, **kwargs):
        renders.append(kwargs["page"] is not None)
        return render(*args, **kwargs)

    monkeypatch.setattr(product_pages, "_rendered", counted)
    product_pages._BUY_BOXES.clear()
    client.get(path)
    for reserved in (1, 2, 3):  # sold units that leave the serum in stock
        Variant.objects.filter(pk=serum.pk).update(reserved=reserved)
        assert "In stock" in buy_box(client.get(path).content.decode())
    assert renders.count(True) == 1

    Variant.objects.filter(pk=serum.pk).update(reserved=F("on_hand") - 3)
    assert "Only 3 left" in buy_box(client.get(path).content.decode())
    assert renders.count(True) == 2

    # A visitor with a cart gets their cart's link in the box: rendered for them.
    cart = Cart.objects.create(currency="USD")
    page = client.get(path, {"cart": cart.token}).content.decode()
    assert cart.token in buy_box(page)
    assert renders.count(True) == 3
