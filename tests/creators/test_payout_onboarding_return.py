"""Stripe's Connect onboarding sends a creator back to a real page, or to the app's own link."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from django.test import Client

from commissions.services.accounts import OnboardingLink
from tests.conftest import client_for
from tests.creators.factories import CreatorFactory

pytestmark = pytest.mark.django_db

ACCOUNT = "/api/v1/creators/me/payout-account/"
APP_LINK = "https://app.tribe.example/payouts/done?from=stripe"


@pytest.fixture
def api():
    return client_for(CreatorFactory.create().user)


def onboarding_return_url(response) -> str:
    """The return URL the emulator's onboarding link will redirect to."""
    return parse_qs(urlparse(response.json()["onboarding"]["url"]).query)["return_url"][0]


@pytest.mark.parametrize("path", ["/creators/payouts/return", "/creators/payouts/refresh"])
def test_the_default_onboarding_pages_exist_and_are_never_cached(path):
    response = Client().get(path, {"accountId": "acct_123"})
    assert response.status_code == 200
    assert "Tribe app" in response.content.decode()
    assert "no-store" in response["Cache-Control"]


def test_by_default_the_onboarding_returns_to_the_sites_own_page(api, stripe_emulator, settings):
    response = api.post(ACCOUNT)
    assert response.status_code == 201
    assert onboarding_return_url(response) == f"{settings.SITE_URL}/creators/payouts/return"
    assert Client().get(urlparse(onboarding_return_url(response)).path).status_code == 200


def test_an_app_sets_its_own_allowed_return_link(api, stripe_emulator, settings):
    settings.CONNECT_RETURN_URL_ORIGINS = ["https://app.tribe.example"]
    response = api.post(ACCOUNT, {"return_url": APP_LINK, "refresh_url": APP_LINK}, format="json")
    assert response.status_code == 201, response.json()
    assert onboarding_return_url(response) == APP_LINK


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/payouts",
        "https://app.tribe.example.evil.example/x",
        "http://app.tribe.example/x",  # the allowed scheme is https
        "tribe://payouts",  # Stripe takes only http(s): apps use their universal link
        "/creators/payouts/return",
        "javascript:alert(1)",
    ],
)
def test_a_return_url_off_the_allow_list_is_refused(api, settings, monkeypatch, url):
    settings.CONNECT_RETURN_URL_ORIGINS = ["https://app.tribe.example"]

    def no_stripe(**kwargs: object) -> tuple[object, OnboardingLink, bool]:
        raise AssertionError("Stripe must not be called for a refused URL")

    monkeypatch.setattr("commissions.api.ledger.payout_account_connect", no_stripe)
    response = api.post(ACCOUNT, {"return_url": url}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "return_url_not_allowed"
