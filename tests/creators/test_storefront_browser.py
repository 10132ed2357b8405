"""A shopper opens /@handle in headless Chromium on a phone-sized window, against the live server.

The page must render videos, products and stock states with JavaScript switched off; a
full-page screenshot lands in artifacts/storefront.png (gitignored) for review. The
attribution token in the page's URL reaches the browser's cookie.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.wait import WebDriverWait

from creators.attribution.tokens import token_for_click
from creators.models import AffiliateLink
from tests.browser import ARTIFACTS, chromium
from tests.creators.test_storefront_page import make_showcase

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SCREENSHOT = ARTIFACTS / "storefront.png"
WAIT_SECONDS = 20
# Product images are inline SVG so the page renders fully without reaching the internet.
SWATCH = (
    "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='800' height='1000'%3E"
    "%3Crect width='800' height='1000' fill='%23{}'/%3E%3C/svg%3E"
)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    """Headless Chromium, JavaScript off, no network but ours, a phone's viewport."""
    options = webdriver.ChromeOptions()
    # A phone's viewport, and JavaScript off: the page must work for that shopper.
    options.add_experimental_option(
        "mobileEmulation", {"deviceMetrics": {"width": 390, "height": 844, "pixelRatio": 2}}
    )
    options.add_experimental_option(
        "prefs", {"profile.managed_default_content_settings.javascript": 2}
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


def _full_page_screenshot(driver: WebDriver, path: Path) -> None:
    """The whole page, not just the viewport, through the DevTools protocol."""
    metrics = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
    size = metrics["cssContentSize"]
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1},
        },
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(base64.b64decode(shot["data"]))


def _card(driver: WebDriver, product_id: int) -> WebElement:
    return driver.find_element(By.CSS_SELECTOR, f'.video [data-product-id="{product_id}"]')


def test_shopper_sees_videos_products_and_stock_without_javascript(browser, live_server):
    showcase = make_showcase(avatar_url="")
    showcase.video.thumbnail_url = ""
    showcase.video.save(update_fields=["thumbnail_url"])
    for product, colour in (
        (showcase.serum, "e8a87c"),
        (showcase.lip_mask, "c38d9e"),
        (showcase.spf, "41b3a3"),
    ):
        product.images.update(url=SWATCH.format(colour))

    browser.get(f"{live_server.url}/@maya.glows")
    WebDriverWait(browser, WAIT_SECONDS).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, "footer"))
    )
    _full_page_screenshot(browser, SCREENSHOT)

    assert browser.find_element(By.TAG_NAME, "h1").text == "Maya Chen"
    assert browser.find_element(By.CSS_SELECTOR, ".video .caption").text == "My routine"
    serum = _card(browser, showcase.serum.pk)
    assert "$24.00" in serum.text
    assert "appears at 0:04" in serum.text
    assert "Only 3 left" in _card(browser, showcase.lip_mask.pk).text
    spf = _card(browser, showcase.spf.pk)
    assert "Sold out" in spf.text
    assert "Vitamin C serum" in spf.find_element(By.CSS_SELECTOR, ".fallback").text
    form = spf.find_element(By.CSS_SELECTOR, "form.notify")
    assert form.get_attribute("action") == f"{live_server.url}/waitlist/join/"
    assert form.find_element(By.NAME, "email").is_displayed()
    assert form.find_element(By.NAME, "variant_id").get_attribute("type") == "hidden"
    collection = browser.find_element(By.CSS_SELECTOR, ".collection")
    assert "Morning routine" in collection.text
    assert SCREENSHOT.stat().st_size > 10_000


def test_the_token_in_the_storefront_url_is_kept_in_the_browsers_cookie(browser, live_server):
    showcase = make_showcase()
    link = AffiliateLink.objects.get(creator=showcase.creator, product=showcase.spf)
    token = token_for_click(click_id="click-spf", link_id=link.pk)
    browser.delete_all_cookies()

    browser.get(f"{live_server.url}/@maya.glows?atk={quote(token, safe='')}")
    WebDriverWait(browser, WAIT_SECONDS).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, "footer"))
    )

    cookie = browser.get_cookie("tribe_atk")
    assert cookie is not None
    assert cookie["value"] == token
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"
