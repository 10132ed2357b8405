import re

import pytest
from django.core import mail
from rest_framework.test import APIClient

from accounts.models import User
from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "an-even-longer-passphrase-2026"


def sign_in(client, email, password=DEFAULT_PASSWORD):
    return client.post("/api/v1/auth/token/", {"email": email, "password": password}, format="json")


def test_register_returns_tokens_that_work(api_client):
    response = api_client.post(
        "/api/v1/auth/register/",
        {"email": "New@Example.com", "password": "a-long-enough-passphrase"},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["user"]["email"] == "new@example.com"
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {body['access']}")
    assert api_client.get("/api/v1/auth/me/").json()["email"] == "new@example.com"


def test_register_refuses_a_weak_password(api_client):
    response = api_client.post(
        "/api/v1/auth/register/", {"email": "a@example.com", "password": "123"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "weak_password"
    assert not User.objects.exists()


def test_sign_in_with_wrong_password_is_401(api_client, user):
    response = sign_in(api_client, user.email, "wrong")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "no_active_account"


def test_refresh_rotates_and_the_old_refresh_token_is_revoked(api_client, user):
    tokens = sign_in(api_client, user.email).json()
    rotated = api_client.post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]})
    assert rotated.status_code == 200
    assert rotated.json()["refresh"] != tokens["refresh"]
    replay = api_client.post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]})
    assert replay.status_code == 401
    assert replay.json()["error"]["code"] == "token_not_valid"


def test_logout_revokes_the_refresh_token(api_client, user):
    tokens = sign_in(api_client, user.email).json()
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert (
        api_client.post("/api/v1/auth/logout/", {"refresh": tokens["refresh"]}).status_code == 204
    )
    again = APIClient().post("/api/v1/auth/token/refresh/", {"refresh": tokens["refresh"]})
    assert again.status_code == 401


def test_logout_cannot_revoke_another_users_token(auth_client):
    other = UserFactory.create()
    other_tokens = sign_in(APIClient(), other.email).json()
    response = auth_client.post("/api/v1/auth/logout/", {"refresh": other_tokens["refresh"]})
    assert response.status_code == 400
    refreshed = APIClient().post(
        "/api/v1/auth/token/refresh/", {"refresh": other_tokens["refresh"]}
    )
    assert refreshed.status_code == 200


def test_me_update_changes_display_name(auth_client, user):
    response = auth_client.patch("/api/v1/auth/me/", {"display_name": "Fan"}, format="json")
    assert response.status_code == 200
    user.refresh_from_db()
    assert user.display_name == "Fan"


@pytest.mark.parametrize("display_name", [123, 1.5, True, ["Fan"]])
def test_register_refuses_a_display_name_that_is_not_a_string(api_client, display_name):
    body = {"email": "new@example.com", "password": "a-long-passphrase-42"}
    response = api_client.post(
        "/api/v1/auth/register/", {**body, "display_name": display_name}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["display_name"][0]["code"] == "invalid"
    assert not User.objects.filter(email="new@example.com").exists()


def test_me_update_refuses_a_number_as_display_name(auth_client, user):
    response = auth_client.patch("/api/v1/auth/me/", {"display_name": 7}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["display_name"][0]["code"] == "invalid"
    user.refresh_from_db()
    assert user.display_name != "7"


def test_me_update_to_a_taken_email_is_409(auth_client, user):
    other = UserFactory.create()
    response = auth_client.patch("/api/v1/auth/me/", {"email": other.email}, format="json")
    assert response.status_code == 409
    user.refresh_from_db()
    assert user.email != other.email


def test_account_deletion_needs_the_password(auth_client, user):
    wrong = auth_client.delete("/api/v1/auth/me/", {"password": "nope"}, format="json")
    assert wrong.status_code == 400
    assert User.objects.filter(pk=user.pk).exists()
    right = auth_client.delete("/api/v1/auth/me/", {"password": DEFAULT_PASSWORD}, format="json")
    assert right.status_code == 204
    assert not User.objects.filter(pk=user.pk).exists()


def test_password_change_signs_out_other_devices(auth_client, user):
    other_device = sign_in(APIClient(), user.email).json()
    response = auth_client.post(
        "/api/v1/auth/password/change/",
        {"old_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD},
        format="json",
    )
    assert response.status_code == 204
    assert sign_in(APIClient(), user.email, NEW_PASSWORD).status_code == 200
    stale = APIClient().post("/api/v1/auth/token/refresh/", {"refresh": other_device["refresh"]})
    assert stale.status_code == 401


def test_password_reset_by_email_round_trip(api_client, user, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post("/api/v1/auth/password/reset/", {"email": user.email})
    assert response.status_code == 202
    assert len(mail.outbox) == 1
    text = str(mail.outbox[0].body)
    uid_match = re.search(r"uid: (\S+)", text)
    token_match = re.search(r"token: (\S+)", text)
    assert uid_match
    assert token_match
    uid, token = uid_match.group(1), token_match.group(1)
    confirm = {"uid": uid, "token": token, "new_password": NEW_PASSWORD}
    assert api_client.post("/api/v1/auth/password/reset/confirm/", confirm).status_code == 204
    assert sign_in(api_client, user.email, NEW_PASSWORD).status_code == 200
    reused = api_client.post("/api/v1/auth/password/reset/confirm/", confirm)
    assert reused.status_code == 400
    assert reused.json()["error"]["code"] == "invalid_reset_token"


def test_password_reset_for_unknown_email_says_nothing(
    api_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = api_client.post("/api/v1/auth/password/reset/", {"email": "ghost@example.com"})
    assert response.status_code == 202
    assert mail.outbox == []


def test_deleting_an_account_with_financial_records_erases_it_instead(
    auth_client, user, monkeypatch
):
    from django.db.models import ProtectedError

    def protected(self, *args, **kwargs):
        raise ProtectedError("ledger rows point here", set())

    monkeypatch.setattr(User, "delete", protected)
    response = auth_client.delete("/api/v1/auth/me/", {"password": DEFAULT_PASSWORD}, format="json")
    assert response.status_code == 204
    user.refresh_from_db()
    assert user.email.endswith("@deleted.invalid")
    assert not user.is_active
    assert not user.has_usable_password()
