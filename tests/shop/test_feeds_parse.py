"""Reading feed bodies: every row is validated, bad ones are named with their row number."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest

from shop.feeds.parse import FeedFormatError, parse_as_of, parse_feed

MAPPING = {"sku": "sku", "quantity": "quantity"}


def parse(body: str | bytes, fmt: str = "csv", mapping=MAPPING):
    data = body.encode() if isinstance(body, str) else body
    return parse_feed(io.BytesIO(data), fmt=fmt, mapping=mapping)


def test_csv_with_bom_crlf_quotes_and_extra_columns():
    feed = parse('\ufeffname,sku,quantity\r\n"Tee, red",A,3\r\nMug,B, 4 \r\n\r\n')

    assert feed.quantities == {"A": 3, "B": 4}
    assert (feed.rows, feed.invalid) == (2, 0)


def test_a_csv_row_with_the_wrong_number_of_cells_is_invalid():
    feed = parse("sku,quantity\nA,1\nB\nC,2,extra\n")

    assert feed.quantities == {"A": 1}
    assert [(e["row"], e["code"]) for e in feed.errors] == [
        (3, "wrong_columns"),
        (4, "wrong_columns"),
    ]


def test_json_list_at_top_level_and_quantity_types():
    body = (
        '[{"sku": "A", "quantity": 2.0}, {"sku": 7, "quantity": "5"}, '
        '{"sku": "B", "quantity": true}, {"sku": "C", "quantity": 1e12}, {"sku": "D"}, "oops"]'
    )

    feed = parse(body, fmt="json")

    assert feed.quantities == {"A": 2, "7": 5}
    assert [(e["row"], e["code"]) for e in feed.errors] == [
        (3, "not_a_number"),
        (4, "too_large"),
        (5, "missing_quantity"),
        (6, "not_an_object"),
    ]
    assert feed.rows == 6


def test_a_duplicate_sku_makes_every_one_of_its_rows_invalid():
    feed = parse("sku,quantity\nA,1\nB,2\nA,1\nA,3\n")

    assert feed.quantities == {"B": 2}
    assert feed.invalid == 3
    assert sorted(e["row"] for e in feed.errors) == [2, 4, 5]


def test_only_the_first_fifty_errors_are_kept_but_all_are_counted():
    feed = parse("sku,quantity\n" + "".join(f"S{i},-1\n" for i in range(120)))

    assert (feed.invalid, len(feed.errors)) == (120, 50)


def test_json_as_of_and_custom_items_key():
    body = '{"generated": "2025-05-01T09:30:00Z", "stock": [{"sku": "A", "quantity": 1}]}'

    feed = parse(body, fmt="json", mapping=MAPPING | {"items": "stock", "as_of": "generated"})

    assert feed.as_of == datetime(2025, 5, 1, 9, 30, tzinfo=UTC)
    assert feed.quantities == {"A": 1}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-05-01T09:30:00+02:00", datetime(2025, 5, 1, 7, 30, tzinfo=UTC)),
        ("2025-05-01 09:30:00", datetime(2025, 5, 1, 9, 30, tzinfo=UTC)),
        ("Thu, 01 May 2025 09:30:00 GMT", datetime(2025, 5, 1, 9, 30, tzinfo=UTC)),
        ("yesterday", None),
        ("", None),
        (None, None),
    ],
)
def test_as_of_formats(text, expected):
    assert parse_as_of(text) == expected


def test_an_unterminated_quote_swallowing_the_file_is_unreadable():
    with pytest.raises(FeedFormatError, match="line"):
        parse('sku,quantity\nA,1\n"B' + "x" * 200_000)
