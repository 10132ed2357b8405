"""Creator analytics: clicks and sales by hour or day, by link or video, near-live, in SQL."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from creators.attribution import clicks as click_queue
from creators.models import AffiliateLink, Click, ClickDaily, Creator
from orders.models import Order, OrderLine
from shop.models import Variant
from tests.conftest import client_for
from tests.creators.factories import AffiliateLinkFactory, CreatorFactory, VideoFactory
from tests.orders.helpers import line_of
from tests.shop.factories import VariantFactory

pytestmark = pytest.mark.django_db

STATS = "/api/v1/creators/me/stats/"


@pytest.fixture(autouse=True)
def _empty_click_queue(settings):
    client = click_queue._redis()
    click_queue.clicks_buffer_flush()  # an earlier test's taps must not land in this one
    for key in client.scan_iter(f"{settings.CLICK_KEY_PREFIX}:clicks:*"):
        client.delete(key)


@pytest.fixture
def creator() -> Creator:
    return CreatorFactory.create()


@pytest.fixture
def creator_client(creator):
    return client_for(creator.user)


@pytest.fixture
def variant() -> Variant:
    return VariantFactory.create()


def today() -> date:
    return timezone.now().astimezone(UTC).date()


def at(day: date, hour: int = 12, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def sell(
    creator: Creator,
    variant: Variant,
    *,
    paid_at: datetime,
    link: AffiliateLink | None = None,
    line_total: str = "20.00",
    quantity: int = 1,
    rate: str = "10.00",
    currency: str = "USD",
    status: str = Order.Status.PAID,
    order: Order | None = None,
) -> OrderLine:
    """A paid order line credited to `creator` (through `link`, else through the storefront)."""
    total = Decimal(line_total)
    if order is None:
        order = Order.objects.create(
            checkout_scope="stats-test",
            checkout_key=uuid.uuid4().hex,
            email="fan@example.com",
            shipping_address={},
            currency=currency,
            items_total=total,
            shipping_total=Decimal(0),
            grand_total=total,
            status=status,
            paid_at=paid_at,
            reservation_expires_at=paid_at,
        )
    line = line_of(
        order,
        variant,
        unit_price=total,
        quantity=quantity,
        line_total=total,
        currency=currency,
        title="A thing",
        attributed_creator_id=creator.pk,
        attributed_link_id=link.pk if link else None,
        commission_rate=Decimal(rate),
    )
    line.save()
    return line


def daily(link: AffiliateLink, day: date, clicks: int, unique: int, bots: int = 0) -> None:
    ClickDaily.objects.create(
        link=link, date=day, clicks=clicks, unique_clicks=unique, bot_clicks=bots
    )


def raw_click(link: AffiliateLink, moment: datetime, *, unique=True, bot=False) -> None:
    Click.objects.create(
        click_id=uuid.uuid4().hex,
        link=link,
        client_hash="c",
        is_unique=unique and not bot,
        is_bot=bot,
        clicked_at=moment,
    )


def record(link: AffiliateLink, *, client: str, bot: bool = False, moment: float | None = None):
    click_queue.click_record(
        click_queue.ClickRecord(
            click_id=click_queue.click_new_id(),
            link_id=link.pk,
            client_hash=client,
            ip_hash="",
            user_agent="test",
            source="app",
            is_bot=bot,
            at=time.time() if moment is None else moment,
        )
    )


def get_stats(client, **params: Any) -> dict[str, Any]:
    response = client.get(STATS, params)
    assert response.status_code == 200, response.content
    return response.json()


def money(amount: str, currency: str = "USD") -> dict[str, str]:
    return {"amount": amount, "currency": currency}


def by_bucket(series: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {point["bucket"]: point for point in series}


# --- Day buckets ------------------------------------------------------------------------------


def test_daily_stats_give_every_day_with_clicks_and_sales(creator, creator_client, variant):
    first = today() - timedelta(days=3)
    link_a = AffiliateLinkFactory.create(creator=creator)
    link_b = AffiliateLinkFactory.create(creator=creator)
    daily(link_a, first, clicks=10, unique=7, bots=4)
    daily(link_b, first, clicks=5, unique=5)
    daily(link_a, first + timedelta(days=1), clicks=3, unique=2)
    sell(creator, variant, link=link_a, paid_at=at(first, 9), line_total="30.00", quantity=3)
    sell(creator, variant, link=link_b, paid_at=at(first, 23, 59), line_total="10.00")

    body = get_stats(
        creator_client, **{"from": first.isoformat(), "to": (first + timedelta(days=2)).isoformat()}
    )

    assert body["from"] == iso(at(first, 0))
    assert body["to"] == iso(at(first + timedelta(days=3), 0))
    assert (body["interval"], body["group_by"], body["commission_status"]) == (
        "day",
        "none",
        "estimated",
    )
    assert [p["bucket"] for p in body["series"]] == [
        iso(at(first + timedelta(days=i), 0)) for i in range(3)
    ]
    day1, day2, day3 = body["series"]
    assert (day1["clicks"], day1["unique_clicks"], day1["orders"], day1["units"]) == (15, 12, 2, 4)
    assert day1["revenue"] == [money("40.00")]
    assert day1["commission"] == [money("4.00")]
    assert (day2["clicks"], day2["unique_clicks"], day2["orders"]) == (3, 2, 0)
    assert (day3["clicks"], day3["orders"], day3["revenue"], day3["commission"]) == (0, 0, [], [])
    assert body["totals"] == {
        "clicks": 18,
        "unique_clicks": 14,
        "orders": 2,
        "units": 4,
        "revenue": [money("40.00")],
        "commission": [money("4.00")],
    }


def test_default_range_is_the_last_7_days_by_day_today_included(creator, creator_client):
    body = get_stats(creator_client)
    buckets = [p["bucket"] for p in body["series"]]
    assert buckets == [iso(at(today() - timedelta(days=6 - i), 0)) for i in range(7)]
    assert body["to"] == iso(at(today() + timedelta(days=1), 0))


def test_commission_is_estimated_line_by_line_rounded_half_up_per_currency(
    creator, creator_client, variant
):
    day = today() - timedelta(days=1)
    # 0.10 x 5% = 0.005 per line: half-up gives 0.01 each (banker's rounding would give 0.00).
    sell(creator, variant, paid_at=at(day), line_total="0.10", rate="5.00")
    sell(creator, variant, paid_at=at(day), line_total="0.10", rate="5.00")
    # Zero-decimal currency: 1005 x 10% = 100.5 -> 101.
    sell(creator, variant, paid_at=at(day), line_total="1005", rate="10.00", currency="JPY")
    sell(creator, variant, paid_at=at(day), line_total="19.99", rate="12.50", currency="EUR")

    totals = get_stats(creator_client, **{"from": day.isoformat(), "to": day.isoformat()})["totals"]

    assert totals["revenue"] == [money("19.99", "EUR"), money("1005", "JPY"), money("0.20")]
    # 19.99 x 12.5% = 2.49875 -> 2.50
    assert totals["commission"] == [money("2.50", "EUR"), money("101", "JPY"), money("0.02")]
    assert totals["orders"] == 4


def test_only_paid_orders_in_the_range_count_by_paid_at(creator, creator_client, variant):
    day = today() - timedelta(days=2)
    sell(creator, variant, paid_at=at(day), line_total="10.00")
    sell(creator, variant, paid_at=at(day), line_total="99.00", status=Order.Status.REFUNDED)
    sell(creator, variant, paid_at=at(day), line_total="99.00", status=Order.Status.CANCELED)
    sell(creator, variant, paid_at=at(day - timedelta(days=1), 23, 59), line_total="99.00")
    sell(creator, variant, paid_at=at(day + timedelta(days=1), 0), line_total="99.00")

    totals = get_stats(creator_client, **{"from": day.isoformat(), "to": day.isoformat()})["totals"]

    assert (totals["orders"], totals["revenue"]) == (1, [money("10.00")])


def test_an_order_with_two_credited_lines_counts_once(creator, creator_client, variant):
    day = today() - timedelta(days=1)
    link_a = AffiliateLinkFactory.create(creator=creator)
    link_b = AffiliateLinkFactory.create(creator=creator)
    line = sell(creator, variant, link=link_a, paid_at=at(day), quantity=2)
    sell(creator, variant, link=link_b, paid_at=at(day), quantity=1, order=line.order)

    body = get_stats(
        creator_client, group_by="link", **{"from": day.isoformat(), "to": day.isoformat()}
    )

    assert (body["totals"]["orders"], body["totals"]["units"]) == (1, 3)
    assert [(p["link_id"], p["orders"], p["units"]) for p in body["series"]] == [
        (link_a.pk, 1, 2),
        (link_b.pk, 1, 1),
    ]


# --- Grouping ---------------------------------------------------------------------------------


def test_group_by_link_splits_buckets_and_puts_storefront_sales_under_null(
    creator, creator_client, variant
):
    day = today() - timedelta(days=1)
    link_a = AffiliateLinkFactory.create(creator=creator)
    link_b = AffiliateLinkFactory.create(creator=creator)
    daily(link_a, day, clicks=4, unique=3)
    daily(link_b, day, clicks=2, unique=2)
    sell(creator, variant, link=link_b, paid_at=at(day), line_total="15.00")
    sell(creator, variant, paid_at=at(day), line_total="5.00")  # through the storefront

    body = get_stats(
        creator_client, group_by="link", **{"from": day.isoformat(), "to": day.isoformat()}
    )

    rows = [(p["link_id"], p["clicks"], p["orders"], p["revenue"]) for p in body["series"]]
    assert rows == [
        (link_a.pk, 4, 0, []),
        (link_b.pk, 2, 1, [money("15.00")]),
        (None, 0, 1, [money("5.00")]),
    ]
    assert all("video_id" not in p for p in body["series"])
    assert (body["totals"]["clicks"], body["totals"]["orders"]) == (6, 2)


def test_group_by_video_adds_up_the_links_of_each_video(creator, creator_client, variant):
    day = today() - timedelta(days=1)
    video = VideoFactory.create(creator=creator)
    in_video_1 = AffiliateLinkFactory.create(creator=creator, video=video)
    in_video_2 = AffiliateLinkFactory.create(creator=creator, video=video)
    no_video = AffiliateLinkFactory.create(creator=creator)
    daily(in_video_1, day, clicks=4, unique=3)
    daily(in_video_2, day, clicks=6, unique=1)
    daily(no_video, day, clicks=1, unique=1)
    line = sell(creator, variant, link=in_video_1, paid_at=at(day), line_total="10.00")
    sell(creator, variant, link=in_video_2, paid_at=at(day), line_total="5.00", order=line.order)
    sell(creator, variant, link=no_video, paid_at=at(day), line_total="7.00")

    body = get_stats(
        creator_client, group_by="video", **{"from": day.isoformat(), "to": day.isoformat()}
    )

    rows = [
        (p["video_id"], p["clicks"], p["unique_clicks"], p["orders"], p["revenue"])
        for p in body["series"]
    ]
    assert rows == [
        (video.pk, 10, 4, 1, [money("15.00")]),
        (None, 1, 1, 1, [money("7.00")]),
    ]
    assert all("link_id" not in p for p in body["series"])


# --- Hour buckets -----------------------------------------------------------------------------


def test_hourly_stats_count_raw_clicks_without_bots(creator, creator_client, variant):
    day = today() - timedelta(days=2)
    link = AffiliateLinkFactory.create(creator=creator)
    raw_click(link, at(day, 10, 5))
    raw_click(link, at(day, 10, 59), unique=False)
    raw_click(link, at(day, 10, 30), bot=True)
    raw_click(link, at(day, 13, 0))
    sell(creator, variant, link=link, paid_at=at(day, 13, 45), line_total="8.00")

    body = get_stats(
        creator_client,
        interval="hour",
        **{"from": iso(at(day, 9, 30)), "to": iso(at(day, 13, 10))},
    )

    assert body["from"] == iso(at(day, 9))
    assert body["to"] == iso(at(day, 14))
    series = by_bucket(body["series"])
    assert list(series) == [iso(at(day, h)) for h in range(9, 14)]
    assert (series[iso(at(day, 10))]["clicks"], series[iso(at(day, 10))]["unique_clicks"]) == (2, 1)
    assert (series[iso(at(day, 13))]["clicks"], series[iso(at(day, 13))]["orders"]) == (1, 1)
    assert body["totals"]["clicks"] == 3


def test_a_date_time_with_an_offset_is_read_in_utc(creator, creator_client):
    day = today() - timedelta(days=1)
    body = get_stats(
        creator_client,
        interval="hour",
        **{"from": f"{day.isoformat()}T12:00:00+02:00", "to": f"{day.isoformat()}T14:00:00+02:00"},
    )
    assert (body["from"], body["to"]) == (iso(at(day, 10)), iso(at(day, 12)))
    # An unencoded '+' reaches the server as a space.
    spaced = get_stats(
        creator_client, interval="hour", **{"from": f"{day.isoformat()}T12:00:00 02:00"}
    )
    assert spaced["from"] == iso(at(day, 10))


def test_a_date_time_without_an_offset_is_utc(creator, creator_client):
    day = today() - timedelta(days=1)
    body = get_stats(
        creator_client,
        interval="hour",
        **{"from": f"{day.isoformat()}T12:30:00", "to": f"{day.isoformat()}T14:00:00"},
    )
    assert (body["from"], body["to"]) == (iso(at(day, 12)), iso(at(day, 14)))


# --- Near-live --------------------------------------------------------------------------------


def test_queued_clicks_show_in_the_current_hour_and_are_not_doubled_by_the_flush(
    creator, creator_client
):
    link = AffiliateLinkFactory.create(creator=creator)
    now = time.time()
    record(link, client="fan-1", moment=now)
    record(link, client="fan-1", moment=now)
    record(link, client="fan-2", moment=now)
    record(link, client="crawler", bot=True, moment=now)
    hour = iso(datetime.fromtimestamp(now, tz=UTC).replace(minute=0, second=0, microsecond=0))
    assert Click.objects.count() == 0

    live = get_stats(creator_client, interval="hour")
    live_day = get_stats(creator_client)

    point = by_bucket(live["series"])[hour]
    assert (point["clicks"], point["unique_clicks"]) == (3, 2)
    assert live["pending_clicks"] == 3
    assert (live_day["totals"]["clicks"], live_day["totals"]["unique_clicks"]) == (3, 2)

    assert click_queue.clicks_flush() == 4
    assert Click.objects.count() == 4

    flushed = get_stats(creator_client, interval="hour")
    flushed_day = get_stats(creator_client)
    point = by_bucket(flushed["series"])[hour]
    assert (point["clicks"], point["unique_clicks"]) == (3, 2)
    assert flushed["pending_clicks"] == 0
    assert flushed["totals"] == live["totals"]
    assert flushed_day["totals"] == live_day["totals"]


def test_queued_clicks_of_another_creator_are_not_counted(creator, creator_client):
    other = AffiliateLinkFactory.create()
    record(other, client="fan-1")
    body = get_stats(creator_client, interval="hour")
    assert (body["totals"]["clicks"], body["pending_clicks"]) == (0, 0)


# --- Who sees what ----------------------------------------------------------------------------


def test_another_creators_clicks_and_sales_never_appear(creator, creator_client, variant):
    day = today() - timedelta(days=1)
    mine = AffiliateLinkFactory.create(creator=creator)
    other_creator = CreatorFactory.create()
    theirs = AffiliateLinkFactory.create(creator=other_creator)
    daily(mine, day, clicks=1, unique=1)
    daily(theirs, day, clicks=50, unique=40)
    raw_click(theirs, at(day, 12))
    sell(creator, variant, link=mine, paid_at=at(day), line_total="1.00")
    sell(other_creator, variant, link=theirs, paid_at=at(day), line_total="500.00")

    params = {"from": day.isoformat(), "to": day.isoformat()}
    for group_by in ("none", "link", "video"):
        body = get_stats(creator_client, group_by=group_by, **params)
        assert body["totals"]["clicks"] == 1
        assert body["totals"]["revenue"] == [money("1.00")]
        assert theirs.pk not in {p.get("link_id") for p in body["series"]}
    hourly = get_stats(creator_client, interval="hour", **params)
    assert hourly["totals"]["clicks"] == 0
    assert hourly["totals"]["orders"] == 1


def test_someone_who_is_not_a_creator_gets_404_not_a_creator(auth_client):
    response = auth_client.get(STATS)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_a_creator"


def test_signed_out_is_401(api_client):
    assert api_client.get(STATS).status_code == 401


# --- Bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"interval": "week"}, "interval"),
        ({"group_by": "brand"}, "group_by"),
        ({"from": "yesterday"}, "from"),
        ({"to": "2025-13-45"}, "to"),
        # Blank is a bad value, not "use the default".
        ({"interval": ""}, "interval"),
        ({"group_by": ""}, "group_by"),
        ({"from": ""}, "from"),
    ],
)
def test_bad_values_are_400_with_field_errors(creator_client, params, field):
    response = creator_client.get(STATS, params)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert field in error["fields"]


def test_a_range_that_cannot_be_served_is_400_invalid_range(creator_client):
    day = today()

    def refused(**params: str) -> dict[str, Any]:
        response = creator_client.get(STATS, params)
        assert response.status_code == 400, response.content
        error = response.json()["error"]
        assert error["code"] == "invalid_range"
        return error["fields"]

    assert "to" in refused(**{"from": day.isoformat(), "to": (day - timedelta(days=1)).isoformat()})
    assert "to" in refused(
        **{"from": (day - timedelta(days=92)).isoformat(), "to": day.isoformat()}
    )
    assert "interval" in refused(
        interval="hour", **{"from": (day - timedelta(days=7)).isoformat(), "to": day.isoformat()}
    )
    old = day - timedelta(days=120)
    assert "from" in refused(interval="hour", **{"from": old.isoformat(), "to": old.isoformat()})
    # The widest ranges allowed are served.
    get_stats(
        creator_client, **{"from": (day - timedelta(days=91)).isoformat(), "to": day.isoformat()}
    )
    get_stats(
        creator_client,
        interval="hour",
        **{"from": (day - timedelta(days=6)).isoformat(), "to": day.isoformat()},
    )


# --- Query count ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("interval", "group_by"),
    [("day", "none"), ("day", "link"), ("day", "video"), ("hour", "none"), ("hour", "video")],
)
def test_query_count_is_fixed_whatever_the_links_days_and_orders(
    creator, creator_client, variant, django_assert_max_num_queries, interval, group_by
):
    first = today() - timedelta(days=29)
    videos = [VideoFactory.create(creator=creator) for _ in range(5)]
    links = [
        AffiliateLinkFactory.create(creator=creator, video=videos[i % 5] if i % 4 else None)
        for i in range(20)
    ]
    ClickDaily.objects.bulk_create(
        ClickDaily(link=link, date=first + timedelta(days=d), clicks=3, unique_clicks=2)
        for link in links
        for d in range(30)
    )
    Click.objects.bulk_create(
        Click(
            click_id=uuid.uuid4().hex,
            link=link,
            client_hash="c",
            clicked_at=timezone.now() - timedelta(hours=h),
        )
        for link in links
        for h in range(24)
    )
    for i in range(50):
        sell(
            creator,
            variant,
            link=links[i % 20] if i % 10 else None,
            paid_at=timezone.now() - timedelta(days=i % 6, hours=i % 5),
            currency="EUR" if i % 3 else "USD",
        )
    params = {"interval": interval, "group_by": group_by}
    if interval == "day":
        params["from"] = first.isoformat()

    # Auth, links, clicks, sales by bucket, sales totals, commission (ledger or estimate).
    with django_assert_max_num_queries(7):
        body = get_stats(creator_client, **params)

    assert body["totals"]["orders"] == 50
    assert body["totals"]["clicks"] == (20 * 30 * 3 if interval == "day" else 20 * 24)
