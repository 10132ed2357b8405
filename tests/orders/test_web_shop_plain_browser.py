"""The web shop in a browser that blocks every cookie, as some in-app browsers do: the cart
and attribution tokens travel in the URLs alone, and plain forms take the fan from a link
tap to the payment page with the creator credited.

The pages up to payment carry no script at all (each is checked), so this is also the
journey with JavaScript off; ChromeDriver itself cannot click with scripts disabled.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.wait import WebDriverWait

from orders.models import Cart, Order
from tests.browser import ARTIFACTS, chromium
from tests.creators.test_storefront_page import make_creator, make_link, make_product, make_video
from tests.orders.test_web_shop_browser import PHONE_USER_AGENT, SWATCH

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("stripe_emulator"),
]

WAIT_SECONDS = 20


@pytest.fixture(scope="module")
def plain_browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    options = webdriver.ChromeOptions()
    options.add_experimental_option(
        "mobileEmulation",
        {
            "deviceMetrics": {"width": 390, "height": 844, "pixelRatio": 2},
            "userAgent": PHONE_USER_AGENT,
        },
    )
    options.add_experimental_option(
        "prefs",
        {"profile.default_content_setting_values.cookies": 2},
    )
    driver = chromium(
        tmp_path_factory.mktemp("chromium-profile"),
        flags=["--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1, EXCLUDE localhost"],
        options=options,
    )
    try:
        yield driver
    finally:
        driver.quit()


def _wait(driver: WebDriver, by: str, value: str) -> None:
    WebDriverWait(driver, WAIT_SECONDS).until(ec.presence_of_element_located((by, value)))
    assert driver.find_elements(By.TAG_NAME, "script") == [], driver.current_url


def _shot(driver: WebDriver, step: str) -> None:
    (ARTIFACTS / "web-shop").mkdir(parents=True, exist_ok=True)
    assert driver.save_screenshot(str(ARTIFACTS / "web-shop" / f"plain-browser-{step}.png"))


def test_without_javascript_or_cookies_a_fan_reaches_payment_with_the_creator_credited(
    plain_browser, live_server, settings
):
    settings.SITE_URL = live_server.url
    creator = make_creator(avatar_url="")
    mask = make_product("Overnight lip mask", price="16.00", image_url=SWATCH.format("c38d9e"))
    serum = make_product(
        "Vitamin C serum", brand=mask.brand, price="24.00", image_url=SWATCH.format("e8a87c")
    )
    make_video(creator, thumbnail_url="", products=[(mask, 3), (serum, 9)])
    link = make_link(creator, mask)
    driver = plain_browser

    driver.get(f"{live_server.url}/r/{link.code}")
    _wait(driver, By.CSS_SELECTOR, "section.featured form.buy")
    assert driver.get_cookies() == []
    _shot(driver, "1-landing")
    driver.find_element(By.CSS_SELECTOR, "section.featured form.buy button").click()

    _wait(driver, By.ID, "totals")
    cart = Cart.objects.get()
    assert f"/cart/{cart.token}/" in driver.current_url
    driver.find_element(By.LINK_TEXT, "← Keep shopping").click()
    _wait(driver, By.CSS_SELECTOR, ".cart-link")
    assert driver.find_element(By.CSS_SELECTOR, ".cart-link").text == "Cart (1)"
    driver.find_element(By.LINK_TEXT, "Vitamin C serum").click()
    _wait(driver, By.ID, "product-title")
    driver.find_element(By.CSS_SELECTOR, "form.buy button").click()

    _wait(driver, By.ID, "totals")
    assert Cart.objects.get().lines.count() == 2  # the same cart, found by its URL token
    quantity = driver.find_element(
        By.CSS_SELECTOR, f".line[data-sku='{serum.variants.get().sku}'] input[name=quantity]"
    )
    quantity.clear()
    quantity.send_keys("2")
    quantity.find_element(By.XPATH, "./ancestor::form").submit()
    _wait(driver, By.CSS_SELECTOR, ".line[data-quantity='2']")
    _shot(driver, "2-cart")

    driver.find_element(By.ID, "checkout").click()
    _wait(driver, By.ID, "checkout-form")
    fields = {
        "email": "fan@example.com",
        "name": "Fan One",
        "line1": "1 Main St",
        "city": "Springfield",
        "postal_code": "12345",
        "country": "US",
    }
    for name, value in fields.items():
        driver.find_element(By.NAME, name).send_keys(value)
    driver.find_element(By.ID, "continue").click()

    WebDriverWait(driver, WAIT_SECONDS).until(
        ec.presence_of_element_located((By.ID, "payment-form"))
    )
    _shot(driver, "3-payment")
    order = Order.objects.get()
    assert re.search(rf"/checkout/{order.token}/$", driver.current_url)
    credited = {line.sku: line.attributed_link_id for line in order.lines.all()}
    assert credited[mask.variants.get().sku] == link.pk  # the link's own product
    assert credited[serum.variants.get().sku] is None  # a link credits only its product
    assert driver.get_cookies() == []
