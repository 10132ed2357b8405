"""The rate rule: a sale pays the higher of the locked rate (while locked) and the best
current rate, whatever happens to rates and collaborations in between."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from creators.models import AffiliateLink, Collaboration
from creators.rates import effective_rate, link_for_sale, rate_for_sale
from creators.selectors.me import link_rate_decisions
from creators.services.collaborations import (
    collaboration_invite,
    collaboration_respond,
    collaboration_revoke,
)
from creators.services.links import link_create
from shop.models import Brand, Product
from tests.creators.factories import CreatorFactory
from tests.shop.factories import BrandFactory, ProductFactory

RATES = st.decimals(min_value=Decimal("0"), max_value=Decimal("100"), places=2)
BASE = datetime(2025, 1, 1, tzinfo=UTC)


# The pure rule


def _current_at(initial: Decimal, changes: list[tuple[int, Decimal]], hour: int) -> Decimal:
    current = initial
    for at_hour, rate in sorted(changes, key=lambda change: change[0]):
        if at_hour <= hour:
            current = rate
    return current


@given(
    locked=RATES,
    lock_hours=st.integers(min_value=0, max_value=2000),
    initial=RATES,
    changes=st.lists(st.tuples(st.integers(min_value=0, max_value=3000), RATES), max_size=12),
    sale_hours=st.lists(st.integers(min_value=0, max_value=3000), min_size=1, max_size=12),
)
def test_effective_rate_is_the_higher_of_locked_while_locked_and_current(
    locked, lock_hours, initial, changes, sale_hours
):
    lock_ends_at = BASE + timedelta(hours=lock_hours)
    for hour in [*sale_hours, lock_hours, max(lock_hours - 1, 0)]:
        at = BASE + timedelta(hours=hour)
        current = _current_at(initial, changes, hour)
        rate, source = effective_rate(
            locked_rate=locked, lock_ends_at=lock_ends_at, current_rate=current, at=at
        )
        locked_holds = at < lock_ends_at
        assert rate == (max(locked, current) if locked_holds else current)
        assert rate >= current
        assert source == ("locked" if locked_holds and locked >= current else "current")


def test_the_lock_ends_exactly_at_lock_ends_at():
    rate, source = effective_rate(
        locked_rate=Decimal("20.00"),
        lock_ends_at=BASE,
        current_rate=Decimal("5.00"),
        at=BASE,
    )
    assert (rate, source) == (Decimal("5.00"), "current")
    rate, source = effective_rate(
        locked_rate=Decimal("20.00"),
        lock_ends_at=BASE,
        current_rate=Decimal("5.00"),
        at=BASE - timedelta(microseconds=1),
    )
    assert (rate, source) == (Decimal("20.00"), "locked")


# The rule against the database


@dataclass
class Offer:
    """What the test believes about one collaboration."""

    pk: int
    rate: Decimal
    scope: str  # "brand", "product" (the linked one) or "other" (another product)
    valid_from: datetime
    valid_until: datetime | None
    status: str


@dataclass
class Model:
    product_rate: Decimal | None
    brand_default: Decimal
    offers: list[Offer] = field(default_factory=list)

    def best(self, at: datetime) -> tuple[Decimal, str]:
        best = self.product_rate if self.product_rate is not None else self.brand_default
        source = "open"
        for offer in self.offers:
            in_force = (
                offer.status == Collaboration.Status.ACCEPTED
                and offer.valid_from <= at
                and (offer.valid_until is None or at < offer.valid_until)
                and offer.scope != "other"
            )
            if in_force and offer.rate > best:
                best, source = offer.rate, "collaboration"
        return best, source


SCOPES = st.sampled_from(["brand", "product", "other"])
STEPS = st.one_of(
    st.tuples(st.just("product_rate"), st.none() | RATES),
    st.tuples(st.just("brand_default"), RATES),
    st.tuples(
        st.just("offer"),
        RATES,
        SCOPES,
        st.integers(min_value=-48, max_value=1200),  # starts, hours from the link's creation
        st.none() | st.integers(min_value=1, max_value=1200),  # lasts, hours
        st.booleans(),  # accepted (else declined)
    ),
    st.tuples(st.just("revoke"), st.integers(min_value=0, max_value=10)),
    st.tuples(st.just("sale"), st.integers(min_value=0, max_value=1500)),  # hours after creation
    st.tuples(st.just("sale_at_lock_end"), st.integers(min_value=-1, max_value=1)),  # seconds
)
INITIAL_OFFERS = st.lists(
    st.tuples(RATES, SCOPES, st.none() | st.integers(min_value=1, max_value=60)),  # ends, days
    max_size=2,
)


def _offer(model: Model, *, brand: Brand, creator, product: Product, other: Product, **kw):
    scope = kw.pop("scope")
    accepted = kw.pop("accepted")
    collaboration = collaboration_invite(
        brand=brand,
        creator=creator,
        product={"brand": None, "product": product, "other": other}[scope],
        **kw,
    )
    collaboration = collaboration_respond(
        creator=creator, collaboration_id=collaboration.pk, accept=accepted
    )
    model.offers.append(
        Offer(
            pk=collaboration.pk,
            rate=kw["rate"],
            scope=scope,
            valid_from=collaboration.valid_from,
            valid_until=collaboration.valid_until,
            status=collaboration.status,
        )
    )


def _check_sale(model: Model, link: AffiliateLink, at: datetime) -> None:
    product = Product.objects.select_related("brand").get(pk=link.product_id)
    decision = rate_for_sale(link=link, product=product, at=at)
    best, best_source = model.best(at)
    locked_holds = at < link.lock_ends_at
    expected = max(link.locked_rate, best) if locked_holds else best
    assert decision.rate == expected
    assert decision.source == ("locked" if locked_holds and link.locked_rate >= best else "current")
    assert (decision.current_rate, decision.current_source) == (best, best_source)
    # Checkout's reading of the link with the best rate, in one statement, agrees with it.
    found = link_for_sale(link_id=link.pk, product=product, at=at)
    assert found is not None
    assert rate_for_sale(link=found[0], product=product, at=at, current=found[1]) == decision
    # The API's bulk reading of the same rule agrees with it.
    loaded = AffiliateLink.objects.select_related("product__brand").get(pk=link.pk)
    assert link_rate_decisions(creator=link.creator, links=[loaded], at=at)[link.pk] == decision


@pytest.mark.django_db
@hypothesis_settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    brand_default=RATES,
    product_rate=st.none() | RATES,
    initial_offers=INITIAL_OFFERS,
    steps=st.lists(STEPS, max_size=10),
)
def test_a_sale_pays_the_higher_of_the_locked_rate_and_the_best_current_rate(
    brand_default, product_rate, initial_offers, steps
):
    # A fresh brand, products and creator per example: examples share one test transaction.
    brand = BrandFactory.create(default_commission_rate=brand_default)
    product = ProductFactory.create(brand=brand, commission_rate=product_rate)
    other = ProductFactory.create(brand=brand)
    creator = CreatorFactory.create()
    model = Model(product_rate=product_rate, brand_default=brand_default)
    before = timezone.now()
    for rate, scope, ends_days in initial_offers:
        _offer(
            model, brand=brand, creator=creator, product=product, other=other,
            rate=rate, scope=scope, accepted=True,
            valid_from=before - timedelta(days=1),
            valid_until=None if ends_days is None else before + timedelta(days=ends_days),
        )  # fmt: skip

    link, created = link_create(creator=creator, product_id=product.pk)
    assert created
    made_at = link.lock_ends_at - timedelta(days=settings.LINK_RATE_LOCK_DAYS)
    assert link.locked_rate == model.best(made_at)[0]

    for step in steps:
        kind = step[0]
        if kind == "product_rate":
            model.product_rate = step[1]
            Product.objects.filter(pk=product.pk).update(commission_rate=step[1])
        elif kind == "brand_default":
            model.brand_default = step[1]
            Brand.objects.filter(pk=brand.pk).update(default_commission_rate=step[1])
        elif kind == "offer":
            _, rate, scope, start_hours, lasts_hours, accepted = step
            start = made_at + timedelta(hours=start_hours)
            _offer(
                model, brand=brand, creator=creator, product=product, other=other,
                rate=rate, scope=scope, accepted=accepted, valid_from=start,
                valid_until=None if lasts_hours is None else start + timedelta(hours=lasts_hours),
            )  # fmt: skip
        elif kind == "revoke":
            if model.offers:
                offer = model.offers[step[1] % len(model.offers)]
                collaboration_revoke(collaboration=Collaboration.objects.get(pk=offer.pk))
                offer.status = Collaboration.Status.REVOKED
        elif kind == "sale":
            _check_sale(model, link, made_at + timedelta(hours=step[1]))
        else:
            _check_sale(model, link, link.lock_ends_at + timedelta(seconds=step[1]))
    _check_sale(model, link, link.lock_ends_at - timedelta(microseconds=1))
    _check_sale(model, link, link.lock_ends_at)
