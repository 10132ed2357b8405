"""Path converters that refuse at the edge what the database would choke on."""

from __future__ import annotations

from django.urls import register_converter
from django.urls.converters import StringConverter


class TextConverter(StringConverter):
    """A non-empty path segment without NUL (PostgreSQL refuses NUL in text): else a 404."""

    regex = r"[^/\x00]+"


def register() -> None:
    register_converter(TextConverter, "text")
