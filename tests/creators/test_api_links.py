"""Affiliate links: made once per product and video, with the rates they carry now."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.utils import timezone

from creators.models import AffiliateLink, Collaboration
from creators.rates import rate_for_sale
from shop.models import Product
from tests.conftest import client_for
from tests.creators.factories import (
    AffiliateLinkFactory,
    CollaborationFactory,
    CreatorFactory,
    VideoFactory,
)
from tests.shop.factories import BrandFactory, ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db

LINKS = "/api/v1/creators/me/links/"


def link_url(pk: int) -> str:
    return f"{LINKS}{pk}/"


@pytest.fixture
def creator():
    return CreatorFactory.create()


@pytest.fixture
def creator_client(creator):
    return client_for(creator.user)


@pytest.fixture
def product():
    return ProductFactory.create(commission_rate=Decimal("15.00"))


@pytest.fixture
def others_link():
    return AffiliateLinkFactory.create(is_active=True)


def make_link(client, **body):
    response = client.post(LINKS, body, format="json")
    assert response.status_code in (200, 201), response.content
    return response


def test_new_link_is_201_with_code_url_and_the_locked_best_rate(creator_client, product):
    response = creator_client.post(LINKS, {"product_id": product.pk}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["url"] == f"{settings.SITE_URL}/r/{body['code']}"
    assert body["product"]["id"] == product.pk
    assert body["product"]["title"] == product.title
    assert body["video"] is None
    assert body["is_active"] is True
    assert (body["locked_rate"], body["current_rate"], body["sale_rate"]) == (
        "15.00",
        "15.00",
        "15.00",
    )
    assert body["current_rate_source"] == "open"
    link = AffiliateLink.objects.get(pk=body["id"])
    assert link.lock_ends_at - link.created_at >= timedelta(days=settings.LINK_RATE_LOCK_DAYS - 1)


def test_asking_again_for_the_same_product_is_200_with_the_same_link(creator_client, product):
    first = make_link(creator_client, product_id=product.pk).json()
    again = creator_client.post(LINKS, {"product_id": product.pk}, format="json")
    assert again.status_code == 200
    assert again.json()["code"] == first["code"]
    assert AffiliateLink.objects.filter(product=product).count() == 1


def test_a_video_gets_its_own_link_for_the_same_product(creator_client, creator, product):
    video = VideoFactory.create(creator=creator)
    plain = make_link(creator_client, product_id=product.pk).json()
    response = creator_client.post(
        LINKS, {"product_id": product.pk, "video_id": video.pk}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["video"] == video.pk
    assert response.json()["code"] != plain["code"]
    again = creator_client.post(
        LINKS, {"product_id": product.pk, "video_id": video.pk}, format="json"
    )
    assert again.status_code == 200
    assert again.json()["id"] == response.json()["id"]


def test_linking_to_another_creators_video_is_404_and_saves_nothing(creator_client, product):
    video = VideoFactory.create()
    response = creator_client.post(
        LINKS, {"product_id": product.pk, "video_id": video.pk}, format="json"
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "video_not_found"
    assert not AffiliateLink.objects.exists()


@pytest.mark.parametrize(
    ("product_kwargs", "brand_kwargs", "code"),
    [
        ({"status": Product.Status.DRAFT}, {}, "product_not_active"),
        ({"status": Product.Status.ARCHIVED}, {}, "product_not_active"),
        ({}, {"is_active": False}, "product_not_active"),
        ({}, {"open_to_creators": False}, "product_not_allowed"),
    ],
)
def test_linking_a_product_you_may_not_promote_is_400_and_saves_nothing(
    creator_client, product_kwargs, brand_kwargs, code
):
    bad = ProductFactory.create(brand=BrandFactory.create(**brand_kwargs), **product_kwargs)
    response = creator_client.post(LINKS, {"product_id": bad.pk}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == code
    assert error["fields"]["product_id"][0]["code"] == code
    assert not AffiliateLink.objects.exists()


def test_linking_a_missing_product_is_404(creator_client):
    response = creator_client.post(LINKS, {"product_id": 999999}, format="json")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "product_not_found"


def test_a_preferred_variant_of_another_product_is_400_and_saves_nothing(creator_client, product):
    stranger = VariantFactory.create()
    response = creator_client.post(
        LINKS, {"product_id": product.pk, "preferred_variant_id": stranger.pk}, format="json"
    )
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert fields["preferred_variant_id"][0]["code"] == "invalid_variant"
    assert not AffiliateLink.objects.exists()


def test_link_with_a_preferred_variant_shows_it(creator_client, product):
    variant = VariantFactory.create(product=product, sku="GLOW-30")
    body = make_link(creator_client, product_id=product.pk, preferred_variant_id=variant.pk).json()
    assert body["preferred_variant"]["id"] == variant.pk
    assert body["preferred_variant"]["sku"] == "GLOW-30"


def test_new_link_with_the_same_idempotency_key_replays(creator_client, product):
    first = creator_client.post(
        LINKS, {"product_id": product.pk}, format="json", HTTP_IDEMPOTENCY_KEY="link-1"
    )
    second = creator_client.post(
        LINKS, {"product_id": product.pk}, format="json", HTTP_IDEMPOTENCY_KEY="link-1"
    )
    assert first.status_code == second.status_code == 201
    assert second["Idempotent-Replayed"] == "true"


# The rates a link shows


def test_a_brands_cut_keeps_the_locked_rate_while_the_lock_holds(creator_client, product):
    body = make_link(creator_client, product_id=product.pk).json()
    Product.objects.filter(pk=product.pk).update(commission_rate=Decimal("5.00"))
    body = creator_client.get(link_url(body["id"])).json()
    assert (body["locked_rate"], body["current_rate"]) == ("15.00", "5.00")
    assert (body["sale_rate"], body["sale_rate_source"]) == ("15.00", "locked")


def test_a_brands_raise_reaches_the_link_at_once(creator_client, product):
    body = make_link(creator_client, product_id=product.pk).json()
    Product.objects.filter(pk=product.pk).update(commission_rate=Decimal("25.00"))
    body = creator_client.get(link_url(body["id"])).json()
    assert (body["sale_rate"], body["sale_rate_source"]) == ("25.00", "current")


def test_after_the_lock_ends_a_sale_pays_the_current_rate(creator_client, product):
    body = make_link(creator_client, product_id=product.pk).json()
    AffiliateLink.objects.filter(pk=body["id"]).update(
        lock_ends_at=timezone.now() - timedelta(seconds=1)
    )
    Product.objects.filter(pk=product.pk).update(commission_rate=Decimal("5.00"))
    body = creator_client.get(link_url(body["id"])).json()
    assert (body["sale_rate"], body["sale_rate_source"]) == ("5.00", "current")


def test_an_accepted_collaboration_raises_the_current_rate(creator_client, creator, product):
    body = make_link(creator_client, product_id=product.pk).json()
    CollaborationFactory.create(
        brand=product.brand,
        creator=creator,
        rate=Decimal("30.00"),
        status=Collaboration.Status.ACCEPTED,
    )
    body = creator_client.get(link_url(body["id"])).json()
    assert (body["current_rate"], body["current_rate_source"]) == ("30.00", "collaboration")
    assert (body["sale_rate"], body["sale_rate_source"]) == ("30.00", "current")


@pytest.mark.parametrize(
    "collaboration_kwargs",
    [
        {"status": Collaboration.Status.INVITED},
        {"status": Collaboration.Status.DECLINED},
        {"status": Collaboration.Status.REVOKED},
        {"status": Collaboration.Status.ACCEPTED, "valid_until_days": -1},
        {"status": Collaboration.Status.ACCEPTED, "valid_from_days": 1},
        {"status": Collaboration.Status.ACCEPTED, "other_product": True},
    ],
)
def test_collaborations_not_in_force_do_not_count(
    creator_client, creator, product, collaboration_kwargs
):
    body = make_link(creator_client, product_id=product.pk).json()
    now = timezone.now()
    kwargs = dict(collaboration_kwargs)
    valid_from = now + timedelta(days=kwargs.pop("valid_from_days", -10))
    until_days = kwargs.pop("valid_until_days", None)
    other = kwargs.pop("other_product", False)
    CollaborationFactory.create(
        brand=product.brand,
        creator=creator,
        rate=Decimal("40.00"),
        valid_from=valid_from,
        valid_until=None if until_days is None else now + timedelta(days=until_days),
        product=ProductFactory.create(brand=product.brand) if other else None,
        **kwargs,
    )
    body = creator_client.get(link_url(body["id"])).json()
    assert (body["current_rate"], body["current_rate_source"]) == ("15.00", "open")


# Changing a link


def test_creator_retargets_a_link_and_keeps_its_code_and_locked_rate(creator_client, product):
    body = make_link(creator_client, product_id=product.pk).json()
    other = ProductFactory.create(commission_rate=Decimal("8.00"))
    response = creator_client.patch(link_url(body["id"]), {"product_id": other.pk}, format="json")
    assert response.status_code == 200, response.content
    new = response.json()
    assert new["product"]["id"] == other.pk
    assert (new["code"], new["locked_rate"]) == (body["code"], "15.00")


def test_creator_sets_and_clears_the_fallback_product(creator_client, product):
    body = make_link(creator_client, product_id=product.pk).json()
    fallback = ProductFactory.create()
    response = creator_client.patch(
        link_url(body["id"]), {"fallback_product_id": fallback.pk}, format="json"
    )
    assert response.json()["fallback_product"]["id"] == fallback.pk
    response = creator_client.patch(
        link_url(body["id"]), {"fallback_product_id": None}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["fallback_product"] is None
    assert AffiliateLink.objects.get(pk=body["id"]).fallback_product_id is None


def test_creator_switches_a_link_off_and_sets_its_variant(creator_client, product):
    variant = VariantFactory.create(product=product)
    body = make_link(creator_client, product_id=product.pk).json()
    response = creator_client.patch(
        link_url(body["id"]),
        {"is_active": False, "preferred_variant_id": variant.pk},
        format="json",
    )
    assert response.status_code == 200
    link = AffiliateLink.objects.get(pk=body["id"])
    assert (link.is_active, link.preferred_variant_id) == (False, variant.pk)


@pytest.mark.parametrize("status", [Product.Status.DRAFT, Product.Status.ARCHIVED])
def test_retargeting_to_an_inactive_product_is_400_and_changes_nothing(
    creator_client, product, status
):
    body = make_link(creator_client, product_id=product.pk).json()
    bad = ProductFactory.create(status=status)
    response = creator_client.patch(link_url(body["id"]), {"product_id": bad.pk}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "product_not_active"
    assert AffiliateLink.objects.get(pk=body["id"]).product_id == product.pk


def test_a_fallback_from_a_closed_brand_is_400_product_not_allowed(creator_client, product):
    body = make_link(creator_client, product_id=product.pk).json()
    closed = ProductFactory.create(brand=BrandFactory.create(open_to_creators=False))
    response = creator_client.patch(
        link_url(body["id"]), {"fallback_product_id": closed.pk}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "product_not_allowed"
    assert AffiliateLink.objects.get(pk=body["id"]).fallback_product_id is None


def test_the_fallback_cannot_be_the_product_itself(creator_client, product):
    body = make_link(creator_client, product_id=product.pk).json()
    response = creator_client.patch(
        link_url(body["id"]), {"fallback_product_id": product.pk}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["fallback_product_id"][0]["code"] == "same_product"


def test_retargeting_onto_a_product_you_already_link_is_400_link_exists(creator_client, product):
    other = ProductFactory.create()
    make_link(creator_client, product_id=other.pk)
    body = make_link(creator_client, product_id=product.pk).json()
    response = creator_client.patch(link_url(body["id"]), {"product_id": other.pk}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "link_exists"
    assert AffiliateLink.objects.get(pk=body["id"]).product_id == product.pk


@pytest.mark.parametrize(
    ("method", "body"),
    [("get", None), ("patch", {"is_active": False}), ("patch", {"fallback_product_id": None})],
)
def test_another_creators_link_is_404_and_untouched(creator_client, others_link, method, body):
    response = getattr(creator_client, method)(link_url(others_link.pk), body, format="json")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "link_not_found"
    others_link.refresh_from_db()
    assert others_link.is_active is True


def test_link_list_is_only_yours(creator_client, creator, others_link):
    mine = AffiliateLinkFactory.create(creator=creator)
    body = creator_client.get(LINKS).json()
    assert [link["id"] for link in body["results"]] == [mine.pk]


def test_link_list_costs_a_fixed_number_of_queries_and_shows_each_links_rate(
    creator_client, creator, django_assert_max_num_queries
):
    brands = [
        BrandFactory.create(default_commission_rate=Decimal(rate))
        for rate in ("8.00", "10.00", "12.00", "14.00", "16.00")
    ]
    products = [
        ProductFactory.create(
            brand=brands[n % 5],
            commission_rate=None if n % 3 else Decimal("11.00"),
        )
        for n in range(25)
    ]
    for n, product in enumerate(products):
        AffiliateLinkFactory.create(
            creator=creator,
            product=product,
            fallback_product=products[(n + 1) % 25],
            preferred_variant=VariantFactory.create(product=product),
            video=VideoFactory.create(creator=creator) if n % 4 == 0 else None,
            locked_rate=Decimal("12.00"),
        )
    accepted = Collaboration.Status.ACCEPTED
    CollaborationFactory.create(
        brand=brands[0], creator=creator, rate=Decimal("30.00"), status=accepted
    )
    CollaborationFactory.create(
        brand=brands[1], creator=creator, product=products[1], rate=Decimal("40.00"),
        status=accepted,
    )  # fmt: skip
    CollaborationFactory.create(
        brand=brands[2], creator=creator, rate=Decimal("50.00"), status=Collaboration.Status.INVITED
    )
    CollaborationFactory.create(brand=brands[3], rate=Decimal("60.00"), status=accepted)

    # user, creator, links with products, brands, fallbacks and variants, collaborations
    with django_assert_max_num_queries(4):
        response = creator_client.get(LINKS, {"page_size": 25})
    results = response.json()["results"]
    assert len(results) == 25

    now = timezone.now()
    for row in results:
        link = AffiliateLink.objects.select_related("product__brand", "creator").get(pk=row["id"])
        expected = rate_for_sale(link=link, product=link.product, at=now)
        assert (row["current_rate"], row["current_rate_source"]) == (
            f"{expected.current_rate:.2f}",
            expected.current_source,
        )
        assert (row["sale_rate"], row["sale_rate_source"]) == (
            f"{expected.rate:.2f}",
            expected.source,
        )
    by_product = {row["product"]["id"]: row for row in results}
    assert by_product[products[0].pk]["current_rate"] == "30.00"
    assert by_product[products[1].pk]["current_rate"] == "40.00"
    assert by_product[products[6].pk]["current_rate_source"] == "open"


def test_suspended_creator_cannot_create_links():
    from common.errors import ApplicationError
    from creators.models import Creator
    from creators.services.links import link_create
    from tests.creators.factories import CreatorFactory
    from tests.shop.factories import ProductFactory

    creator = CreatorFactory.create(status=Creator.Status.SUSPENDED)
    product = ProductFactory.create()
    with pytest.raises(ApplicationError) as caught:
        link_create(creator=creator, product_id=product.pk)
    assert caught.value.code == "creator_suspended"
