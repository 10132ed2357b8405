"""OPTIONS (DRF's metadata) answers on every API route: anonymous, signed in, as a creator."""

from __future__ import annotations

import pytest
from rest_framework.views import APIView

from tests.conftest import client_for
from tests.creators.factories import CollectionFactory, CreatorFactory, VideoFactory
from tests.routes import all_routes

pytestmark = pytest.mark.django_db

DRF_ROUTES = [
    route
    for route in all_routes()
    if route.route.startswith("api/v1/")
    and isinstance(getattr(route.callback, "cls", None), type)
    and issubclass(route.callback.cls, APIView)
]


def test_the_probe_covers_the_creator_routes_with_a_put():
    routes = {route.route for route in DRF_ROUTES}
    assert "api/v1/creators/me/videos/<int:pk>/products/" in routes
    assert "api/v1/creators/me/collections/<int:pk>/items/<int:product_id>" in routes


@pytest.mark.parametrize("route", DRF_ROUTES, ids=lambda route: route.route)
@pytest.mark.parametrize("who", ["anonymous", "signed-in", "creator"])
def test_options_answers_with_metadata_or_an_error_envelope(route, who, api_client, user):
    client = {
        "anonymous": lambda: api_client,
        "signed-in": lambda: client_for(user),
        "creator": lambda: client_for(CreatorFactory.create().user),
    }[who]()

    response = client.options(route.path(), HTTP_ACCEPT="application/json")

    assert response.status_code in {200, 401, 403, 404}, (route.route, response.content[:300])
    if response.status_code == 200:
        assert response.json()["name"]
    else:
        assert response.json()["error"]["code"]


def test_options_on_a_creators_own_video_and_collection_describe_the_put():
    creator = CreatorFactory.create()
    video = VideoFactory.create(creator=creator)
    collection = CollectionFactory.create(storefront=creator.storefront)
    client = client_for(creator.user)

    for path in (
        f"/api/v1/creators/me/videos/{video.pk}/products/",
        f"/api/v1/creators/me/collections/{collection.pk}/items/1",
    ):
        response = client.options(path)
        assert response.status_code == 200, (path, response.content[:300])
        assert "PUT" in response.json()["actions"]


def test_options_on_another_creators_video_does_not_describe_the_put():
    others = VideoFactory.create()
    client = client_for(CreatorFactory.create().user)

    response = client.options(f"/api/v1/creators/me/videos/{others.pk}/products/")

    assert response.status_code == 200
    assert "PUT" not in response.json().get("actions", {})
