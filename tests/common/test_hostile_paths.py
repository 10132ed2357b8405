"""A NUL byte in a path segment is refused at the edge (404), never a database error."""

from __future__ import annotations

import pytest

from tests.conftest import client_for
from tests.routes import all_routes

pytestmark = pytest.mark.django_db

NUL_SEGMENT = "a%00b"
TEXT_ROUTES = [route for route in all_routes() if route.text_params]


def test_the_probe_covers_the_routes_the_outside_probe_broke():
    assert {route.path() for route in TEXT_ROUTES} >= {
        "/r/x",
        "/api/v1/r/x",
        "/api/v1/storefronts/x/",
        "/api/v1/links/x/clicks/",
        "/api/v1/checkouts/x/",
        "/api/v1/carts/1/lines/x",
        "/checkout/x/",
        "/orders/x/",
    }


@pytest.mark.parametrize("route", TEXT_ROUTES, ids=lambda route: route.route)
@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "signed-in"])
def test_nul_byte_in_a_path_segment_is_404_with_a_code(route, signed_in, api_client, user):
    client = client_for(user) if signed_in else api_client
    path = route.path(text=NUL_SEGMENT)
    for method in route.methods:
        response = getattr(client, method)(path, HTTP_ACCEPT="application/json")
        assert response.status_code == 404, (method, path, response.content[:300])
        assert response.json()["error"]["code"] == "not_found"
