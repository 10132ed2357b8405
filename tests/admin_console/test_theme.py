"""Every admin page wears the maintained theme, and the sidebar groups a brand's work by task."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.test import Client
from unfold.admin import BaseInlineMixin as UnfoldInline
from unfold.admin import ModelAdmin as UnfoldModelAdmin

from config.admin_navigation import SIDEBAR_GROUPS, registered_admin
from shop.models import BrandMember
from tests.factories import UserFactory
from tests.shop.factories import BrandFactory, BrandMemberFactory

pytestmark = pytest.mark.django_db

BRAND_GROUPS = ["Catalog", "Orders", "Creators", "Money", "Settings"]


def test_every_registered_admin_and_inline_uses_the_theme_classes():
    plain = [
        f"{model._meta.label}: {type(model_admin).__name__}"
        for model, model_admin in admin.site._registry.items()
        if not isinstance(model_admin, UnfoldModelAdmin)
    ]
    plain_inlines = [
        f"{model._meta.label}: {inline.__name__}"
        for model, model_admin in admin.site._registry.items()
        for inline in model_admin.inlines
        if not issubclass(inline, UnfoldInline)
    ]
    assert plain == []
    assert plain_inlines == []


def test_celery_beat_and_import_export_admins_are_themed():
    from django_celery_beat.models import PeriodicTask
    from unfold.contrib.import_export.forms import ImportForm, SelectableFieldsExportForm

    from shop.models import Product

    assert isinstance(admin.site.get_model_admin(PeriodicTask), UnfoldModelAdmin)
    product_admin: Any = admin.site.get_model_admin(Product)
    assert product_admin.import_form_class is ImportForm
    assert product_admin.export_form_class is SelectableFieldsExportForm


def test_every_sidebar_entry_names_one_registered_model():
    names = [entry[2] for _, entries in SIDEBAR_GROUPS for entry in entries]
    assert len(names) == len(set(names))
    registered = [model._meta.model_name for model in admin.site._registry]
    for name in names:
        assert registered.count(name) == 1, name
        assert registered_admin(name) is not None


def sidebar(client: Client) -> dict[str, list[str]]:
    response = client.get("/admin/")
    assert response.status_code == 200
    return {
        group["title"]: [item["title"] for item in group["items"] if item["has_permission"]]
        for group in response.context["sidebar_navigation"]
    }


def test_brand_staff_see_their_tasks_and_none_of_the_platforms_pages(client: Client):
    member = BrandMemberFactory.create(brand=BrandFactory.create(), role=BrandMember.Role.MANAGER)
    client.force_login(member.user)

    groups = sidebar(client)

    assert [title for title, items in groups.items() if items] == BRAND_GROUPS
    assert "Products" in groups["Catalog"]
    assert "Order desk" in groups["Orders"]
    assert "Settlements" in groups["Money"]
    assert "Brand and team" in groups["Settings"]
    # Superuser-only pages are not offered to brand staff.
    assert "All orders" not in groups["Orders"]
    assert "All creators" not in groups["Creators"]
    assert groups["Platform"] == []


def test_every_link_the_sidebar_offers_brand_staff_opens(client: Client):
    member = BrandMemberFactory.create(brand=BrandFactory.create(), role=BrandMember.Role.VIEWER)
    client.force_login(member.user)
    response = client.get("/admin/")
    links = [
        str(item["link"])
        for group in response.context["sidebar_navigation"]
        for item in group["items"]
        if item["has_permission"]
    ]
    assert links
    for link in links:
        assert client.get(link).status_code == 200, link


def test_superusers_see_the_platform_group(client: Client):
    client.force_login(UserFactory.create(is_staff=True, is_superuser=True))

    groups = sidebar(client)

    assert "Users" in groups["Platform"]
    assert "Periodic tasks" in groups["Platform"]
    assert "All orders" in groups["Orders"]


def test_admin_pages_are_drawn_by_the_theme(client: Client):
    member = BrandMemberFactory.create(brand=BrandFactory.create(), role=BrandMember.Role.OWNER)
    client.force_login(member.user)

    page = client.get("/admin/shop/product/").content.decode()

    assert "/static/unfold/" in page
    assert "nav-sidebar-apps" in page


def test_admin_pages_load_their_scripts_styles_and_fonts_from_our_static_files(client: Client):
    import re
    from urllib.parse import urlsplit

    member = BrandMemberFactory.create(brand=BrandFactory.create(), role=BrandMember.Role.OWNER)
    client.force_login(member.user)
    assets: list[str] = []
    for path in ("/admin/", "/admin/shop/product/", "/admin/shop/product/add/", "/admin/login/"):
        html = client.get(path).content.decode()
        assets += re.findall(r"<script[^>]*\ssrc=\"([^\"]+)\"", html)
        assets += re.findall(r"<link[^>]*\shref=\"([^\"]+)\"", html)

    assert any("/static/unfold/" in url for url in assets)
    assert [url for url in assets if urlsplit(url).netloc] == []
