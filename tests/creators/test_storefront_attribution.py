"""The storefront carries the attribution token of its URL (`/@handle?atk=...`) into the cart.

A browser that drops the redirect's cookie, or a shopper who opens a shared URL, still
credits the creator: the page keeps a valid token in the first-party cookie, in its
notify-me forms and in `data-atk` for the web client's cart calls. Anything else is ignored
without a word to the shopper.
"""

from __future__ import annotations

import re
import time
from html import unescape

import pytest
from django.core import signing
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from creators.attribution.tokens import token_for_click, token_for_storefront, token_read
from creators.models import AffiliateLink, Creator
from orders.models import CartLine, OrderLine, WaitlistEntry
from tests.creators.test_storefront_page import (
    MAX_QUERIES,
    Showcase,
    make_big_storefront,
    make_creator,
    make_link,
    make_product,
    make_showcase,
    read,
)
from tests.orders.helpers import ADDRESS

pytestmark = pytest.mark.django_db

PAGE = "/@maya.glows"
# The linked product opened first: product, variants, images, its moments in videos.
LINKED_PRODUCT_QUERIES = 4
COOKIE = "tribe_atk"
THIRTY_DAYS = 30 * 24 * 3600


def link_token(showcase: Showcase, *, click_id: str = "click-1") -> tuple[str, int]:
    """A click on the creator's link to the serum (in stock): the token and the link id."""
    link = make_link(showcase.creator, showcase.serum)
    return token_for_click(click_id=click_id, link_id=link.pk), link.pk


def token_issued_days_ago(monkeypatch: pytest.MonkeyPatch, days: float, **kwargs) -> str:
    past = time.time() - days * 86400
    monkeypatch.setattr(signing.time, "time", lambda: past)  # type: ignore[attr-defined]
    token = token_for_click(**kwargs)
    monkeypatch.undo()
    return token


def tampered(token: str) -> str:
    return token[:-1] + ("A" if token[-1] != "A" else "B")


def page_token(response) -> str | None:
    match = re.search(r'<main data-atk="([^"]*)">', response.content.decode())
    return unescape(match.group(1)) if match else None


def counted(kind: str) -> int:
    return cache.get(f"attribution-count:{timezone.now().date().isoformat()}:{kind}") or 0


def add_to_cart(client: APIClient, sku: str, **body: object):
    cart = client.post("/api/v1/carts/")
    assert cart.status_code == 201, cart.content
    cart_id = cart.json()["id"]
    line = client.put(
        f"/api/v1/carts/{cart_id}/lines/{sku}", {"quantity": 1, **body}, format="json"
    )
    assert line.status_code == 200, line.content
    return cart_id


def check_out(client: APIClient, cart_id: int) -> OrderLine:
    response = client.post(
        "/api/v1/checkouts/",
        {"cart_id": cart_id, "email": "fan@example.com", "shipping_address": ADDRESS},
        format="json",
        HTTP_IDEMPOTENCY_KEY=f"storefront-{cart_id}",
    )
    assert response.status_code == 201, response.content
    return OrderLine.objects.get(order__cart_id=cart_id)


# --- a valid token -----------------------------------------------------------------------


def test_valid_link_token_is_kept_in_the_cookie_as_the_redirect_keeps_it():
    showcase = make_showcase()
    token, _ = link_token(showcase)
    shopper = APIClient()

    response = shopper.get(PAGE, {"product": str(showcase.serum.pk), "atk": token})

    assert response.status_code == 200
    cookie = response.cookies[COOKIE]
    assert cookie.value == token
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["secure"] is True
    assert THIRTY_DAYS - 60 <= int(cookie["max-age"]) <= THIRTY_DAYS  # the brand's window
    assert page_token(response) == token


@pytest.mark.usefixtures("stripe_emulator")
def test_landing_with_a_token_then_adding_to_cart_credits_the_creator_at_checkout():
    showcase = make_showcase()
    token, link_id = link_token(showcase)
    shopper = APIClient()  # never went through /r/: only the URL carries the token
    assert shopper.get(PAGE, {"atk": token}).status_code == 200

    sku = showcase.serum.variants.get().sku
    cart_id = add_to_cart(shopper, sku)

    assert CartLine.objects.get(cart_id=cart_id).attribution_token == token
    line = check_out(shopper, cart_id)
    assert line.attributed_creator_id == showcase.creator.pk
    assert line.attributed_link_id == link_id
    assert line.attribution["rule"] == "last_click"
    assert line.attribution["click_id"] == "click-1"


def test_a_browser_that_drops_cookies_sends_the_pages_token_with_the_cart_line():
    showcase = make_showcase()
    token, _ = link_token(showcase)
    shopper = APIClient()
    landed = shopper.get(PAGE, {"atk": token})
    del shopper.cookies[COOKIE]  # an in-app browser that keeps no cookie of ours

    sku = showcase.serum.variants.get().sku
    cart_id = add_to_cart(shopper, sku, attribution_token=page_token(landed))

    assert CartLine.objects.get(cart_id=cart_id).attribution_token == token


def test_notify_me_form_carries_the_token_so_the_join_credits_the_creator():
    showcase = make_showcase()  # the SPF is sold out; its link offers the serum instead
    link = AffiliateLink.objects.get(creator=showcase.creator, product=showcase.spf)
    token = token_for_click(click_id="click-spf", link_id=link.pk)
    shopper = Client()  # a browser posting the form
    page = read(shopper.get(PAGE, {"atk": token}))
    del shopper.cookies[COOKIE]

    hidden = {i["name"]: i["value"] for i in page.inputs if i.get("type") == "hidden"}
    assert hidden["atk"] == token
    response = shopper.post(
        "/waitlist/join/",
        {"variant_id": hidden["variant_id"], "atk": hidden["atk"], "email": "fan@example.com"},
    )

    assert response.status_code == 201
    entry = WaitlistEntry.objects.get()
    assert (entry.attribution_link_id, entry.attribution_click_id) == (link.pk, "click-spf")


def test_storefront_token_of_this_creator_is_carried_by_the_page_but_not_kept_in_the_cookie():
    showcase = make_showcase()
    token = token_for_storefront(creator_id=showcase.creator.pk)

    response = APIClient().get(PAGE, {"atk": token})

    assert page_token(response) == token
    assert COOKIE not in response.cookies  # it credits this storefront, not the next one
    assert 'name="atk"' in response.content.decode()


def test_an_older_url_token_does_not_replace_a_newer_click_in_the_cookie(monkeypatch):
    showcase = make_showcase()
    link = make_link(showcase.creator, showcase.serum)
    old = token_issued_days_ago(monkeypatch, 3, click_id="old", link_id=link.pk)
    newer = token_for_click(click_id="new", link_id=link.pk)
    shopper = APIClient()
    shopper.cookies[COOKIE] = newer

    response = shopper.get(PAGE, {"atk": old})

    assert COOKIE not in response.cookies
    assert page_token(response) == old


# --- tokens that are ignored -------------------------------------------------------------


@pytest.mark.usefixtures("stripe_emulator")
def test_tampered_token_credits_nobody_and_shows_no_error():
    showcase = make_showcase()
    token, _ = link_token(showcase)
    plain = APIClient().get(PAGE)
    shopper = APIClient()

    response = shopper.get(PAGE, {"atk": tampered(token)})

    assert response.status_code == 200
    assert response.content == plain.content
    assert COOKIE not in response.cookies
    assert counted("invalid_token") == 1
    cart_id = add_to_cart(shopper, showcase.serum.variants.get().sku)
    assert CartLine.objects.get(cart_id=cart_id).attribution_token == ""
    line = check_out(shopper, cart_id)
    assert line.attributed_creator_id is None
    assert line.attribution["reason"] == "no_token"


def test_expired_token_is_ignored_and_counted_as_expired(monkeypatch):
    showcase = make_showcase()
    link = make_link(showcase.creator, showcase.serum)
    token = token_issued_days_ago(monkeypatch, 91, click_id="ancient", link_id=link.pk)

    response = APIClient().get(PAGE, {"atk": token})

    assert response.status_code == 200
    assert page_token(response) is None
    assert COOKIE not in response.cookies
    assert counted("expired_token") == 1


def test_a_click_outside_the_brands_window_is_not_carried(monkeypatch):
    showcase = make_showcase()  # the brand keeps the default 30-day window
    link = make_link(showcase.creator, showcase.serum)
    token = token_issued_days_ago(monkeypatch, 31, click_id="stale", link_id=link.pk)

    response = APIClient().get(PAGE, {"atk": token})

    assert page_token(response) is None
    assert COOKIE not in response.cookies


def test_tokens_of_another_creator_are_not_carried_by_this_storefront():
    make_showcase()
    other = make_creator("someone.else")
    other_link = make_link(other, make_product("Their serum"))
    for token in (
        token_for_click(click_id="theirs", link_id=other_link.pk),
        token_for_storefront(creator_id=other.pk),
    ):
        response = APIClient().get(PAGE, {"atk": token})

        assert response.status_code == 200
        assert page_token(response) is None
        assert COOKIE not in response.cookies
        assert token not in response.content.decode()


# --- caching -----------------------------------------------------------------------------


def test_page_without_a_token_stays_cacheable_and_sets_no_cookie():
    make_showcase()

    response = APIClient().get(PAGE)

    assert not response.cookies
    assert "private" not in response.get("Cache-Control", "")
    assert page_token(response) is None
    assert 'name="atk"' not in response.content.decode()


def test_a_page_rendered_for_one_shoppers_token_is_never_served_to_another(settings):
    settings.MIDDLEWARE = [
        "django.middleware.cache.UpdateCacheMiddleware",
        *settings.MIDDLEWARE,
        "django.middleware.cache.FetchFromCacheMiddleware",
    ]
    settings.CACHE_MIDDLEWARE_SECONDS = 300
    showcase = make_showcase()
    token, _ = link_token(showcase)
    first, second = APIClient(), APIClient()

    landed = first.get(PAGE, {"atk": token})
    plain = second.get(PAGE)
    with CaptureQueriesContext(connection) as again:
        plain_again = second.get(PAGE)
    with CaptureQueriesContext(connection) as shared:
        from_shared_url = second.get(PAGE, {"atk": token})

    assert "no-store" in landed["Cache-Control"]
    assert "private" in landed["Cache-Control"]
    assert page_token(landed) == token
    assert token not in plain.content.decode()
    assert COOKIE not in plain.cookies
    assert len(again.captured_queries) == 0  # the plain page is cached ...
    assert plain_again.content == plain.content
    assert len(shared.captured_queries) > 0  # ... the page with a token never is
    assert from_shared_url.cookies[COOKIE].value == token


def test_a_token_adds_a_fixed_number_of_queries_however_big_the_storefront(
    django_assert_max_num_queries,
):
    """The token's check, and the linked product it opens first: the same few reads."""
    added = []
    for handle, build in (("small.one", make_showcase), ("big.one", make_big_storefront)):
        built = build(handle)
        creator = built if isinstance(built, Creator) else built.creator
        link = make_link(creator, make_product(f"Linked {handle}"))
        token = token_for_click(click_id=f"c-{handle}", link_id=link.pk)
        with CaptureQueriesContext(connection) as plain:
            APIClient().get(f"/@{handle}")
        with django_assert_max_num_queries(MAX_QUERIES + LINKED_PRODUCT_QUERIES):
            response = APIClient().get(f"/@{handle}", {"atk": token})
        assert page_token(response) == token
        with CaptureQueriesContext(connection) as carried:
            APIClient().get(f"/@{handle}", {"atk": token})
        added.append(len(carried.captured_queries) - len(plain.captured_queries))

    assert added[0] == added[1] <= 1 + LINKED_PRODUCT_QUERIES


def test_the_storefront_json_gives_a_storefront_token_stamped_with_the_click():
    showcase = make_showcase()
    token, _ = link_token(showcase)
    body = APIClient().get("/api/v1/storefronts/maya.glows/", {"atk": token}).json()
    claims = token_read(body["storefront_token"])
    assert (claims.kind, claims.creator_id) == ("storefront", showcase.creator.pk)
    # The brand's window and the last-click order count from the tap, not from the browse.
    assert claims.issued_at == token_read(token).issued_at


def test_the_storefront_json_gives_no_token_for_another_creators_link():
    showcase = make_showcase()
    other = make_creator("someone.else")
    token = token_for_click(click_id="c", link_id=make_link(other, showcase.serum).pk)
    body = APIClient().get("/api/v1/storefronts/maya.glows/", {"atk": token}).json()
    assert body["storefront_token"] is None
    assert APIClient().get("/api/v1/storefronts/maya.glows/").json()["storefront_token"] is None


def test_a_product_page_reached_after_a_link_offers_the_storefronts_credit():
    showcase = make_showcase()
    token, _ = link_token(showcase)
    page = Client().get(f"/@maya.glows/p/{showcase.lip_mask.pk}?atk={token}").content.decode()
    satk = unescape(re.search(r'name="satk" value="([^"]*)"', page).group(1))  # type: ignore[union-attr]
    assert token_read(satk).creator_id == showcase.creator.pk
