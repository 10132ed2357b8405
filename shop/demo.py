"""Demo catalog for the local run: two brands, their owners, products with stock."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction

from accounts.models import User
from accounts.otp import demo_key_hex, totp_device_ensure, totp_secret_base32
from shop.models import Brand, BrandMember, Product, StockMovement
from shop.services.catalog import product_upsert, variant_upsert
from shop.two_factor import two_factor_required

# Every demo account that must pass the second factor gets this well-known authenticator key.
DEMO_TOTP_KEY = demo_key_hex("tribe-demo-totp-key")
DEMO_TOTP_DEVICE = "demo authenticator"

BRANDS: list[dict[str, Any]] = [
    {
        "slug": "glow-labs",
        "name": "Glow Labs",
        "currency": "USD",
        "default_commission_rate": Decimal("12.00"),
        "shipping_flat_rate": Decimal("4.95"),
        "free_shipping_threshold": Decimal("50.00"),
        "owner": "owner@glow-labs.example",
        "products": [
            ("Vitamin C serum", "skincare", [("GLOW-VC-30", "30 ml", "24.00", 40)]),
            ("Overnight lip mask", "skincare", [("GLOW-LIP-1", "Berry", "16.00", 3)]),
            ("Dewy SPF 50", "skincare", [("GLOW-SPF-50", "50 ml", "29.00", 0)]),
        ],
    },
    {
        "slug": "north-thread",
        "name": "North Thread",
        "currency": "USD",
        "default_commission_rate": Decimal("10.00"),
        "shipping_flat_rate": Decimal("6.00"),
        "free_shipping_threshold": None,
        "owner": "owner@north-thread.example",
        "products": [
            (
                "Heavyweight hoodie",
                "apparel",
                [("NT-HOOD-S", "S", "58.00", 12), ("NT-HOOD-M", "M", "58.00", 20)],
            ),
            ("Everyday tote", "accessories", [("NT-TOTE", "Natural", "22.00", 100)]),
        ],
    },
]


def seed(*, password: str) -> list[str]:
    lines = []
    for spec in BRANDS:
        with transaction.atomic():
            brand, _ = Brand.objects.get_or_create(
                slug=spec["slug"],
                defaults={
                    key: spec[key]
                    for key in (
                        "name",
                        "currency",
                        "default_commission_rate",
                        "shipping_flat_rate",
                        "free_shipping_threshold",
                    )
                },
            )
            owner, created = User.objects.get_or_create(
                email=spec["owner"], defaults={"is_staff": True, "display_name": brand.name}
            )
            if created:
                owner.set_password(password)
                owner.save()
            BrandMember.objects.get_or_create(
                brand=brand, user=owner, defaults={"role": BrandMember.Role.OWNER}
            )
            for title, category, variants in spec["products"]:
                if Product.objects.filter(brand=brand, title=title).exists():
                    continue
                product = product_upsert(
                    brand=brand,
                    actor=owner,
                    title=title,
                    category=category,
                    status=Product.Status.ACTIVE,
                    description=f"{title} by {brand.name}.",
                    images=[
                        {
                            "url": f"https://picsum.photos/seed/{sku}/800/1000",
                            "width": 800,
                            "height": 1000,
                        }
                        for sku, *_ in variants[:1]
                    ],
                )
                for sku, variant_title, price, stock in variants:
                    variant_upsert(
                        product=product,
                        actor=owner,
                        sku=sku,
                        title=variant_title,
                        price=Decimal(price),
                        on_hand=stock,
                        stock_reason=StockMovement.Reason.INITIAL,
                    )
        lines.append(f"  Brand admin {settings.SITE_URL}/admin/   ({spec['owner']} / {password})")
    lines.append(f"  Catalog     {settings.SITE_URL}/api/v1/products/")
    lines.extend(seed_demo_authenticators())
    return lines


def seed_demo_authenticators() -> list[str]:
    """Give each demo account that can refund or pay out the demo's known TOTP device."""
    staff = [user for user in User.objects.filter(is_staff=True) if two_factor_required(user)]
    for user in staff:
        totp_device_ensure(user=user, key_hex=DEMO_TOTP_KEY, name=DEMO_TOTP_DEVICE)
    if not staff:
        return []
    return [
        "  Two-step    staff who can refund or pay out are asked for a code after the password:",
        "              make otp EMAIL=<email>   prints it, or add the key "
        f"{totp_secret_base32(DEMO_TOTP_KEY)} to an authenticator app",
    ]
