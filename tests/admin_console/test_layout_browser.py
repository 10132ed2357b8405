"""No brand admin page scrolls sideways at 1280 px, in headless Chromium against the live server.

Brand staff sign in through the login form; every changelist the sidebar offers them, its
add form where they may add, and the change form of its first row are opened at a 1280 px
wide viewport and must not be wider than it. Screenshots of the product form and the order
desk at 1280 and 1440 px are kept under artifacts/admin-console/ (gitignored).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.wait import WebDriverWait

from accounts.models import User
from accounts.otp import totp_current_code
from orders.models import Fulfilment
from shop.models import ProductImage
from shop.two_factor import two_factor_required
from tests.browser import ARTIFACTS as BROWSER_ARTIFACTS
from tests.browser import chromium
from tests.factories import DEFAULT_PASSWORD
from tests.orders.aftersale_helpers import TwoBrands, two_brand_order
from tests.shop.factories import ProductFactory, VariantFactory
from tests.staff_sign_in import known_totp_device

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ARTIFACTS = BROWSER_ARTIFACTS / "admin-console"
WAIT_SECONDS = 20
NARROW, WIDE = 1280, 1440

# The widest elements of a page, to say what pushed it past the viewport.
WIDEST_JS = """
const limit = arguments[0];
return [...document.querySelectorAll('body *')]
  .map((el) => [el.getBoundingClientRect().right, el])
  .filter(([right]) => right > limit + 0.5)
  .sort((a, b) => b[0] - a[0]).slice(0, 3)
  .map(([right, el]) => `${Math.round(right)}px <${el.tagName.toLowerCase()}`
       + (el.id ? ` id=${el.id}` : '') + ` class="${String(el.className).slice(0, 60)}">`);
"""


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    """Headless desktop Chromium, no network but ours."""
    driver = chromium(
        tmp_path_factory.mktemp("chromium-profile"),
        flags=["--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1, EXCLUDE localhost"],
    )
    try:
        yield driver
    finally:
        driver.quit()


def viewport(driver: WebDriver, width: int) -> None:
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": False},
    )


def a_brands_business(stripe_emulator: str) -> TwoBrands:
    """A paid order shared by two brands, and brand A's catalog with variants and an image."""
    t = two_brand_order(qty_a=2, price_a="16.00")
    product = ProductFactory.create(
        brand=t.brand_a,
        title="Organic cotton crew neck tee with a rather long product name",
        tags=["summer", "basics", "organic cotton"],
    )
    for position, (size, colour) in enumerate(
        [(s, c) for s in ("XS", "S", "M", "L", "XL") for c in ("black", "natural")]
    ):
        VariantFactory.create(
            product=product,
            sku=f"TEE-LONG-SKU-{size}-{colour.upper()}",
            title=f"{size} / {colour}",
            options={"size": size, "colour": colour, "fit": "regular"},
            price=Decimal("48.00"),
            compare_at_price=Decimal("60.00"),
            position=position,
        )
    ProductImage.objects.create(
        product=product,
        url="https://cdn.example.com/images/products/organic-cotton-tee/front-view-1080.jpg",
        width=1080,
        height=1350,
        alt="Front",
    )
    return t


def brand_pages(t: TwoBrands) -> list[str]:
    """Every changelist the sidebar offers brand A's owner, its add form, its first row's form."""
    client = Client()
    client.force_login(t.owner_a)
    home = client.get("/admin/")
    urls: list[str] = ["/admin/"]  # the dashboard
    for group in home.context["sidebar_navigation"]:
        for item in group["items"]:
            if not item["has_permission"]:
                continue
            changelist = str(item["link"])
            urls.append(changelist)
            response = client.get(changelist)
            assert response.status_code == 200, changelist
            if response.context.get("has_add_permission"):
                urls.append(f"{changelist}add/")
            rows = list(response.context["cl"].result_list)
            if rows:
                urls.append(f"{changelist}{rows[0].pk}/change/")
    return urls


def sign_in(driver: WebDriver, live_server: Any, email: str) -> None:
    user = User.objects.get(email=email)
    device = known_totp_device(user) if two_factor_required(user) else None
    driver.delete_all_cookies()
    driver.get(f"{live_server.url}/admin/login/")
    driver.find_element(By.NAME, "username").send_keys(email)
    driver.find_element(By.NAME, "password").send_keys(DEFAULT_PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "form [type=submit]").click()
    try:
        WebDriverWait(driver, WAIT_SECONDS).until(
            ec.any_of(
                ec.presence_of_element_located((By.ID, "nav-sidebar-apps")),
                ec.presence_of_element_located((By.NAME, "otp_token")),
            )
        )
        if device is not None:
            # Staff who can refund or pay out type the code their authenticator shows.
            driver.find_element(By.NAME, "otp_token").send_keys(totp_current_code(device))
            driver.find_element(By.CSS_SELECTOR, "#otp-form [type=submit]").click()
        WebDriverWait(driver, WAIT_SECONDS).until(
            ec.presence_of_element_located((By.ID, "nav-sidebar-apps"))
        )
    except TimeoutException:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / "sign-in-failed.png"))
        pytest.fail(f"Signing in as {email} did not reach the admin: {driver.current_url}")


def open_page(driver: WebDriver, url: str) -> None:
    driver.get(url)
    WebDriverWait(driver, WAIT_SECONDS).until(
        lambda d: d.execute_script("return document.readyState") == "complete"
    )


def test_no_brand_admin_page_scrolls_sideways_at_1280_px(browser, live_server, stripe_emulator):
    t = a_brands_business(stripe_emulator)
    pages = brand_pages(t)
    assert any(url.endswith("/add/") for url in pages)
    assert any("/shop/product/" in url and url.endswith("/change/") for url in pages)
    assert any("/orders/fulfilment/" in url and url.endswith("/change/") for url in pages)
    sign_in(browser, live_server, t.owner_a.email)
    viewport(browser, NARROW)
    assert browser.execute_script("return window.innerWidth") == NARROW

    too_wide: dict[str, Any] = {}
    for url in pages:
        open_page(browser, f"{live_server.url}{url}")
        assert "/admin/login/" not in browser.current_url, url
        width = browser.execute_script("return document.documentElement.scrollWidth")
        if width > NARROW:
            too_wide[url] = (width, browser.execute_script(WIDEST_JS, NARROW))

    assert too_wide == {}, f"{len(too_wide)} of {len(pages)} pages scroll sideways"


def test_screenshots_of_the_product_form_and_order_desk(browser, live_server, stripe_emulator):
    t = a_brands_business(stripe_emulator)
    product = t.brand_a.products.order_by("-pk")[0]
    fulfilment = Fulfilment.objects.get(order=t.order, brand=t.brand_a)
    pages = {
        "dashboard": "/admin/",
        "product-form": f"/admin/shop/product/{product.pk}/change/",
        "order-desk": "/admin/orders/fulfilment/",
        "order": f"/admin/orders/fulfilment/{fulfilment.pk}/change/",
    }
    sign_in(browser, live_server, t.owner_a.email)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for width in (NARROW, WIDE):
        viewport(browser, width)
        for name, url in pages.items():
            open_page(browser, f"{live_server.url}{url}")
            height = browser.execute_script("return document.documentElement.scrollHeight")
            browser.execute_cdp_cmd(
                "Emulation.setDeviceMetricsOverride",
                {
                    "width": width,
                    "height": min(height, 4000),
                    "deviceScaleFactor": 1,
                    "mobile": False,
                },
            )
            path = ARTIFACTS / f"{name}-{width}.png"
            assert browser.save_screenshot(str(path))
            assert path.stat().st_size > 10_000
            viewport(browser, width)
            assert browser.execute_script("return document.documentElement.scrollWidth") <= width
            # Tables scroll inside their box when too wide: the variants' own must fit.
            for table in browser.find_elements(By.CSS_SELECTOR, "#variants-data"):
                assert table.rect["x"] + table.rect["width"] <= width, name
