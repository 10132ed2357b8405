"""The API answers every error with the JSON envelope, DEBUG on or off; HTML routes stay HTML."""

from __future__ import annotations

import logging

import pytest
from django.http import Http404
from django.test import Client, override_settings
from django.urls import include, path
from rest_framework.views import APIView

from shop.models import Product
from tests.common.test_api_conventions import assert_envelope

pytestmark = pytest.mark.django_db


class Boom(APIView):
    def get(self, request):
        raise RuntimeError("secret detail that must stay in the log")


def plain_missing(request):
    raise Http404("no such thing")


def page_boom(request):
    raise RuntimeError("page boom")


class urls:
    urlpatterns = [
        path("api/v1/boom/", Boom.as_view()),
        path("api/v1/plain-missing/", plain_missing),
        path("page-boom/", page_boom),
        path("", include("config.urls")),
    ]
    handler404 = "common.errors.handler404"
    handler500 = "common.errors.handler500"


@pytest.fixture(params=[False, True], ids=["debug-off", "debug-on"])
def debug(request):
    with override_settings(ROOT_URLCONF=urls, DEBUG=request.param):
        yield request.param


def test_unknown_api_route_is_json_404(client, debug):
    assert_envelope(client.get("/api/v1/no-such-route/"), 404, "not_found")
    assert_envelope(client.post("/api/v2/anything", {}), 404, "not_found")


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_unsafe_method_on_unknown_api_route_is_json_404_despite_csrf(debug, method):
    client = Client(enforce_csrf_checks=True)
    client.cookies["sessionid"] = "not-a-session"
    response = getattr(client, method)("/api/v1/carts/null,null/merge/")
    assert_envelope(response, 404, "not_found")


def test_http404_from_a_plain_view_under_api_is_json(client, debug):
    assert_envelope(client.get("/api/v1/plain-missing/"), 404, "not_found")


def test_unhandled_exception_is_json_500_with_request_id_and_no_details(client, debug, caplog):
    client.raise_request_exception = False
    with caplog.at_level(logging.ERROR):
        response = client.get("/api/v1/boom/")
    error = assert_envelope(response, 500, "server_error")
    assert error["retryable"] is True
    assert "secret detail" not in response.content.decode()
    logged = [r for r in caplog.records if r.exc_info and "secret detail" in str(r.exc_info[1])]
    assert logged, "the traceback must reach the log"


def test_malformed_json_body_is_400_and_creates_nothing(client, debug):
    before = Product.objects.count()
    response = client.post("/api/v1/carts/", data="{bad", content_type="application/json")
    assert_envelope(response, 400, "parse_error")
    response = client.post("/api/v1/carts/", data=b"\xff\xfe", content_type="application/json")
    assert_envelope(response, 400, "parse_error")
    assert Product.objects.count() == before
    from orders.models import Cart

    assert not Cart.objects.exists()


def test_html_routes_keep_html_error_pages_with_debug_off(client):
    with override_settings(ROOT_URLCONF=urls, DEBUG=False):
        client.raise_request_exception = False
        missing = client.get("/no-such-page/")
        broken = client.get("/page-boom/")
    for response, status in ((missing, 404), (broken, 500)):
        assert response.status_code == status
        assert response["Content-Type"].startswith("text/html")
        body = response.content.decode()
        assert response["X-Request-ID"] in body
        assert "Back to Tribe" in body
        assert "Traceback" not in body
