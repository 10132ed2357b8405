"""A fan buys on the web shop in headless Chromium on a 390x844 phone, against the live server.

Tap a creator's link, open the product, pick a variant, add to cart, check out, pay on the
emulator's Stripe.js stand-in (a plain card, and a 3-D Secure card), and see the order
status; and the sold-out path to the waitlist. Each step saves a screenshot under
artifacts/web-shop/ (gitignored), and each page is checked with axe-core (vendored in
tests/vendor, no network) for serious or critical violations, and for keyboard reach.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.wait import WebDriverWait

from creators.models import AffiliateLink
from orders.models import Order, WaitlistEntry
from shop.models import Product, Variant
from tests.browser import ARTIFACTS as BROWSER_ARTIFACTS
from tests.browser import chromium
from tests.creators.test_storefront_page import (
    make_creator,
    make_link,
    make_product,
    make_video,
)
from tests.shop.factories import BrandFactory, VariantFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

ARTIFACTS = BROWSER_ARTIFACTS / "web-shop"
AXE = Path(__file__).resolve().parents[1] / "vendor" / "axe-core" / "axe.min.js"
WAIT_SECONDS = 20
SWATCH = (
    "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='800' height='1000'%3E"
    "%3Crect width='800' height='1000' fill='%23{}'/%3E%3C/svg%3E"
)
PHONE_USER_AGENT = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Mobile Safari/537.36"
)
INTERACTIVE = "a[href], button, input:not([type=hidden]), select, textarea"


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    """Headless Chromium as a phone (390x844), JavaScript on, no network but ours."""
    options = webdriver.ChromeOptions()
    options.add_experimental_option(
        "mobileEmulation",
        {
            "deviceMetrics": {"width": 390, "height": 844, "pixelRatio": 2},
            # A phone's browser: headless Chromium's own user agent is counted as a bot.
            "userAgent": PHONE_USER_AGENT,
        },
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


class Journey:
    """One shopper's steps: screenshots named after the test, axe and keyboard checks."""

    def __init__(self, driver: WebDriver, request: pytest.FixtureRequest) -> None:
        self.driver = driver
        self.name = re.sub(r"\W+", "-", request.node.name).strip("-")
        self.step = 0

    def wait(self, condition: Any, what: str) -> Any:
        try:
            return WebDriverWait(self.driver, WAIT_SECONDS).until(condition)
        except TimeoutException:
            pytest.fail(f"Timed out waiting for {what} at {self.driver.current_url}")

    def shot(self, label: str) -> None:
        self.step += 1
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{self.name}-{self.step}-{label}.png"
        assert self.driver.save_screenshot(str(path))

    def check_page(self, label: str, *, axe_exclude: list[str] | None = None) -> None:
        """Screenshot, then no serious or critical axe violation and every control reachable."""
        self.shot(label)
        violations = self.axe(axe_exclude or [])
        assert violations == [], f"{label}: {violations}"
        unreachable = self.keyboard_unreachable()
        assert unreachable == [], f"{label}: not reachable by Tab: {unreachable}"

    def axe(self, exclude: list[str]) -> list[dict[str, Any]]:
        self.driver.execute_script(AXE.read_text())
        result = self.driver.execute_async_script(
            """
            const done = arguments[arguments.length - 1];
            const context = { exclude: arguments[0].map((s) => [s]) };
            axe.run(context.exclude.length ? context : document,
                    { runOnly: ['wcag2a', 'wcag2aa', 'best-practice'] })
              .then((r) => done(r.violations.map((v) => ({
                  id: v.id, impact: v.impact,
                  nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }))))
              .catch((e) => done([{ id: 'axe-error', impact: 'critical', nodes: [String(e)] }]));
            """,
            exclude,
        )
        return [v for v in result if v["impact"] in ("serious", "critical")]

    def keyboard_unreachable(self) -> list[str]:
        """Visible controls that Tab never reaches, from the top of the page."""
        wanted = self.driver.execute_script(
            """
            const all = [...document.querySelectorAll(arguments[0])].filter((el) =>
              !el.disabled && el.offsetParent !== null && el.tabIndex >= 0);
            // A radio group is one Tab stop (arrow keys move within it): mark it as one.
            const groups = {};
            let n = 0;
            all.forEach((el) => {
              if (el.type === 'radio') {
                const key = 'radio:' + el.name;
                if (!(key in groups)) groups[key] = String(n++);
                el.setAttribute('data-kb', groups[key]);
              } else {
                el.setAttribute('data-kb', String(n++));
              }
            });
            document.activeElement && document.activeElement.blur();
            window.scrollTo(0, 0);
            return n;
            """,
            INTERACTIVE,
        )
        seen: set[str] = set()
        for _ in range(wanted + 5):
            webdriver.ActionChains(self.driver).send_keys("\ue004").perform()  # Tab
            mark = self.driver.execute_script(
                "return document.activeElement && document.activeElement.getAttribute('data-kb');"
            )
            if mark is not None:
                seen.add(mark)
        missing = [str(i) for i in range(wanted) if str(i) not in seen]
        return [
            self.driver.execute_script(
                "const el = document.querySelector(`[data-kb='${arguments[0]}']`);"
                "return el.outerHTML.slice(0, 120);",
                i,
            )
            for i in missing
        ]


@pytest.fixture
def journey(browser: WebDriver, request: pytest.FixtureRequest) -> Journey:
    browser.delete_all_cookies()
    return Journey(browser, request)


def demo_shop() -> tuple[Product, AffiliateLink]:
    """Like the demo: a creator, a video tagging a product in three shades, one nearly gone."""
    creator = make_creator(avatar_url="")
    brand = BrandFactory.create(
        name="Glow Labs",
        currency="USD",
        shipping_flat_rate=Decimal("4.00"),
        free_shipping_threshold=Decimal("60.00"),
    )
    scrunchie = make_product(
        "Silk scrunchie",
        brand=brand,
        stock=[(30, 0)],
        price="18.00",
        image_url=SWATCH.format("c38d9e"),
    )
    scrunchie.variants.update(title="Blush")
    VariantFactory.create(
        product=scrunchie, title="Sage", price=Decimal("18.00"), on_hand=2, position=1
    )
    VariantFactory.create(
        product=scrunchie, title="Ink", price=Decimal("18.00"), on_hand=0, position=2
    )
    serum = make_product(
        "Vitamin C serum", brand=brand, price="24.00", image_url=SWATCH.format("e8a87c")
    )
    video = make_video(creator, thumbnail_url="", products=[(serum, 4), (scrunchie, 19)])
    return scrunchie, make_link(creator, scrunchie, video=video)


def type_card(journey: Journey, number: str) -> None:
    for name, value in {"cardnumber": number, "exp-date": "12 / 34", "cvc": "123"}.items():
        field = journey.wait(
            ec.visibility_of_element_located((By.CSS_SELECTOR, f"input[name={name}]")),
            f"the {name} input of the Payment Element",
        )
        field.send_keys(value)


def buy_up_to_payment(journey: Journey, live_server: Any) -> tuple[Product, AffiliateLink]:
    driver = journey.driver
    scrunchie, link = demo_shop()

    driver.get(f"{live_server.url}/r/{link.code}")
    featured = journey.wait(
        ec.presence_of_element_located((By.CSS_SELECTOR, "section.featured")), "the linked product"
    )
    assert "Silk scrunchie" in featured.text
    assert f"product={scrunchie.pk}&atk=" in driver.current_url
    journey.check_page("landing")

    featured.find_element(By.LINK_TEXT, "Details and videos").click()
    journey.wait(ec.presence_of_element_located((By.ID, "product-title")), "the product page")
    assert "at 0:19" in driver.find_element(By.TAG_NAME, "body").text
    journey.check_page("product")

    sage = driver.find_element(
        By.XPATH, "//label[contains(@class,'choice')][.//span[text()='Sage']]"
    )
    assert "Only 2 left" in sage.text
    ink = driver.find_element(By.XPATH, "//label[contains(@class,'choice')][.//span[text()='Ink']]")
    assert ink.find_element(By.TAG_NAME, "input").get_attribute("disabled") is not None
    sage.click()
    journey.shot("variant-picked")
    driver.find_element(By.CSS_SELECTOR, "form.buy button[type=submit]").click()

    journey.wait(ec.presence_of_element_located((By.ID, "totals")), "the cart page")
    body = driver.find_element(By.TAG_NAME, "body").text
    assert "Sage" in body
    assert "for free shipping" in body
    journey.check_page("cart")

    driver.find_element(By.ID, "checkout").click()
    journey.wait(ec.presence_of_element_located((By.ID, "checkout-form")), "the checkout form")
    for name, value in {
        "email": "fan@example.com",
        "name": "Fan One",
        "line1": "1 Main St",
        "city": "Springfield",
        "postal_code": "12345",
        "country": "us",
    }.items():
        driver.find_element(By.NAME, name).send_keys(value)
    journey.check_page("checkout")
    driver.find_element(By.ID, "continue").click()
    journey.wait(ec.visibility_of_element_located((By.ID, "pay")), "the payment page")
    return scrunchie, link


def wait_paid_then_status(journey: Journey, link: AffiliateLink) -> None:
    driver = journey.driver
    journey.wait(
        ec.presence_of_element_located((By.CSS_SELECTOR, "#state[data-status=paid]")),
        "the confirmation page to show the order paid",
    )
    journey.check_page("paid")
    order = Order.objects.get()
    assert order.status == Order.Status.PAID
    line = order.lines.get()
    assert line.attributed_link_id == link.pk
    assert line.attributed_creator_id == link.creator_id
    driver.find_element(By.LINK_TEXT, "Follow your order").click()
    journey.wait(
        ec.presence_of_element_located((By.CSS_SELECTOR, ".brand-part")), "the status page"
    )
    assert "Not shipped yet" in driver.find_element(By.TAG_NAME, "body").text
    journey.check_page("status")


def test_fan_taps_a_link_picks_a_variant_and_pays_by_card(journey, live_stripe, live_server):
    scrunchie, link = buy_up_to_payment(journey, live_server)
    type_card(journey, "4242 4242 4242 4242")
    journey.check_page("payment", axe_exclude=["#payment-element"])

    journey.driver.find_element(By.ID, "pay").click()

    wait_paid_then_status(journey, link)
    sage = Variant.objects.get(product=scrunchie, title="Sage")
    assert (sage.on_hand, sage.reserved) == (1, 0)


def test_fan_pays_with_a_three_d_secure_card(journey, live_stripe, live_server):
    _, link = buy_up_to_payment(journey, live_server)
    type_card(journey, "4000 0025 0000 3155")

    journey.driver.find_element(By.ID, "pay").click()
    complete = journey.wait(
        ec.element_to_be_clickable((By.ID, "stripe-emulator-3ds-complete")),
        "the 3-D Secure challenge",
    )
    journey.shot("3ds-challenge")
    assert Order.objects.get().status == Order.Status.PENDING_PAYMENT
    complete.click()

    wait_paid_then_status(journey, link)


def test_fan_lands_on_a_sold_out_product_and_joins_the_waitlist(journey, live_server):
    creator = make_creator(avatar_url="")
    gone = make_product("Dewy SPF 50", stock=[(0, 0)], image_url=SWATCH.format("41b3a3"))
    link = make_link(creator, gone)
    driver = journey.driver

    driver.get(f"{live_server.url}/r/{link.code}")
    featured = journey.wait(
        ec.presence_of_element_located((By.CSS_SELECTOR, "section.featured")), "the linked product"
    )
    assert "Sold out" in featured.text
    journey.check_page("sold-out")
    featured.find_element(By.NAME, "email").send_keys("fan@example.com")
    featured.find_element(By.CSS_SELECTOR, "form.notify button").click()

    journey.wait(
        ec.text_to_be_present_in_element((By.TAG_NAME, "body"), "You are on the list"), "the join"
    )
    journey.shot("waitlist-joined")
    entry = WaitlistEntry.objects.get()
    assert entry.email == "fan@example.com"
    assert entry.attribution_link_id == link.pk
