"""The redirect benchmark's data and clicks: the seeded link, and clicks stored against sent.

Seeds the one link the load taps; empties the click queue, uniqueness keys and click tables
before a run; after it, flushes the queue in this process and holds what the database stored
(clicks, unique clicks, client hashes) against what the load generator sent.
"""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

CLIENT_ID_FORMAT = "bench-client-{:06d}"
CREATOR_HANDLE = "bench_creator"


def seed() -> dict[str, Any]:
    """One brand, one active product in stock, one creator and the creator's link to it."""
    from accounts.models import User
    from creators.services.links import link_create
    from creators.services.profiles import creator_become
    from shop.models import Brand, Product, ProductImage, Variant

    brand = Brand.objects.create(name="Bench Brand", slug="bench-brand")
    product = Product.objects.create(
        brand=brand,
        title="Bench hoodie",
        slug="bench-hoodie",
        status=Product.Status.ACTIVE,
    )
    Variant.objects.create(
        product=product, sku="BENCH-HOODIE-M", price=Decimal("49.00"), on_hand=500
    )
    ProductImage.objects.create(
        product=product, url="https://cdn.example.com/hoodie.jpg", width=1080, height=1350
    )
    user = User.objects.create_user("creator@bench.example.com", None)
    creator = creator_become(user=user, handle=CREATOR_HANDLE, display_name="Bench Creator")
    link, _ = link_create(creator=creator, product_id=product.pk)
    return {"link_id": link.pk, "code": link.code, "product_id": product.pk}


def seeded() -> dict[str, Any] | None:
    from creators.models import AffiliateLink

    try:
        link = AffiliateLink.objects.filter(creator__handle=CREATOR_HANDLE).first()
    except Exception:  # no tables yet
        return None
    if link is None:
        return None
    return {"link_id": link.pk, "code": link.code, "product_id": link.product_id}


def _click_redis() -> Any:
    import redis
    from django.conf import settings

    return redis.Redis.from_url(settings.REDIS_URL)


def clicks_reset() -> int:
    """Empty the click queue and uniqueness keys (this prefix only) and the click tables."""
    from django.conf import settings

    from creators.attribution.links import link_target_forget
    from creators.models import AffiliateLink, Click, ClickDaily

    client = _click_redis()
    keys = list(client.scan_iter(match=f"{settings.CLICK_KEY_PREFIX}:clicks:*", count=1000))
    for start in range(0, len(keys), 1000):
        client.delete(*keys[start : start + 1000])
    Click.objects.all().delete()
    ClickDaily.objects.all().delete()
    for code in AffiliateLink.objects.values_list("code", flat=True):
        link_target_forget(code)
    return len(keys)


def _client_hash(client_id: str) -> str:
    from creators.attribution.clients import _salted

    return _salted(f"cookie:{client_id}")


def flush_all() -> tuple[int, float]:
    """Run the click flush in this process until the queue is empty; (clicks, seconds)."""
    from creators.attribution.clicks import clicks_flush

    started = time.perf_counter()
    taken = 0
    while True:
        batch = clicks_flush()
        if batch == 0:
            return taken, time.perf_counter() - started
        taken += batch


def click_accounting(
    link_id: int, per_id: dict[int, int], first_taps_sent: int, pool: int
) -> dict[str, Any]:
    """What the database holds after the flush, against what the load generator sent."""
    from django.db.models import Count, Q, Sum

    from creators.models import Click, ClickDaily

    pool_hashes = {_client_hash(CLIENT_ID_FORMAT.format(i)): i for i in range(1, pool + 1)}
    clicks = Click.objects.filter(link_id=link_id)
    totals = clicks.aggregate(
        rows=Count("pk"),
        unique_rows=Count("pk", filter=Q(is_unique=True)),
        bots=Count("pk", filter=Q(is_bot=True)),
        distinct_clients=Count("client_hash", distinct=True),
    )
    daily = ClickDaily.objects.filter(link_id=link_id).aggregate(
        clicks=Sum("clicks"), unique_clicks=Sum("unique_clicks")
    )
    stored_per_id: dict[int, int] = {}
    first_tap_clicks = 0
    for client_hash, count in clicks.order_by().values_list("client_hash").annotate(n=Count("pk")):
        if client_hash in pool_hashes:
            stored_per_id[pool_hashes[client_hash]] = count
        else:
            first_tap_clicks += count  # a first tap's client is the cookie the redirect set
    first_tap_clients = totals["distinct_clients"] - len(stored_per_id)
    sent_clicks = sum(per_id.values()) + first_taps_sent
    distinct_sent = len(per_id) + first_taps_sent
    unique_daily = daily["unique_clicks"] or 0
    unique_match = (
        unique_daily == totals["unique_rows"] == totals["distinct_clients"] == distinct_sent
        and set(stored_per_id) == set(per_id)
        and first_tap_clients == first_tap_clicks == first_taps_sent
        and totals["bots"] == 0
    )
    return {
        "clicks_sent": sent_clicks,
        "click_rows": totals["rows"],
        "daily_clicks": daily["clicks"] or 0,
        "bot_clicks": totals["bots"],
        "distinct_clients_sent": distinct_sent,
        "pool_ids_sent": len(per_id),
        "first_taps_sent": first_taps_sent,
        "unique_clicks_daily": unique_daily,
        "unique_click_rows": totals["unique_rows"],
        "distinct_client_hashes_stored": totals["distinct_clients"],
        "first_tap_clients_stored": first_tap_clients,
        "pool_ids_stored_equal_sent": set(stored_per_id) == set(per_id),
        "clicks_per_client_equal_sent": stored_per_id == per_id,
        "match": unique_match,
        "clicks_match": sent_clicks == totals["rows"] == (daily["clicks"] or 0),
    }
