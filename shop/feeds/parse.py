"""Read a feed body (CSV or JSON) into validated rows; every bad row is counted and named.

Row numbers are what a person finds in the file: the CSV line (the header is line 1), or
the 1-based position in the JSON list. A SKU listed more than once is ambiguous, so none of
its rows is applied.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import IO, Any

from django.utils.dateparse import parse_datetime

from shop.models import MAX_ON_HAND

MAX_QUANTITY = MAX_ON_HAND
MAX_SKU_LENGTH = 64
MAX_ERRORS = 50
_INTEGER = re.compile(r"^[+-]?\d+$")


class FeedFormatError(Exception):
    """The body as a whole cannot be read (not CSV/JSON, missing columns, wrong encoding)."""


@dataclass
class RowError:
    row: int
    sku: str
    code: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "sku": self.sku, "code": self.code, "message": self.message}


@dataclass
class ParsedFeed:
    quantities: dict[str, int] = field(default_factory=dict)
    row_of: dict[str, int] = field(default_factory=dict)
    rows: int = 0
    invalid: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    as_of: datetime | None = None

    def error(self, row: int, sku: str, code: str, message: str) -> None:
        self.invalid += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(RowError(row, sku, code, message).as_dict())


def parse_as_of(value: Any) -> datetime | None:
    """An ISO 8601 or HTTP date; naive times are UTC. None if absent or unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    parsed: datetime | None
    try:
        parsed = parse_datetime(text)
    except ValueError:
        parsed = None
    if parsed is None:
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _quantity(value: Any) -> tuple[int | None, str, str]:
    """(quantity, error code, message)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, "missing_quantity", "No quantity."
    if isinstance(value, bool):
        return None, "not_a_number", f"Quantity {value!r} is not a whole number."
    if isinstance(value, float):
        if not value.is_integer():
            return None, "not_a_number", f"Quantity {value!r} is not a whole number."
        value = int(value)
    if isinstance(value, str):
        text = value.strip()
        if not _INTEGER.match(text):
            return None, "not_a_number", f"Quantity {text[:40]!r} is not a whole number."
        value = int(text)
    if not isinstance(value, int):
        return None, "not_a_number", "Quantity is not a whole number."
    if value < 0:
        return None, "negative", f"Quantity {value} is negative."
    if value > MAX_QUANTITY:
        return None, "too_large", f"Quantity {value} is too large."
    return value, "", ""


def _sku(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return ""
    return str(value).strip()


class _Collector:
    def __init__(self) -> None:
        self.feed = ParsedFeed()
        self._ambiguous: set[str] = set()

    def add(self, row: int, raw_sku: Any, raw_quantity: Any) -> None:
        feed = self.feed
        feed.rows += 1
        sku = _sku(raw_sku)
        if not sku:
            feed.error(row, "", "missing_sku", "No SKU.")
            return
        if len(sku) > MAX_SKU_LENGTH:
            feed.error(row, sku[:MAX_SKU_LENGTH], "sku_too_long", "The SKU is too long.")
            return
        if sku in feed.row_of or sku in self._ambiguous:
            first = feed.row_of.pop(sku, None)
            if first is not None:
                feed.quantities.pop(sku)
                self._ambiguous.add(sku)
                feed.error(first, sku, "duplicate_sku", "This SKU is listed more than once.")
            feed.error(row, sku, "duplicate_sku", "This SKU is listed more than once.")
            return
        quantity, code, message = _quantity(raw_quantity)
        if quantity is None:
            feed.error(row, sku, code, message)
            # A later row with the same SKU is still a duplicate, even if this one was bad.
            self._ambiguous.add(sku)
            return
        feed.quantities[sku] = quantity
        feed.row_of[sku] = row


def parse_feed(body: IO[bytes], *, fmt: str, mapping: dict[str, Any]) -> ParsedFeed:
    """Parse and validate a whole body; FeedFormatError if it cannot be read at all."""
    sku_key = str(mapping.get("sku") or "sku")
    quantity_key = str(mapping.get("quantity") or "quantity")
    text = io.TextIOWrapper(body, encoding="utf-8-sig", newline="")
    try:
        if fmt == "csv":
            return _parse_csv(text, sku_key, quantity_key)
        return _parse_json(text, sku_key, quantity_key, mapping)
    except UnicodeDecodeError as exc:
        raise FeedFormatError(f"The feed is not UTF-8 text: {exc.reason}.") from exc
    finally:
        text.detach()


def _parse_csv(text: io.TextIOWrapper, sku_key: str, quantity_key: str) -> ParsedFeed:
    reader = csv.reader(text)
    collector = _Collector()
    try:
        header = next(reader, None)
        if header is None:
            raise FeedFormatError("The CSV feed is empty.")
        names = [name.strip() for name in header]
        missing = [key for key in (sku_key, quantity_key) if key not in names]
        if missing:
            raise FeedFormatError(f"The CSV header has no column {', '.join(missing)}.")
        sku_at, quantity_at = names.index(sku_key), names.index(quantity_key)
        for record in reader:
            if not any(cell.strip() for cell in record):
                continue
            if len(record) != len(names):
                collector.feed.rows += 1
                collector.feed.error(
                    reader.line_num, "", "wrong_columns", f"Expected {len(names)} columns."
                )
                continue
            collector.add(reader.line_num, record[sku_at], record[quantity_at])
    except csv.Error as exc:
        raise FeedFormatError(f"Not valid CSV at line {reader.line_num}: {exc}.") from exc
    return collector.feed


def _parse_json(
    text: io.TextIOWrapper, sku_key: str, quantity_key: str, mapping: dict[str, Any]
) -> ParsedFeed:
    try:
        document = json.load(text)
    except json.JSONDecodeError as exc:
        raise FeedFormatError(f"Not valid JSON at line {exc.lineno}: {exc.msg}.") from exc
    items_key = str(mapping.get("items") or "items")
    as_of: datetime | None = None
    if isinstance(document, dict):
        as_of = parse_as_of(document.get(str(mapping.get("as_of") or "as_of")))
        document = document.get(items_key)
    if not isinstance(document, list):
        raise FeedFormatError(f'The JSON feed is neither a list nor an object with "{items_key}".')
    collector = _Collector()
    collector.feed.as_of = as_of
    for position, item in enumerate(document, start=1):
        if not isinstance(item, dict):
            collector.feed.rows += 1
            collector.feed.error(position, "", "not_an_object", "Each row must be an object.")
            continue
        collector.add(position, item.get(sku_key), item.get(quantity_key))
    return collector.feed
