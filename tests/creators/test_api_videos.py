"""Videos and the products tagged in them."""

import pytest

from creators.models import Collaboration, Video, VideoProduct
from shop.models import Product
from tests.conftest import client_for
from tests.creators.factories import (
    CollaborationFactory,
    CreatorFactory,
    VideoFactory,
    VideoProductFactory,
)
from tests.shop.factories import BrandFactory, ProductFactory

pytestmark = pytest.mark.django_db

VIDEOS = "/api/v1/creators/me/videos/"


def video_url(pk: int) -> str:
    return f"{VIDEOS}{pk}/"


def products_url(pk: int) -> str:
    return f"{VIDEOS}{pk}/products/"


@pytest.fixture
def creator():
    return CreatorFactory.create()


@pytest.fixture
def creator_client(creator):
    return client_for(creator.user)


@pytest.fixture
def video(creator):
    return VideoFactory.create(creator=creator)


@pytest.fixture
def others_video():
    return VideoFactory.create(caption="Not yours")


def test_creator_adds_a_video(creator_client, creator):
    response = creator_client.post(
        VIDEOS,
        {
            "platform": "tiktok",
            "external_id": "7301",
            "url": "https://www.tiktok.com/@maya/video/7301",
            "caption": "My routine",
            "posted_at": "2025-03-01T10:00:00Z",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["tags"] == []
    assert Video.objects.get(pk=body["id"]).creator == creator


def test_adding_the_same_platform_video_twice_is_400_video_exists(creator_client, video):
    response = creator_client.post(
        VIDEOS,
        {"platform": video.platform, "external_id": video.external_id, "url": video.url},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "video_exists"
    assert Video.objects.filter(external_id=video.external_id).count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"platform": "myspace", "url": "https://example.com/v"}, "platform"),
        ({"platform": "tiktok", "url": "not a url"}, "url"),
        ({"platform": "tiktok"}, "url"),
    ],
)
def test_bad_video_input_is_400_with_field_errors(creator_client, body, field):
    response = creator_client.post(VIDEOS, body, format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not Video.objects.exists()


@pytest.mark.parametrize("padding", [" ", "\x1c"])
def test_a_caption_over_the_limit_is_400_even_when_trimming_would_fit_it(
    creator_client, video, padding
):
    caption = padding + "x" * 2200
    response = creator_client.patch(video_url(video.pk), {"caption": caption}, format="json")
    assert response.status_code == 400
    assert "caption" in response.json()["error"]["fields"]
    video.refresh_from_db()
    assert video.caption != caption.strip()


def test_creator_reads_updates_and_deletes_a_video(creator_client, video):
    assert creator_client.get(video_url(video.pk)).json()["id"] == video.pk
    response = creator_client.patch(video_url(video.pk), {"caption": "Edited"}, format="json")
    assert response.status_code == 200
    video.refresh_from_db()
    assert video.caption == "Edited"
    assert creator_client.delete(video_url(video.pk)).status_code == 204
    assert not Video.objects.filter(pk=video.pk).exists()


def test_video_list_is_cursor_paginated_newest_first_and_only_yours(
    creator_client, creator, others_video
):
    videos = VideoFactory.create_batch(25, creator=creator)
    first = creator_client.get(VIDEOS).json()
    assert [v["id"] for v in first["results"]] == [v.pk for v in reversed(videos)][:20]
    assert first["next"]
    second = creator_client.get(first["next"]).json()
    assert [v["id"] for v in second["results"]] == [v.pk for v in reversed(videos)][20:]
    assert second["next"] is None


def test_tags_replace_the_videos_products(creator_client, video):
    old = VideoProductFactory.create(video=video)
    first, second = ProductFactory.create(), ProductFactory.create()
    response = creator_client.put(
        products_url(video.pk),
        {
            "tags": [
                {"product_id": first.pk, "appears_at_seconds": 12, "position": 1},
                {"product_id": second.pk, "appears_at_seconds": 3, "position": 0},
            ]
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    tags = response.json()["tags"]
    assert [(t["product"]["id"], t["appears_at_seconds"]) for t in tags] == [
        (second.pk, 3),
        (first.pk, 12),
    ]
    assert not VideoProduct.objects.filter(pk=old.pk).exists()


def test_a_tag_time_beyond_the_integer_range_is_400(creator_client, video):
    product = ProductFactory.create()
    response = creator_client.put(
        products_url(video.pk),
        {"tags": [{"product_id": product.pk, "appears_at_seconds": 10**10}]},
        format="json",
    )
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "invalid"
    assert not VideoProduct.objects.filter(video=video).exists()


def test_an_empty_tag_list_clears_the_video(creator_client, video):
    VideoProductFactory.create(video=video)
    response = creator_client.put(products_url(video.pk), {"tags": []}, format="json")
    assert response.status_code == 200
    assert response.json()["tags"] == []
    assert not VideoProduct.objects.filter(video=video).exists()


@pytest.mark.parametrize(
    ("product_kwargs", "brand_kwargs", "code"),
    [
        ({"status": Product.Status.DRAFT}, {}, "product_not_active"),
        ({"status": Product.Status.ARCHIVED}, {}, "product_not_active"),
        ({}, {"is_active": False}, "product_not_active"),
        ({}, {"open_to_creators": False}, "product_not_allowed"),
    ],
)
def test_tagging_a_product_you_may_not_promote_is_400_and_saves_nothing(
    creator_client, video, product_kwargs, brand_kwargs, code
):
    kept = VideoProductFactory.create(video=video)
    fine = ProductFactory.create()
    bad = ProductFactory.create(brand=BrandFactory.create(**brand_kwargs), **product_kwargs)
    response = creator_client.put(
        products_url(video.pk),
        {"tags": [{"product_id": fine.pk}, {"product_id": bad.pk}]},
        format="json",
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == code
    assert "tags[1].product_id" in error["fields"]
    assert list(VideoProduct.objects.filter(video=video)) == [kept]


def test_an_invitation_opens_a_closed_brand_to_that_creator(creator_client, creator, video):
    brand = BrandFactory.create(open_to_creators=False)
    product = ProductFactory.create(brand=brand)
    CollaborationFactory.create(brand=brand, creator=creator, status=Collaboration.Status.INVITED)
    response = creator_client.put(
        products_url(video.pk), {"tags": [{"product_id": product.pk}]}, format="json"
    )
    assert response.status_code == 200, response.content
    assert VideoProduct.objects.filter(video=video, product=product).exists()


def test_another_creators_invitation_does_not_open_the_brand(creator_client, video):
    brand = BrandFactory.create(open_to_creators=False)
    product = ProductFactory.create(brand=brand)
    CollaborationFactory.create(brand=brand, status=Collaboration.Status.ACCEPTED)
    response = creator_client.put(
        products_url(video.pk), {"tags": [{"product_id": product.pk}]}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "product_not_allowed"


def test_tagging_a_product_twice_is_400_duplicate_tag(creator_client, video):
    product = ProductFactory.create()
    response = creator_client.put(
        products_url(video.pk),
        {"tags": [{"product_id": product.pk}, {"product_id": product.pk}]},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "duplicate_tag"
    assert not VideoProduct.objects.filter(video=video).exists()


def test_negative_appearance_time_is_400(creator_client, video):
    product = ProductFactory.create()
    response = creator_client.put(
        products_url(video.pk),
        {"tags": [{"product_id": product.pk, "appears_at_seconds": -1}]},
        format="json",
    )
    assert response.status_code == 400
    assert "tags" in response.json()["error"]["fields"]


@pytest.mark.parametrize(
    ("method", "path_of", "body"),
    [
        ("get", video_url, None),
        ("patch", video_url, {"caption": "Mine now"}),
        ("delete", video_url, None),
        ("put", products_url, {"tags": []}),
    ],
)
def test_another_creators_video_is_404_and_untouched(
    creator_client, others_video, method, path_of, body
):
    tag = VideoProductFactory.create(video=others_video)
    response = getattr(creator_client, method)(path_of(others_video.pk), body, format="json")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "video_not_found"
    others_video.refresh_from_db()
    assert others_video.caption == "Not yours"
    assert VideoProduct.objects.filter(pk=tag.pk).exists()


def test_video_list_costs_a_fixed_number_of_queries(
    creator_client, creator, django_assert_max_num_queries
):
    brands = BrandFactory.create_batch(5)
    for n in range(20):
        video = VideoFactory.create(creator=creator)
        for k in range(3):
            VideoProductFactory.create(
                video=video,
                product=ProductFactory.create(brand=brands[(n + k) % 5]),
                appears_at_seconds=k * 5,
                position=k,
            )
    # user, creator, videos, tags with their products and brands
    with django_assert_max_num_queries(4):
        response = creator_client.get(VIDEOS)
    results = response.json()["results"]
    assert len(results) == 20
    assert all(len(v["tags"]) == 3 for v in results)
