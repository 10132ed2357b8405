"""What a fan's phone downloads per web-shop page: HTML + CSS + our own JS, gzip-compressed.

    python -m bench.bench_page_weight [--reuse-db]

Seeds the demo (the same data `make run` shows), then renders each page of a fan's journey
in this process through the full middleware stack: home, the storefront a link lands on
(linked product open), the product page, the cart with two lines, and the checkout form.
CSS is inline and the pages load no script of ours, so a page's own weight is its HTML;
product images and Stripe.js are excluded (the payment page is the existing one and needs
Stripe, so it is left out). Reports raw and gzip-6 bytes against the 60 KB target; sizes are
written, never asserted.

Uses its own database, `tribe_bench_pages` (recreated unless --reuse-db); DATABASE_URL
overrides it.
"""

from __future__ import annotations

import argparse
import gzip
import os
import re
import sys
from typing import Any

from bench.common import (
    add_common_arguments,
    django_setup,
    prepare_database,
    print_table,
    use_database,
    write_results,
)

NAME = "page_weight"
TARGET_BYTES = 60 * 1024
DATABASE_URL = "postgres://postgres@127.0.0.1:5432/tribe_bench_pages"
MOBILE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)


def _seed() -> None:
    from django.conf import settings
    from django.core.management import call_command

    settings.DEMO_SEED_ALLOWED = True
    with open(os.devnull, "w") as quiet:
        call_command("seed_demo", stdout=quiet)


def _journey() -> list[tuple[str, str, Any]]:
    """(page, path, response) for each page of one fan's journey on the demo data."""
    from django.test import Client

    from creators.models import AffiliateLink

    client = Client(HTTP_USER_AGENT=MOBILE_UA, SERVER_NAME="127.0.0.1")
    link = (
        AffiliateLink.objects.filter(is_active=True, product__variants__on_hand__gt=5)
        .select_related("creator")
        .order_by("pk")
        .first()
    )
    if link is None:
        raise SystemExit("The demo has no active link to a product in stock.")
    pages: list[tuple[str, str, Any]] = [("home", "/", client.get("/"))]
    landing = client.get(f"/r/{link.code}")["Location"]
    pages.append(("storefront (landed)", landing.split("#")[0], client.get(landing)))
    product_path = f"/@{link.creator.handle}/p/{link.product_id}"
    product = client.get(product_path)
    pages.append(("product", product_path, product))
    sku = re.search(r'name="sku" value="([^"]+)"', product.content.decode())
    if sku is None:
        raise SystemExit(f"{product_path} offers nothing to add.")
    added = client.post(
        "/cart/add/", {"sku": sku.group(1), "quantity": 1, "shop": link.creator.handle}
    )
    cart_path = added["Location"]
    token = cart_path.split("/")[2]
    other = (
        AffiliateLink.objects.filter(creator=link.creator, product__variants__on_hand__gt=5)
        .exclude(product=link.product)
        .values_list("product__variants__sku", flat=True)
        .first()
    )
    if other:
        client.post(f"/cart/{token}/add/", {"sku": other, "quantity": 1})
    pages.append(("cart", cart_path, client.get(cart_path)))
    checkout_path = f"/cart/{token}/checkout/"
    pages.append(("checkout form", checkout_path, client.get(checkout_path)))
    return pages


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser)
    args = parser.parse_args(argv)
    django_setup()
    use_database(DATABASE_URL)
    if prepare_database(reuse=args.reuse_db):
        _seed()
    rows = []
    for page, path, response in _journey():
        if response.status_code != 200:
            raise SystemExit(f"{path} answered {response.status_code}")
        body = response.content
        compressed = len(gzip.compress(body, compresslevel=6))
        scripts = len(re.findall(rb"<script\b", body))
        rows.append(
            {
                "page": page,
                "path": re.sub(r"(atk|cart)=[^&]+", r"\1=…", path),
                "html_bytes": len(body),
                "gzip_bytes": compressed,
                "gzip_kb": compressed / 1024,
                "scripts": scripts,
                "within_target": compressed <= TARGET_BYTES,
            }
        )
    print_table(rows, ["page", "html_bytes", "gzip_bytes", "gzip_kb", "scripts", "within_target"])
    path = write_results(NAME, {"target_bytes": TARGET_BYTES, "pages": rows})
    print(f"\nTarget: {TARGET_BYTES // 1024} KB compressed per page. Results: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
