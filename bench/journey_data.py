"""The data of the storefront and journey benchmarks: storefronts of 10, 200 and 2,000
products, and the drop a viral journey buys (one SKU with the stock under test).

Everything here runs in the benchmark's process, between loads, on its own database;
rows go in with bulk_create (the stored pages are built by the first request anyway).
"""

from __future__ import annotations

from decimal import Decimal

SIZES = (10, 200, 2_000)
HOT_SKU = "JOURNEY-HOT-SKU"
JOURNEY_HANDLE = "journey.drop"


def handle_for(size: int) -> str:
    return f"shop.{size}"


def _creator(handle: str) -> object:
    from accounts.models import User
    from creators.models import Creator, Storefront

    user = User.objects.create_user(email=f"{handle}@bench.example.com", password=None)
    creator = Creator.objects.create(
        user=user, handle=handle, display_name=f"Bench {handle}", bio="Bench storefront."
    )
    Storefront.objects.create(creator=creator, title=f"{handle} shelf")
    return creator


def seed_storefronts() -> dict[int, dict[str, int]]:
    """A storefront per size: a video tagging 5 products, a collection holding all of them,
    two variants and an image each. Returns, per size, a product id and the creator id."""
    from creators.models import Collection, CollectionItem, Video, VideoProduct
    from shop.models import Brand, Product, ProductImage, Variant

    brand = Brand.objects.create(name="Bench Shelf", slug="bench-shelf")
    seeded = {}
    for size in SIZES:
        handle = handle_for(size)
        creator = _creator(handle)
        products = Product.objects.bulk_create(
            Product(
                brand=brand,
                title=f"{handle} product {i}",
                slug=f"{handle}-{i}",
                status=Product.Status.ACTIVE,
                description="A bench product.",
            )
            for i in range(size)
        )
        Variant.objects.bulk_create(
            Variant(
                product=p,
                sku=f"{handle}-{p.pk}-{v}",
                title=("Small", "Large")[v],
                price=Decimal("12.00") + v,
                on_hand=(0, 3, 50)[p.pk % 3] if v == 0 else 40,
                position=v,
            )
            for p in products
            for v in (0, 1)
        )
        ProductImage.objects.bulk_create(
            ProductImage(
                product=p, url=f"https://cdn.example.com/{p.pk}.jpg", width=800, height=800
            )
            for p in products
        )
        video = Video.objects.create(
            creator=creator,  # type: ignore[misc]
            platform=Video.Platform.TIKTOK,
            url="https://www.tiktok.com/@bench/video/1",
            caption="Bench video",
        )
        VideoProduct.objects.bulk_create(
            VideoProduct(video=video, product=p, appears_at_seconds=i, position=i)
            for i, p in enumerate(products[:5])
        )
        collection = Collection.objects.create(
            storefront=creator.storefront,  # type: ignore[attr-defined]
            title="Everything",
        )
        CollectionItem.objects.bulk_create(
            CollectionItem(collection=collection, product=p, position=i)
            for i, p in enumerate(products)
        )
        creator_id: int = creator.pk  # type: ignore[attr-defined]
        seeded[size] = {"product_id": products[1].pk, "creator_id": creator_id}
    return seeded


def storefronts_seeded() -> dict[int, dict[str, int]] | None:
    from creators.models import Creator, VideoProduct

    seeded = {}
    for size in SIZES:
        creator = Creator.objects.filter(handle=handle_for(size)).first()
        if creator is None:
            return None
        tag = VideoProduct.objects.filter(video__creator=creator).order_by("position").all()
        seeded[size] = {"product_id": tag[1].product_id, "creator_id": creator.pk}
    return seeded


def link_for(*, creator_id: int, product_id: int, code: str) -> int:
    """An active affiliate link of the creator to the product (made once); returns its id."""
    from datetime import timedelta

    from django.utils import timezone

    from creators.models import AffiliateLink

    link, _ = AffiliateLink.objects.get_or_create(
        code=code,
        defaults={
            "creator_id": creator_id,
            "product_id": product_id,
            "locked_rate": Decimal("10.00"),
            "lock_ends_at": timezone.now() + timedelta(days=30),
        },
    )
    return link.pk
