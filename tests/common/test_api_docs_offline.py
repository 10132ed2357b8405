"""The API docs load nothing from a CDN: Swagger UI and ReDoc are served from our static files."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

pytestmark = pytest.mark.django_db

ASSET = re.compile(r"""(?:src|href)\s*=\s*["']([^"']+)["']|url\(\s*["']?([^"')]+)""")
SCRIPT_URL = re.compile(r"""["'](https?:)?//[^"'\s]+["']""")


def referenced(html: str) -> list[str]:
    return [a or b for a, b in ASSET.findall(html)]


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_the_docs_page_references_no_external_host(client: Client, path: str):
    response = client.get(path)
    assert response.status_code == 200
    html = response.content.decode()

    assets = referenced(html)
    external = [url for url in assets if urlsplit(url).netloc]
    inline_urls = SCRIPT_URL.findall(html)

    assert assets, "the page should load its viewer's assets"
    assert external == []
    assert inline_urls == []


@pytest.mark.parametrize("path", ["/api/docs/", "/api/redoc/"])
def test_every_static_asset_of_the_docs_page_is_shipped(client: Client, path: str, settings):
    html = client.get(path).content.decode()
    static = [url for url in referenced(html) if url.startswith(settings.STATIC_URL)]

    assert static
    for url in static:
        assert finders.find(url.removeprefix(settings.STATIC_URL)), url


def test_swagger_ui_asks_no_online_validator(client: Client):
    html = client.get("/api/docs/").content.decode()

    assert '"validatorUrl": null' in html
