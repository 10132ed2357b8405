"""The OpenAPI schema is the contract: it documents the errors the API gives, and the API
refuses what the schema calls invalid."""

from __future__ import annotations

from typing import Any

import jsonschema_rs
import pytest
from django.core.management import call_command
from drf_spectacular.generators import SchemaGenerator

from tests.shop.factories import ProductFactory


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def operation(schema: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    return schema["paths"][path][method]


def test_the_schema_builds_without_warnings(tmp_path):
    call_command("spectacular", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))


def test_every_throttled_operation_documents_429_and_every_authenticated_one_401(schema):
    for path, methods in schema["paths"].items():
        for method, op in methods.items():
            if path != "/api/v1/webhooks/stripe/":  # Stripe's: no authentication, no throttle
                assert "429" in op["responses"], (method, path)
            if any(scheme for scheme in op.get("security", [])):
                assert "401" in op["responses"], (method, path)


def test_sign_in_documents_its_400_401_and_429(schema):
    responses = operation(schema, "/api/v1/auth/token/", "post")["responses"]
    assert {"400", "401", "429"} <= set(responses)
    error = responses["401"]["content"]["application/json"]["schema"]
    assert error["$ref"].endswith("/ErrorSchema")


def test_the_stripe_webhook_documents_only_what_it_can_answer(schema):
    responses = operation(schema, "/api/v1/webhooks/stripe/", "post")["responses"]
    assert set(responses) == {"200", "400"}


def test_lists_document_a_bad_page_size_and_cursor(schema):
    op = operation(schema, "/api/v1/products/", "get")
    page_size = next(p for p in op["parameters"] if p["name"] == "page_size")
    assert page_size["schema"] == {"type": "integer", "minimum": 1}
    assert {"400", "404"} <= set(op["responses"])


@pytest.mark.django_db
@pytest.mark.parametrize("page_size", ["null", "", "0", "-3", "2.5", "ten"])
def test_a_page_size_that_is_not_a_whole_number_from_1_is_400(api_client, page_size):
    response = api_client.get("/api/v1/products/", {"page_size": page_size})
    assert response.status_code == 400
    assert "page_size" in response.json()["error"]["fields"]


@pytest.mark.django_db
@pytest.mark.parametrize(("asked", "served"), [("2", 2), ("007", 3), ("1000", 3), ("9" * 50, 3)])
def test_a_whole_page_size_is_served_capped(api_client, settings, asked, served):
    ProductFactory.create_batch(3)
    response = api_client.get("/api/v1/products/", {"page_size": asked})
    assert response.status_code == 200
    assert len(response.json()["results"]) == served


@pytest.mark.parametrize(
    ("component", "field"), [("MeCreator", "avatar_url"), ("MeVideo", "thumbnail_url")]
)
def test_a_url_sent_empty_when_there_is_none_is_documented_as_a_uri_or_empty(
    schema, component, field
):
    documented = schema["components"]["schemas"][component]["properties"][field]
    validator = jsonschema_rs.Draft4Validator(documented, validate_formats=True)
    assert validator.is_valid("")
    assert validator.is_valid("https://cdn.example.com/a.jpg")
    assert not validator.is_valid("not a url")
    assert documented["readOnly"] is True
