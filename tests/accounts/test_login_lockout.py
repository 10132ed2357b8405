"""Lockout after repeated failed sign-ins (django-axes), per username and client address.

The address is the one the trusted proxies saw (`common.client_ip`): a client writing its
own X-Forwarded-For neither escapes its lockout nor moves it onto someone else's address.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

ADMIN_LOGIN = "/admin/login/"
TOKEN_URL = "/api/v1/auth/token/"
LIMIT = 3


@pytest.fixture(autouse=True)
def limit_of_three(settings):
    settings.AXES_FAILURE_LIMIT = LIMIT
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)


@pytest.fixture
def viewer(db):
    # Staff who can move no money: no second factor, so the password alone signs in.
    return UserFactory.create(is_staff=True)


def admin_sign_in(
    email: str, password: str, remote_addr: str = "198.51.100.7", forwarded: str | None = None
) -> Any:
    headers: dict[str, Any] = {"REMOTE_ADDR": remote_addr}
    if forwarded is not None:
        headers["HTTP_X_FORWARDED_FOR"] = forwarded
    return Client().post(
        ADMIN_LOGIN, {"username": email, "password": password, "next": "/admin/"}, **headers
    )


def api_sign_in(email: str, password: str, remote_addr: str = "198.51.100.7", **extra: Any):
    return APIClient().post(
        TOKEN_URL,
        {"email": email, "password": password},
        format="json",
        REMOTE_ADDR=remote_addr,
        **extra,
    )


def fail_admin(email: str, times: int, **kw: Any) -> list[int]:
    return [admin_sign_in(email, "wrong-password", **kw).status_code for _ in range(times)]


def test_failed_admin_sign_ins_lock_that_username_from_that_address(viewer):
    codes = fail_admin(viewer.email, LIMIT)

    locked = admin_sign_in(viewer.email, DEFAULT_PASSWORD)

    assert codes == [200, 200, 429]  # the form again twice, then the lockout page
    assert locked.status_code == 429
    page = locked.content.decode()
    assert "Too many failed sign-ins for this account from your address" in page
    assert "Try again in 15 minutes" in page
    assert "_auth_user_id" not in locked.wsgi_request.session


def test_the_same_username_from_another_address_is_not_locked(viewer):
    fail_admin(viewer.email, LIMIT)

    response = admin_sign_in(viewer.email, DEFAULT_PASSWORD, remote_addr="203.0.113.50")

    assert response.status_code == 302
    assert response.wsgi_request.user.pk == viewer.pk


def test_another_username_from_the_locked_address_is_not_locked(viewer):
    fail_admin(viewer.email, LIMIT)
    other = UserFactory.create(is_staff=True)

    assert admin_sign_in(other.email, DEFAULT_PASSWORD).status_code == 302


def test_a_spoofed_forwarded_for_from_an_untrusted_peer_does_not_change_the_key(viewer):
    # No trusted proxy (NUM_PROXIES=0): the header is the client's own writing.
    for n in range(LIMIT):
        admin_sign_in(viewer.email, "wrong-password", forwarded=f"192.0.2.{n}")

    response = admin_sign_in(viewer.email, DEFAULT_PASSWORD, forwarded="192.0.2.200")

    assert response.status_code == 429
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"198.51.100.7"}


def test_behind_a_trusted_proxy_the_key_is_the_address_the_proxy_saw(viewer, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": 1}
    proxy = "10.0.0.1"
    for n in range(LIMIT):
        # The client writes anything to the left; our proxy appends what it saw.
        admin_sign_in(
            viewer.email, "wrong-password", remote_addr=proxy, forwarded=f"192.0.2.{n}, 203.0.113.5"
        )

    locked = admin_sign_in(
        viewer.email, DEFAULT_PASSWORD, remote_addr=proxy, forwarded="203.0.113.5"
    )
    elsewhere = admin_sign_in(
        viewer.email, DEFAULT_PASSWORD, remote_addr=proxy, forwarded="203.0.113.5, 198.51.100.9"
    )

    assert locked.status_code == 429
    assert elsewhere.status_code == 302
    assert list(AccessAttempt.objects.values_list("ip_address", flat=True)) == ["203.0.113.5"]


def test_a_successful_sign_in_after_the_cool_off_works(viewer):
    fail_admin(viewer.email, LIMIT)
    assert admin_sign_in(viewer.email, DEFAULT_PASSWORD).status_code == 429
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))

    response = admin_sign_in(viewer.email, DEFAULT_PASSWORD)

    assert response.status_code == 302
    assert response.wsgi_request.user.pk == viewer.pk
    assert not AccessAttempt.objects.exists()  # a success clears the count


def test_fewer_failures_than_the_limit_do_not_lock(viewer):
    fail_admin(viewer.email, LIMIT - 1)

    assert admin_sign_in(viewer.email, DEFAULT_PASSWORD).status_code == 302


def test_the_api_token_endpoint_locks_out_with_a_stable_code(viewer):
    codes = [api_sign_in(viewer.email, "wrong-password").status_code for _ in range(LIMIT)]

    locked = api_sign_in(viewer.email, DEFAULT_PASSWORD)

    assert codes == [401, 401, 429]
    assert locked.status_code == 429
    error = locked.json()["error"]
    assert error["code"] == "login_locked"
    assert error["retryable"] is True
    assert error["details"] == {"retry_after": 900}
    assert "access" not in locked.json()
    assert locked["Retry-After"] == "900"


def test_the_api_and_the_admin_count_the_same_username_and_address(viewer):
    # The admin posts `username`, the API `email`: both count against one key.
    api_sign_in(viewer.email.upper(), "wrong-password")
    fail_admin(viewer.email, LIMIT - 1)

    assert api_sign_in(viewer.email, DEFAULT_PASSWORD).status_code == 429


def test_the_api_lockout_is_per_address_too(viewer):
    for _ in range(LIMIT):
        api_sign_in(viewer.email, "wrong-password")

    other = api_sign_in(viewer.email, DEFAULT_PASSWORD, remote_addr="203.0.113.50")

    assert other.status_code == 200
    assert "access" in other.json()
