"""Deep-link documents: iOS universal links and Android App Links, from settings."""

from __future__ import annotations

AASA = "/.well-known/apple-app-site-association"
ASSETLINKS = "/.well-known/assetlinks.json"


def test_apple_document_lists_storefront_and_link_paths_for_each_app(client, settings):
    settings.APPLE_APP_IDS = ["ABCDE12345.com.tribe.app", "ABCDE12345.com.tribe.beta"]

    response = client.get(AASA)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    details = response.json()["applinks"]["details"]
    assert [d["appID"] for d in details] == settings.APPLE_APP_IDS
    for entry in details:
        assert entry["appIDs"] == [entry["appID"]]
        assert entry["paths"] == ["/@*", "/r/*"]
        assert entry["components"] == [{"/": "/@*"}, {"/": "/r/*"}]
    assert response.json()["applinks"]["apps"] == []


def test_apple_document_without_apps_is_valid_and_empty(client, settings):
    settings.APPLE_APP_IDS = []

    response = client.get(AASA)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"applinks": {"apps": [], "details": []}}


def test_android_document_delegates_all_urls_to_the_app(client, settings):
    settings.ANDROID_APP_PACKAGE = "com.tribe.app"
    settings.ANDROID_CERT_FINGERPRINTS = ["AA:BB:CC", "DD:EE:FF"]

    response = client.get(ASSETLINKS)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == [
        {
            "relation": ["delegate_permission/common.handle_all_urls"],
            "target": {
                "namespace": "android_app",
                "package_name": "com.tribe.app",
                "sha256_cert_fingerprints": ["AA:BB:CC", "DD:EE:FF"],
            },
        }
    ]


def test_android_document_without_an_app_is_an_empty_list(client, settings):
    settings.ANDROID_APP_PACKAGE = ""
    settings.ANDROID_CERT_FINGERPRINTS = []

    response = client.get(ASSETLINKS)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json() == []


def test_documents_are_served_without_a_redirect_and_cacheable(client):
    for path in (AASA, ASSETLINKS):
        response = client.get(path, follow=False)

        assert response.status_code == 200
        assert "max-age=3600" in response["Cache-Control"]


def test_documents_only_answer_reads(client):
    assert client.post(AASA).status_code == 405
    assert client.post(ASSETLINKS).status_code == 405
