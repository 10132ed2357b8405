"""Two-step sign-in to the admin for staff who can refund or pay out (owners, managers,
superusers); viewers sign in with the password alone."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.test.client import ClientMixin
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import User
from accounts.otp import totp_current_code
from common.management.commands.seed_demo import DEMO_PASSWORD
from shop.models import BrandMember
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.shop.factories import BrandMemberFactory
from tests.staff_sign_in import ORIGINAL_FORCE_LOGIN, known_totp_device

pytestmark = pytest.mark.django_db

VERIFY = "/admin/verify/"
DESK = "/admin/orders/fulfilment/"


def password_only(user: User, password: str = DEFAULT_PASSWORD) -> Client:
    client = Client()
    response = client.post(
        "/admin/login/", {"username": user.email, "password": password, "next": "/admin/"}
    )
    assert response.status_code == 302
    return client


def member(role: str) -> User:
    return BrandMemberFactory.create(role=role).user


@pytest.mark.parametrize("role", [BrandMember.Role.OWNER, BrandMember.Role.MANAGER])
def test_staff_who_can_refund_are_asked_for_a_code_before_any_admin_page(role):
    client = password_only(member(role))

    home = client.get("/admin/")
    desk = client.get(DESK)

    assert home.status_code == 302
    assert home["Location"] == f"{VERIFY}?next=%2Fadmin%2F"
    assert desk.status_code == 302
    assert desk["Location"].startswith(VERIFY)


def test_a_superuser_is_asked_for_a_code_too():
    client = password_only(UserFactory.create(is_staff=True, is_superuser=True))

    assert client.get("/admin/").status_code == 302


def test_a_viewer_who_can_move_no_money_signs_in_with_the_password_alone():
    client = password_only(member(BrandMember.Role.VIEWER))

    assert client.get("/admin/").status_code == 200
    assert client.get(DESK).status_code == 200


def test_the_code_from_the_known_device_opens_the_admin():
    user = member(BrandMember.Role.MANAGER)
    device = known_totp_device(user)
    client = password_only(user)

    response = client.post(VERIFY, {"otp_token": totp_current_code(device), "next": DESK})

    assert response.status_code == 302
    assert response["Location"] == DESK
    assert client.get(DESK).status_code == 200
    assert client.get("/admin/").status_code == 200


def test_a_wrong_code_is_refused_in_words_and_opens_nothing():
    user = member(BrandMember.Role.OWNER)
    device = known_totp_device(user)
    client = password_only(user)
    wrong = str((int(totp_current_code(device)) + 1) % 1_000_000).zfill(6)

    response = client.post(VERIFY, {"otp_token": wrong})

    assert response.status_code == 400
    assert "That code is not right or has expired" in response.content.decode()
    assert client.get("/admin/").status_code == 302


def test_a_code_is_taken_once():
    user = member(BrandMember.Role.OWNER)
    code = totp_current_code(known_totp_device(user))
    first, second = password_only(user), password_only(user)

    assert first.post(VERIFY, {"otp_token": code}).status_code == 302
    assert second.post(VERIFY, {"otp_token": code}).status_code == 400
    assert second.get("/admin/").status_code == 302


def test_the_code_page_never_sends_the_user_to_another_site():
    user = member(BrandMember.Role.MANAGER)
    device = known_totp_device(user)
    client = password_only(user)

    response = client.post(
        VERIFY, {"otp_token": totp_current_code(device), "next": "https://evil.example/"}
    )

    assert response["Location"] == "/admin/"


def test_staff_without_an_authenticator_are_told_how_to_get_one():
    client = password_only(member(BrandMember.Role.MANAGER))

    page = client.get(VERIFY).content.decode()

    assert "needs an authenticator app" in page
    assert 'name="otp_token"' not in page


def test_force_login_alone_does_not_pass_the_second_factor():
    user = member(BrandMember.Role.MANAGER)
    client = Client()
    ORIGINAL_FORCE_LOGIN(client, user)

    assert client.get("/admin/").status_code == 302


def test_the_tests_sign_in_passes_the_real_verify_page(client: Client):
    user = member(BrandMember.Role.MANAGER)

    client.force_login(user)

    assert ClientMixin.force_login is not ORIGINAL_FORCE_LOGIN
    assert client.session["otp_device_id"] == known_totp_device(user).persistent_id
    assert client.get("/admin/").status_code == 200


def test_the_demo_seed_gives_its_staff_a_known_authenticator(settings, capsys):
    settings.DEMO_SEED_ALLOWED = True
    call_command("seed_demo")
    banner = capsys.readouterr().out
    owner = User.objects.get(email="owner@glow-labs.example")
    out = io.StringIO()

    call_command("demo_otp_code", owner.email, stdout=out)
    client = password_only(owner, DEMO_PASSWORD)
    response = client.post(VERIFY, {"otp_token": out.getvalue().strip()})

    assert "make otp EMAIL=" in banner
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200
    assert TOTPDevice.objects.filter(user__email="admin@tribe.local", confirmed=True).exists()


def test_demo_codes_are_not_shown_outside_the_local_settings(settings):
    settings.DEMO_SEED_ALLOWED = False
    user: Any = member(BrandMember.Role.OWNER)
    known_totp_device(user)

    with pytest.raises(Exception, match="only under the local settings"):
        call_command("demo_otp_code", user.email, stdout=io.StringIO())
