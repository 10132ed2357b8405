"""Demo creators for the local run: storefronts, tagged videos, a collection, a link with a
fallback. Runs after the shop's demo (app order) and uses its brands' products."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from accounts.models import User
from creators.models import Collection, Creator, Video, VideoProduct
from creators.services.links import link_create, link_update, link_url
from creators.services.profiles import (
    collection_create,
    collection_item_set,
    creator_become,
    storefront_update,
)
from creators.services.videos import video_create, video_tags_set
from shop.models import Product

# Products are named by (brand slug, title) as shop/demo.py seeds them.
CREATORS: list[dict[str, Any]] = [
    {
        "email": "maya@creators.example",
        "handle": "maya.glows",
        "display_name": "Maya Chen",
        "bio": "Skincare that earns its shelf space. Honest reviews, no filters.",
        "title": "Maya's skincare shelf",
        "theme_color": "#2F6F5E",
        "social_accounts": [
            {
                "platform": "tiktok",
                "handle": "maya.glows",
                "url": "https://www.tiktok.com/@maya.glows",
            },
            {
                "platform": "instagram",
                "handle": "maya.glows",
                "url": "https://www.instagram.com/maya.glows",
            },
        ],
        "videos": [
            {
                "external_id": "demo-maya-2",
                "platform": Video.Platform.TIKTOK,
                "caption": "Summer routine in 30 seconds: serum, lips, SPF.",
                "days_ago": 1,
                "tags": [
                    ("glow-labs", "Vitamin C serum", 4),
                    ("glow-labs", "Overnight lip mask", 12),
                    ("glow-labs", "Dewy SPF 50", 21),
                ],
            },
            {
                "external_id": "demo-maya-1",
                "platform": Video.Platform.INSTAGRAM,
                "caption": "What I pack for a weekend away.",
                "days_ago": 6,
                "tags": [("north-thread", "Everyday tote", 3), ("glow-labs", "Dewy SPF 50", 47)],
            },
        ],
        "collection": (
            "Morning routine",
            [("glow-labs", "Vitamin C serum"), ("glow-labs", "Dewy SPF 50")],
        ),
        # The SPF is sold out in the shop's demo: its link offers the serum instead.
        "link": (("glow-labs", "Dewy SPF 50"), ("glow-labs", "Vitamin C serum")),
    },
    {
        "email": "leo@creators.example",
        "handle": "leo.layers",
        "display_name": "Leo Okafor",
        "bio": "Everyday clothes that last. Layering ideas every week.",
        "title": "Leo's layers",
        "theme_color": "#F2C14E",
        "social_accounts": [
            {
                "platform": "youtube",
                "handle": "leolayers",
                "url": "https://www.youtube.com/@leolayers",
            },
        ],
        "videos": [
            {
                "external_id": "demo-leo-1",
                "platform": Video.Platform.YOUTUBE,
                "caption": "One hoodie, five outfits.",
                "days_ago": 2,
                "tags": [
                    ("north-thread", "Heavyweight hoodie", 8),
                    ("north-thread", "Everyday tote", 95),
                ],
            },
        ],
        "collection": (
            "Weekend kit",
            [("north-thread", "Heavyweight hoodie"), ("north-thread", "Everyday tote")],
        ),
        "link": (("north-thread", "Heavyweight hoodie"), ("north-thread", "Everyday tote")),
    },
]


def _product(brand_slug: str, title: str) -> Product | None:
    return Product.objects.filter(brand__slug=brand_slug, title=title).first()


def _creator(spec: dict[str, Any], password: str) -> Creator:
    user, created = User.objects.get_or_create(
        email=spec["email"], defaults={"display_name": spec["display_name"]}
    )
    if created:
        user.set_password(password)
        user.save()
    creator = Creator.objects.filter(user=user).first()
    if creator is None:
        creator = creator_become(
            user=user,
            handle=spec["handle"],
            display_name=spec["display_name"],
            bio=spec["bio"],
            avatar_url=f"https://picsum.photos/seed/{spec['handle']}/200/200",
            social_accounts=spec["social_accounts"],
        )
        storefront_update(creator=creator, title=spec["title"], theme_color=spec["theme_color"])
    return creator


def _videos(creator: Creator, specs: list[dict[str, Any]]) -> None:
    now = timezone.now()
    for spec in specs:
        video = Video.objects.filter(
            creator=creator, platform=spec["platform"], external_id=spec["external_id"]
        ).first()
        if video is None:
            video = video_create(
                creator=creator,
                platform=spec["platform"],
                external_id=spec["external_id"],
                url=f"https://example.com/{creator.handle}/videos/{spec['external_id']}",
                caption=spec["caption"],
                posted_at=now - timedelta(days=spec["days_ago"]),
                thumbnail_url=f"https://picsum.photos/seed/{spec['external_id']}/360/640",
            )
        if VideoProduct.objects.filter(video=video).exists():
            continue
        tags = []
        for position, (brand_slug, title, second) in enumerate(spec["tags"]):
            product = _product(brand_slug, title)
            if product is not None:
                tags.append(
                    {"product_id": product.pk, "appears_at_seconds": second, "position": position}
                )
        video_tags_set(creator=creator, video_id=video.pk, tags=tags)


def _collection(creator: Creator, title: str, products: list[tuple[str, str]]) -> None:
    collection = Collection.objects.filter(storefront__creator=creator, title=title).first()
    if collection is None:
        collection = collection_create(creator=creator, title=title)
    for position, (brand_slug, product_title) in enumerate(products):
        product = _product(brand_slug, product_title)
        if product is not None:
            collection_item_set(
                creator=creator,
                collection_id=collection.pk,
                product_id=product.pk,
                position=position,
            )


def _link(creator: Creator, target: tuple[str, str], fallback: tuple[str, str]) -> str | None:
    product, instead = _product(*target), _product(*fallback)
    if product is None:
        return None
    link, _ = link_create(creator=creator, product_id=product.pk)
    if instead is not None and link.fallback_product_id != instead.pk:
        link = link_update(creator=creator, link_id=link.pk, fallback_product_id=instead.pk)
    return link.code


def seed(*, password: str) -> list[str]:
    lines, link_lines = [], []
    for spec in CREATORS:
        creator = _creator(spec, password)
        _videos(creator, spec["videos"])
        _collection(creator, *spec["collection"])
        code = _link(creator, *spec["link"])
        lines.append(
            f"  Storefront  {settings.SITE_URL}/@{creator.handle}   ({spec['email']} / {password})"
        )
        if code is not None:
            link_lines.append(f"  Link        {link_url(code)}   (sold out: offers a fallback)")
    # One link is enough for the banner: the first creator's, whose product is sold out.
    shop = f"  Web shop    {settings.SITE_URL}/   (pay with 4242 4242 4242 4242, any future date)"
    return [shop, *lines, *link_lines[:1]]
