"""The public storefront page at /@handle: server-rendered, no JavaScript, shareable.

The builders at the top are shared with the JSON and browser tests of the storefront.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from html.parser import HTMLParser
from itertools import count

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from creators.models import (
    AffiliateLink,
    Collection,
    CollectionItem,
    Creator,
    Storefront,
    Video,
    VideoProduct,
)
from shop.models import Brand, Product
from tests.factories import UserFactory
from tests.shop.factories import BrandFactory, ProductFactory, ProductImageFactory, VariantFactory

pytestmark = pytest.mark.django_db

# Building the stored storefront, whatever its size; 3 of them the build's lock (one
# statement) in the SAVEPOINT pair a test's transaction gives it (`creators.pages.locks`),
# one the page's versions, one which of its products are public (a page loads only its own).
MAX_QUERIES = 17
_codes = count(1)

# --- builders (shared with test_storefront_api.py and test_storefront_browser.py) ----------


def make_creator(
    handle: str = "maya.glows",
    *,
    status: str = Creator.Status.ACTIVE,
    display_name: str = "Maya Chen",
    bio: str = "Skincare that earns its shelf space.",
    avatar_url: str = "https://cdn.example.com/avatars/maya.jpg",
    title: str = "Maya's shelf",
    theme_color: str = "#2F6F5E",
    social_accounts: list[dict[str, str]] | None = None,
) -> Creator:
    creator = Creator.objects.create(
        user=UserFactory.create(),
        handle=handle,
        display_name=display_name,
        bio=bio,
        avatar_url=avatar_url,
        social_accounts=social_accounts or [],
        status=status,
    )
    Storefront.objects.create(creator=creator, title=title, theme_color=theme_color)
    return creator


def make_product(
    title: str,
    *,
    brand: Brand | None = None,
    stock: list[tuple[int, int]] | None = None,
    price: str = "24.00",
    threshold: int = 5,
    image_url: str | None = None,
    status: str = Product.Status.ACTIVE,
) -> Product:
    """A product with one image and a variant per (on_hand, reserved) in `stock`."""
    product = ProductFactory.create(
        title=title, brand=brand or BrandFactory.create(name="Glow Labs"), status=status
    )
    ProductImageFactory.create(
        product=product,
        alt=title,
        width=800,
        height=1000,
        **({"url": image_url} if image_url else {}),
    )
    for position, (on_hand, reserved) in enumerate(stock or [(40, 0)]):
        VariantFactory.create(
            product=product,
            price=Decimal(price),
            on_hand=on_hand,
            reserved=reserved,
            low_stock_threshold=threshold,
            position=position,
        )
    return product


def make_video(
    creator: Creator,
    *,
    posted_at: datetime | None = None,
    caption: str = "My routine",
    url: str = "https://www.tiktok.com/@maya.glows/video/1",
    thumbnail_url: str = "https://cdn.example.com/thumbs/1.jpg",
    products: list[tuple[Product, int]] = (),  # type: ignore[assignment]
) -> Video:
    video = Video.objects.create(
        creator=creator,
        platform=Video.Platform.TIKTOK,
        url=url,
        caption=caption,
        posted_at=posted_at or timezone.now(),
        thumbnail_url=thumbnail_url,
    )
    for position, (product, second) in enumerate(products):
        VideoProduct.objects.create(
            video=video, product=product, appears_at_seconds=second, position=position
        )
    return video


def make_collection(creator: Creator, title: str, products: list[Product]) -> Collection:
    collection = Collection.objects.create(storefront=creator.storefront, title=title)
    for position, product in enumerate(products):
        CollectionItem.objects.create(collection=collection, product=product, position=position)
    return collection


def make_link(
    creator: Creator,
    product: Product,
    *,
    fallback: Product | None = None,
    video: Video | None = None,
    is_active: bool = True,
) -> AffiliateLink:
    return AffiliateLink.objects.create(
        creator=creator,
        product=product,
        video=video,
        fallback_product=fallback,
        code=f"code{next(_codes):06d}",
        locked_rate=Decimal("10.00"),
        lock_ends_at=timezone.now() + timedelta(days=30),
        is_active=is_active,
    )


@dataclass
class Showcase:
    """One storefront with every stock state: in stock, low (3 left), sold out with fallback."""

    creator: Creator
    serum: Product
    lip_mask: Product
    spf: Product
    video: Video
    collection: Collection


def make_showcase(handle: str = "maya.glows", **creator_kw: object) -> Showcase:
    creator = make_creator(handle, **creator_kw)  # type: ignore[arg-type]
    brand = BrandFactory.create(name="Glow Labs", currency="USD")
    serum = make_product("Vitamin C serum", brand=brand, stock=[(40, 0)], price="24.00")
    lip_mask = make_product("Overnight lip mask", brand=brand, stock=[(5, 2)], price="16.00")
    spf = make_product("Dewy SPF 50", brand=brand, stock=[(2, 2), (0, 0)], price="29.00")
    video = make_video(creator, products=[(serum, 4), (lip_mask, 12), (spf, 65)])
    collection = make_collection(creator, "Morning routine", [serum, spf])
    make_link(creator, spf, fallback=serum)
    return Showcase(creator, serum, lip_mask, spf, video, collection)


def make_big_storefront(handle: str, *, videos: int = 20, per_video: int = 5) -> Creator:
    """Enough rows that a query per video, product, variant or link would show."""
    creator = make_creator(handle)
    brands = [BrandFactory.create(), BrandFactory.create(currency="EUR")]
    products = [
        make_product(
            f"Product {i}",
            brand=brands[i % 2],
            stock=[(0, 0)] if i % 3 == 0 else [(3, 0), (10, 2)],
        )
        for i in range(videos * per_video)
    ]
    start = timezone.now()
    for v in range(videos):
        chunk = products[v * per_video : (v + 1) * per_video]
        make_video(
            creator,
            posted_at=start - timedelta(hours=v),
            products=[(p, 5 * i) for i, p in enumerate(chunk)],
        )
    for c in range(3):
        make_collection(creator, f"Collection {c}", products[c * 10 : c * 10 + 10])
    for i, product in enumerate(products):
        if i % 3 == 0:
            make_link(creator, product, fallback=products[(i + 1) % len(products)])
    return creator


# --- HTML reading -------------------------------------------------------------------------


class Page(HTMLParser):
    """The tags a test looks at: meta, link rel, img, form and input attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.meta: dict[str, str] = {}
        self.links: dict[str, str] = {}
        self.images: list[dict[str, str | None]] = []
        self.forms: list[dict[str, str | None]] = []
        self.inputs: list[dict[str, str | None]] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.tags.append(tag)
        if tag == "meta":
            key = attributes.get("property") or attributes.get("name")
            if key:
                self.meta[key] = attributes.get("content") or ""
        elif tag == "link" and attributes.get("rel"):
            self.links[attributes["rel"] or ""] = attributes.get("href") or ""
        elif tag == "img":
            self.images.append(attributes)
        elif tag == "form":
            self.forms.append(attributes)
        elif tag == "input":
            self.inputs.append(attributes)


def read(response) -> Page:
    page = Page()
    page.feed(response.content.decode())
    return page


def text(response) -> str:
    return " ".join(response.content.decode().split())


# --- the page -----------------------------------------------------------------------------


def test_header_shows_name_handle_bio_avatar_and_theme_colour(client):
    make_showcase()

    response = client.get("/@maya.glows")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    body = text(response)
    assert "<h1>Maya Chen</h1>" in body
    assert "@maya.glows" in body
    assert "Skincare that earns its shelf space." in body
    assert "--theme:#2F6F5E" in body
    avatar = read(response).images[0]
    assert avatar["src"] == "https://cdn.example.com/avatars/maya.jpg"


def test_header_links_the_creators_social_accounts_but_never_a_script_url(client):
    make_creator(
        social_accounts=[
            {"platform": "tiktok", "handle": "maya", "url": "https://www.tiktok.com/@maya"},
            {"platform": "evil", "url": "javascript:alert(1)"},
            "not an account",  # type: ignore[list-item]
        ]
    )

    body = text(client.get("/@maya.glows"))

    assert '<a href="https://www.tiktok.com/@maya" rel="me noopener">Tiktok</a>' in body
    assert "javascript:" not in body


def test_videos_are_newest_first_with_their_products_in_tag_order(client):
    creator = make_creator()
    first, second, third = (make_product(t) for t in ("Serum", "Toner", "Balm"))
    now = timezone.now()
    make_video(creator, caption="Old video", posted_at=now - timedelta(days=3), products=[])
    make_video(
        creator,
        caption="New video",
        posted_at=now,
        products=[(third, 30), (first, 2), (second, 9)],
    )

    body = text(client.get("/@maya.glows"))

    assert body.index("New video") < body.index("Old video")
    assert body.index("Balm") < body.index("Serum") < body.index("Toner")


def test_each_tagged_product_says_when_it_appears(client):
    creator = make_creator()
    make_video(creator, products=[(make_product("Serum"), 12), (make_product("Balm"), 65)])

    body = text(client.get("/@maya.glows"))

    assert "appears at 0:12" in body
    assert "appears at 1:05" in body


def test_prices_show_with_their_currency(client):
    creator = make_creator()
    eur = BrandFactory.create(currency="EUR")
    make_video(
        creator,
        products=[
            (make_product("Serum", price="1234.50"), 1),
            (make_product("Scarf", brand=eur, price="19.90"), 2),
        ],
    )

    body = text(client.get("/@maya.glows"))

    assert "$1,234.50" in body
    assert "€19.90" in body


def test_low_stock_product_says_how_many_are_left(client):
    showcase = make_showcase()  # the lip mask: 5 on hand, 2 reserved

    body = text(client.get("/@maya.glows"))

    assert "Only 3 left" in body
    assert f'data-product-id="{showcase.lip_mask.pk}" data-stock-state="low_stock"' in body


def test_product_is_sold_out_only_when_every_variant_is(client):
    creator = make_creator()
    one_size_left = make_product("Hoodie", stock=[(0, 0), (4, 4), (30, 0)])
    make_video(creator, products=[(one_size_left, 1)])

    body = text(client.get("/@maya.glows"))

    assert "Sold out" not in body
    assert 'data-stock-state="in_stock"' in body


def test_sold_out_product_offers_the_links_fallback_beside_a_notify_me_form(client):
    showcase = make_showcase()  # the SPF: every unit reserved or gone; its link offers the serum

    response = client.get("/@maya.glows")

    body = text(response)
    sold_out = body.split(f'data-product-id="{showcase.spf.pk}"')[1]
    assert sold_out.index("Sold out") < sold_out.index("Try this instead")
    assert sold_out.index("Try this instead") < sold_out.index("Vitamin C serum")
    page = read(response)
    assert {"method": "post", "action": "/waitlist/join/", "class": "notify"} in page.forms
    first_variant = showcase.spf.variants.order_by("position").first()
    assert first_variant is not None
    assert {"type": "hidden", "name": "variant_id", "value": str(first_variant.pk)} in page.inputs
    assert any(i.get("type") == "email" and i.get("name") == "email" for i in page.inputs)


def test_inactive_link_offers_no_fallback(client):
    creator = make_creator()
    gone, other = make_product("Gone", stock=[(0, 0)]), make_product("Other")
    make_video(creator, products=[(gone, 1)])
    make_link(creator, gone, fallback=other, is_active=False)

    body = text(client.get("/@maya.glows"))

    assert "Sold out" in body
    assert "Try this instead" not in body
    assert 'action="/waitlist/join/"' in body


def test_a_sold_out_fallback_is_not_offered(client):
    creator = make_creator()
    gone, also_gone = make_product("Gone", stock=[(0, 0)]), make_product("Also", stock=[(1, 1)])
    make_video(creator, products=[(gone, 1)])
    make_link(creator, gone, fallback=also_gone)

    assert "Try this instead" not in text(client.get("/@maya.glows"))


def test_the_link_made_for_the_video_decides_the_fallback_there(client):
    creator = make_creator()
    gone = make_product("Gone", stock=[(0, 0)])
    general, for_video = make_product("General pick"), make_product("Video pick")
    video = make_video(creator, products=[(gone, 1)])
    make_link(creator, gone, fallback=general)
    make_link(creator, gone, fallback=for_video, video=video)

    body = text(client.get("/@maya.glows"))

    assert "Video pick" in body
    assert "General pick" not in body


def test_collections_list_their_products_in_order(client):
    creator = make_creator()
    make_collection(creator, "Morning routine", [make_product("Toner"), make_product("Balm")])

    body = text(client.get("/@maya.glows"))

    assert "Morning routine" in body
    assert body.index("Morning routine") < body.index("Toner") < body.index("Balm")


def test_draft_products_and_inactive_brands_stay_off_the_page(client):
    creator = make_creator()
    closed = BrandFactory.create(is_active=False)
    make_video(
        creator,
        products=[
            (make_product("Shown"), 1),
            (make_product("Draft thing", status=Product.Status.DRAFT), 2),
            (make_product("Closed brand thing", brand=closed), 3),
        ],
    )

    body = text(client.get("/@maya.glows"))

    assert "Shown" in body
    assert "Draft thing" not in body
    assert "Closed brand thing" not in body


def test_unknown_handle_gets_a_friendly_404_page(client):
    response = client.get("/@nobody.here")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert "We could not find a storefront at @nobody.here." in text(response)


def test_suspended_creator_gets_the_same_404(client):
    make_showcase(status=Creator.Status.SUSPENDED)

    response = client.get("/@maya.glows")

    assert response.status_code == 404
    assert "Maya Chen" not in text(response)


def test_mixed_case_handle_redirects_permanently_to_the_lower_case_url(client):
    make_showcase()

    response = client.get("/@Maya.Glows?utm_source=tiktok")

    assert response.status_code == 301
    assert response["Location"] == "/@maya.glows?utm_source=tiktok"


def test_trailing_slash_redirects_to_the_canonical_url(client):
    make_showcase()

    response = client.get("/@maya.glows/")

    assert response.status_code == 301
    assert response["Location"] == "/@maya.glows"


def test_share_tags_preview_the_storefront(client, settings):
    settings.SITE_URL = "https://tribe.example"
    make_showcase()

    page = read(client.get("/@maya.glows"))

    assert page.links["canonical"] == "https://tribe.example/@maya.glows"
    assert page.meta["og:url"] == "https://tribe.example/@maya.glows"
    assert page.meta["og:title"] == "Maya's shelf (@maya.glows)"
    assert page.meta["og:description"] == "Skincare that earns its shelf space."
    assert page.meta["og:image"] == "https://cdn.example.com/avatars/maya.jpg"
    assert page.meta["twitter:card"] == "summary_large_image"
    assert page.meta["twitter:image"] == page.meta["og:image"]


def test_share_image_is_the_first_product_image_without_an_avatar(client):
    creator = make_creator(avatar_url="")
    product = make_product("Serum", image_url="https://cdn.example.com/img/serum.jpg")
    make_video(creator, products=[(product, 1)])

    page = read(client.get("/@maya.glows"))

    assert page.meta["og:image"] == "https://cdn.example.com/img/serum.jpg"


def test_page_is_light_no_script_no_web_font_and_sized_lazy_images(client):
    make_showcase()

    response = client.get("/@maya.glows")

    page = read(response)
    body = response.content.decode()
    assert "script" not in page.tags
    assert "@font-face" not in body
    assert "fonts.googleapis" not in body
    assert len(response.content) < 20_000
    _avatar, *rest = page.images
    assert rest
    for image in page.images:
        assert image["width"]
        assert image["height"]
    assert all(image.get("loading") == "lazy" for image in rest)


def test_a_javascript_url_entered_as_a_video_link_is_never_rendered(client):
    creator = make_creator()
    make_video(creator, url="javascript:alert(1)", caption="Sneaky")

    body = text(client.get("/@maya.glows"))

    assert "Sneaky" in body
    assert "javascript:" not in body


def test_query_count_is_fixed_however_many_videos_and_products(
    client, django_assert_max_num_queries, settings
):
    settings.STOREFRONT_PAGE_PRODUCTS = 100  # every product on the one page
    make_showcase("small.one")
    make_big_storefront("big.one")

    # Building the stored page: the same queries for 3 products and for 100.
    with CaptureQueriesContext(connection) as small:
        assert client.get("/@small.one").status_code == 200
    with django_assert_max_num_queries(MAX_QUERIES):
        response = client.get("/@big.one")

    assert response.status_code == 200
    body = text(response)
    assert body.count("appears at") == 20 * 5
    assert "Sold out" in body
    assert "Try this instead" in body
    with CaptureQueriesContext(connection) as big:
        client.get("/@big.one")
    # Served from the stored page: the live stock only.
    assert len(big.captured_queries) == 1
    assert len(small.captured_queries) <= MAX_QUERIES
