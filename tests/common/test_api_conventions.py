"""The error envelope, request ids and Idempotency-Key, as the mobile apps rely on them."""

import logging

import pytest
from django.test import override_settings
from django.urls import path
from rest_framework.views import APIView

from accounts.models import User
from common.idempotency import idempotency_prune
from common.models import IdempotencyRecord

pytestmark = pytest.mark.django_db

ENVELOPE_KEYS = {"code", "message", "fields", "details", "request_id", "retryable"}


def assert_envelope(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body["error"]) == ENVELOPE_KEYS
    assert body["error"]["code"] == code
    assert body["error"]["request_id"] == response["X-Request-ID"]
    return body["error"]


def test_unknown_api_route_gets_json_404_envelope(client):
    assert_envelope(client.get("/api/v1/no-such-thing/"), 404, "not_found")


def test_malformed_json_gets_400_parse_error(api_client):
    response = api_client.post(
        "/api/v1/auth/register/", data="{not json", content_type="application/json"
    )
    assert_envelope(response, 400, "parse_error")
    assert User.objects.count() == 0


def test_validation_errors_name_their_fields(api_client):
    response = api_client.post("/api/v1/auth/register/", {"email": "nope"}, format="json")
    error = assert_envelope(response, 400, "invalid")
    assert error["fields"]["email"][0]["code"] == "invalid"
    assert error["fields"]["password"][0]["code"] == "required"


def test_unauthenticated_request_gets_401_envelope(api_client):
    assert_envelope(api_client.get("/api/v1/auth/me/"), 401, "not_authenticated")


def test_client_request_id_is_echoed(client):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="abc-123-def-456")
    assert response["X-Request-ID"] == "abc-123-def-456"


def test_request_id_appears_in_log_lines(client, caplog):
    class Boom(APIView):
        def get(self, request):
            logging.getLogger("tests").warning("inside the view")
            raise RuntimeError("boom")

    urls = type(
        "urls",
        (),
        {
            "urlpatterns": [path("api/v1/boom/", Boom.as_view())],
            "handler500": "common.errors.handler500",
        },
    )
    with override_settings(ROOT_URLCONF=urls, DEBUG=False), caplog.at_level(logging.WARNING):
        client.raise_request_exception = False
        response = client.get("/api/v1/boom/")
    error = assert_envelope(response, 500, "server_error")
    assert error["retryable"] is True
    ids = {getattr(r, "request_id", None) for r in caplog.records if r.name == "tests"}
    assert ids == {response["X-Request-ID"]}


def test_throttled_request_gets_429_envelope_with_retry_after(api_client, monkeypatch):
    from rest_framework.throttling import SimpleRateThrottle

    monkeypatch.setattr(
        SimpleRateThrottle,
        "THROTTLE_RATES",
        {"anon": "1000/min", "user": "1000/min", "auth": "2/min"},
    )
    for _ in range(2):
        api_client.post("/api/v1/auth/token/", {"email": "a@b.c", "password": "x"})
    response = api_client.post("/api/v1/auth/token/", {"email": "a@b.c", "password": "x"})
    error = assert_envelope(response, 429, "throttled")
    assert error["retryable"] is True
    assert int(response["Retry-After"]) > 0


def register(api_client, body, key=None):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return api_client.post("/api/v1/auth/register/", body, format="json", **headers)


BODY = {"email": "fan@example.com", "password": "a-long-enough-passphrase"}


def test_repeated_idempotency_key_replays_the_first_response(api_client):
    first = register(api_client, BODY, key="key-0001")
    second = register(api_client, BODY, key="key-0001")
    assert first.status_code == 201
    assert second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert User.objects.filter(email="fan@example.com").count() == 1


def test_same_idempotency_key_with_another_body_gets_422(api_client):
    register(api_client, BODY, key="key-0002")
    response = register(api_client, {**BODY, "email": "other@example.com"}, key="key-0002")
    assert_envelope(response, 422, "idempotency_key_reused")
    assert not User.objects.filter(email="other@example.com").exists()


def test_failed_request_does_not_burn_the_idempotency_key(api_client):
    bad = register(api_client, {"email": "fan@example.com"}, key="key-0003")
    assert bad.status_code == 400
    assert not IdempotencyRecord.objects.filter(key="key-0003").exists()


def test_without_idempotency_key_a_repeat_is_a_conflict(api_client):
    register(api_client, BODY)
    assert_envelope(register(api_client, BODY), 409, "email_taken")


def test_idempotency_records_expire_after_the_window(api_client, settings):
    from datetime import timedelta

    from django.utils import timezone

    register(api_client, BODY, key="key-0004")
    IdempotencyRecord.objects.update(created_at=timezone.now() - timedelta(hours=25))
    assert idempotency_prune() == 1
    response = register(api_client, BODY, key="key-0004")
    assert_envelope(response, 409, "email_taken")


def test_anonymous_requests_are_counted_by_the_anon_rate_and_users_by_the_user_rate(
    api_client, monkeypatch
):
    from rest_framework.throttling import SimpleRateThrottle

    from tests.conftest import client_for
    from tests.factories import UserFactory

    monkeypatch.setattr(
        SimpleRateThrottle, "THROTTLE_RATES", {"anon": "3/min", "user": "2/min", "auth": "9/min"}
    )
    url = "/api/v1/carts/999999/"
    anonymous = [api_client.get(url).status_code for _ in range(4)]
    signed_in = client_for(UserFactory.create())
    user = [signed_in.get(url).status_code for _ in range(3)]

    assert anonymous == [404, 404, 404, 429]
    assert user == [404, 404, 429]
