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
    settle()
    return seeded


def settle() -> None:
    """Statistics for the tables just filled, as autovacuum keeps them in production: a
    plan made without them (and the machine's PostgreSQL may run without autovacuum) read
    the whole variant table on every storefront request: 0.6-0.75 ms more PostgreSQL CPU
    per request at 10 and 200 products (bench/README.md). Vacuumed too, as autovacuum
    would: seeding leaves dead entries in the partial index of products with no variant
    in plenty (each count passes through 0 as its variants are added), which kept the
    planner off it."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")


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


def seed_journey(*, products: int = 20) -> dict[str, object]:
    """The drop a viral journey buys: a storefront of `products` with the hot product first,
    the hot SKU, and the creator's link to it. Returns the ids and the link's code."""
    from creators.models import Collection, CollectionItem
    from shop.models import Brand, Product, Variant

    brand = Brand.objects.create(name="Journey Brand", slug="journey-brand")
    creator = _creator(JOURNEY_HANDLE)
    made = Product.objects.bulk_create(
        Product(brand=brand, title=f"Drop {i}", slug=f"drop-{i}", status=Product.Status.ACTIVE)
        for i in range(products)
    )
    Variant.objects.bulk_create(
        Variant(
            product=p,
            sku=HOT_SKU if i == 0 else f"JOURNEY-{p.pk}",
            price=Decimal("25.00"),
            on_hand=1_000_000 if i == 0 else 50,
        )
        for i, p in enumerate(made)
    )
    collection = Collection.objects.create(
        storefront=creator.storefront,  # type: ignore[attr-defined]
        title="The drop",
    )
    CollectionItem.objects.bulk_create(
        CollectionItem(collection=collection, product=p, position=i) for i, p in enumerate(made)
    )
    creator_id: int = creator.pk  # type: ignore[attr-defined]
    link_for(creator_id=creator_id, product_id=made[0].pk, code="journeydrop")
    settle()
    return {"creator_id": creator_id, "product_id": made[0].pk, "code": "journeydrop"}


def journey_seeded() -> dict[str, object] | None:
    from creators.models import AffiliateLink

    link = AffiliateLink.objects.filter(code="journeydrop").first()
    if link is None:
        return None
    return {"creator_id": link.creator_id, "product_id": link.product_id, "code": link.code}


def hot_stock_set(units: int) -> int:
    """The hot SKU with `units` available over what is held now, through the stock service;
    returns the units held before (a spike counts its holds above them).

    Lapsed holds are released first, as a checkout missing stock would release them (the
    unpaid checkouts of an earlier run, `--reuse-db`): counted as held here, they would be
    given back in the middle of a spike and sold on top of its units.
    """
    from django.db import transaction

    from orders.services.reservations import reservations_reclaim_expired
    from shop.models import Variant
    from shop.services.stock import stock_set

    # Holds before their variant: the lock order of the reservation services.
    reservations_reclaim_expired(variant_id=Variant.objects.get(sku=HOT_SKU).pk)
    with transaction.atomic():
        variant = Variant.objects.select_for_update().get(sku=HOT_SKU)
        stock_set(variant_id=variant.pk, on_hand=variant.reserved + units, reason="correction")
    return variant.reserved


def hot_stock() -> tuple[int, int]:
    from shop.models import Variant

    row = Variant.objects.filter(sku=HOT_SKU).values_list("on_hand", "reserved").get()
    return int(row[0]), int(row[1])
