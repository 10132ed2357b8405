"""A shopper pays on the web payment page in headless Chromium, against the live server.

Catalog, cart and checkout go through the API; the payment page loads the Stripe.js
stand-in from the emulator; the confirmation page shows "paid" once the emulator's webhook
has reached the server. Screenshots land in artifacts/e2e/ (gitignored).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.wait import WebDriverWait

from orders.models import Order
from shop.models import Variant
from tests.browser import ARTIFACTS as BROWSER_ARTIFACTS
from tests.browser import chromium
from tests.orders.helpers import variant_in_stock

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ARTIFACTS = BROWSER_ARTIFACTS / "e2e"
WAIT_SECONDS = 20
QUANTITY = 2


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    driver = chromium(
        tmp_path_factory.mktemp("chromium-profile"), flags=["--window-size=1000,1200"]
    )
    try:
        yield driver
    finally:
        driver.quit()


def _screenshot(driver: WebDriver, request: pytest.FixtureRequest, step: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"\W+", "-", request.node.name).strip("-")
    assert driver.save_screenshot(str(ARTIFACTS / f"{name}-{step}.png"))


def _wait_for(driver: WebDriver, condition: Any, what: str) -> Any:
    try:
        return WebDriverWait(driver, WAIT_SECONDS).until(condition)
    except TimeoutException:
        messages = driver.find_elements(By.ID, "payment-message")
        shown = messages[0].text if messages else ""
        pytest.fail(
            f"Timed out waiting for {what} at {driver.current_url} (page message: {shown!r})"
        )


def _sku_from_catalog(shopper: Any, variant: Variant) -> str:
    products = shopper.get("/api/v1/products/")["results"]
    product = next(p for p in products if p["id"] == variant.product_id)
    return product["variants"][0]["sku"]


def _open_payment_page(driver: WebDriver, shopper: Any, live_stripe: Any, key: str) -> dict:
    variant = variant_in_stock(on_hand=10, price="20.00")
    checkout = shopper.buy(_sku_from_catalog(shopper, variant), QUANTITY, key=key)
    assert checkout["payment_page_url"].startswith(live_stripe.site + "/checkout/")
    driver.get(checkout["payment_page_url"])
    return checkout


def _type_card(driver: WebDriver, number: str) -> None:
    fields = {"cardnumber": number, "exp-date": "12 / 34", "cvc": "123"}
    for name, value in fields.items():
        field = _wait_for(
            driver,
            ec.visibility_of_element_located((By.CSS_SELECTOR, f"input[name={name}]")),
            f"the {name} input of the Payment Element",
        )
        field.send_keys(value)


def _wait_until_paid(driver: WebDriver) -> None:
    # The confirmation page refreshes itself while the webhook is on its way.
    _wait_for(
        driver,
        ec.presence_of_element_located((By.CSS_SELECTOR, "#state[data-status=paid]")),
        "the confirmation page to show the order paid",
    )


def test_shopper_pays_on_the_payment_page_and_sees_the_order_paid(
    browser, shopper, live_stripe, request
):
    checkout = _open_payment_page(browser, shopper, live_stripe, "e2e-browser-card")
    _type_card(browser, "4242 4242 4242 4242")
    _screenshot(browser, request, "1-payment-page")

    browser.find_element(By.ID, "pay").click()

    _wait_until_paid(browser)
    assert browser.current_url.startswith(f"{checkout['payment_page_url']}complete/")
    _screenshot(browser, request, "2-confirmation")
    order = Order.objects.get(pk=checkout["order_id"])
    assert order.status == Order.Status.PAID
    variant = Variant.objects.get(sku=checkout["lines"][0]["sku"])
    assert (variant.on_hand, variant.reserved) == (10 - QUANTITY, 0)


def test_payment_page_shows_the_amounts_the_api_charges(browser, shopper, live_stripe):
    checkout = _open_payment_page(browser, shopper, live_stripe, "e2e-browser-amounts")
    assert checkout["amount"]["currency"] == "USD"
    total = f"${checkout['amount']['amount']}"  # as shoppers read it: symbol, the cents
    _wait_for(browser, ec.visibility_of_element_located((By.ID, "pay")), "the Pay button")

    assert browser.find_element(By.ID, "total").text == total
    assert browser.find_element(By.ID, "pay").text == f"Pay {total}"


def test_shopper_completes_three_d_secure_and_sees_the_order_paid(
    browser, shopper, live_stripe, request
):
    checkout = _open_payment_page(browser, shopper, live_stripe, "e2e-browser-3ds")
    _type_card(browser, "4000 0025 0000 3155")
    browser.find_element(By.ID, "pay").click()
    complete = _wait_for(
        browser,
        ec.element_to_be_clickable((By.ID, "stripe-emulator-3ds-complete")),
        "the 3-D Secure challenge",
    )
    _screenshot(browser, request, "1-3ds-challenge")
    assert Order.objects.get(pk=checkout["order_id"]).status == Order.Status.PENDING_PAYMENT

    complete.click()

    _wait_until_paid(browser)
    _screenshot(browser, request, "2-confirmation")
    assert Order.objects.get(pk=checkout["order_id"]).status == Order.Status.PAID


def test_a_declined_card_is_told_once(browser, shopper, live_stripe, request):
    _open_payment_page(browser, shopper, live_stripe, "e2e-browser-decline")
    _type_card(browser, "4000 0000 0000 0002")
    browser.find_element(By.ID, "pay").click()
    _wait_for(
        browser,
        lambda driver: "declined" in driver.find_element(By.TAG_NAME, "body").text,
        "the decline message",
    )
    _screenshot(browser, request, "1-declined")

    page = browser.find_element(By.TAG_NAME, "body").text
    assert page.count("Your card was declined.") == 1, page
    assert browser.find_element(By.ID, "pay").is_enabled()
