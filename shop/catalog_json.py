"""The public product list page as JSON, from stored list entries and live stock (PostgreSQL).

An uncached list page is the catalog's hot path when a spike spreads over many filters.
Rendering 20 products with their variants and images, in Python or with PostgreSQL's JSON
functions, costs milliseconds per page. Instead each product's entry is stored as JSON text
(`ProductListing`, rebuilt by triggers whenever a field it shows changes), cut where the
live stock goes, and the list query splices each variant's stock in: a page is one query,
and Python only joins the products' texts. The output is held to `ProductPublicSerializer`
by tests.

A row without a stored entry (none is expected: triggers write it with the product), or
whose entry disagrees with its variants, is rendered by `shop_listing_build` in one more
query, so the page is still right.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.db import connection
from django.db.models import F, Func, TextField

# One product's list JSON from its stored entry (head, mid, tail, variant_heads) and its
# variants' live stock, zipped in list order; NULL when there is no entry or it does not
# have one head per variant. The stock rules are shop.api.serializers.stock_state's.
_SPLICE_SQL = """(
SELECT CASE WHEN %(head)s IS NULL OR count(h.n) <> count(s.n) THEN NULL ELSE
    %(head)s || CASE WHEN bool_or(s.available > 0) THEN 'true' ELSE 'false' END || %(mid)s
    || coalesce(string_agg(
        h.head || s.available || ', "stock_state" : "' || s.state || '"}', ', ' ORDER BY h.n
    ), '') || %(tail)s END
FROM jsonb_array_elements_text(%(variant_heads)s) WITH ORDINALITY AS h(head, n)
FULL JOIN (
    SELECT row_number() OVER (ORDER BY v.position, v.id) AS n,
        greatest(v.on_hand - v.reserved, 0) AS available,
        CASE WHEN v.on_hand <= v.reserved THEN 'sold_out'
             WHEN v.on_hand <= v.reserved + v.low_stock_threshold THEN 'low_stock'
             ELSE 'in_stock' END AS state
    FROM shop_variant v WHERE v.product_id = %(product_id)s
) AS s USING (n)
)"""

_PARTS = ("product_id", "head", "mid", "tail", "variant_heads")

# Built from module constants only (no input): the one parameter is the id array.
_BUILD_SQL = "SELECT b.product_id, {} FROM shop_listing_build(%s::bigint[]) AS b".format(  # noqa: S608
    _SPLICE_SQL % {part: f"b.{part}" for part in _PARTS}
)


class ListingJSON(Func):
    """A public product's list JSON with live stock, from its stored entry (PostgreSQL)."""

    output_field = TextField()

    def __init__(self) -> None:
        super().__init__(
            F("pk"),
            F("listing__head"),
            F("listing__mid"),
            F("listing__tail"),
            F("listing__variant_heads"),
        )

    def as_sql(
        self,
        compiler: Any,
        connection: Any,
        function: str | None = None,
        template: str | None = None,
        arg_joiner: str | None = None,
        **extra_context: Any,
    ) -> tuple[str, list[str | int]]:
        # The sources are plain columns: they compile to SQL without parameters.
        columns = {
            part: compiler.compile(expression)[0]
            for part, expression in zip(_PARTS, self.get_source_expressions(), strict=True)
        }
        return _SPLICE_SQL % columns, []


def supported() -> bool:
    return connection.vendor == "postgresql"


def _rendered(ids: Sequence[int]) -> dict[int, str]:
    with connection.cursor() as cursor:
        cursor.execute(_BUILD_SQL, [list(ids)])
        return dict(cursor.fetchall())


def page_json(rows: Iterable[Mapping[str, Any]]) -> str:
    """The JSON array of the rows' products; rows have `id` and `listing_json`."""
    rows = list(rows)
    missing = [row["id"] for row in rows if row["listing_json"] is None]
    rendered = _rendered(missing) if missing else {}
    # A product deleted since the page was read has nothing rendered: it is left out.
    items = (row["listing_json"] or rendered.get(row["id"]) for row in rows)
    return "[" + ", ".join(item for item in items if item is not None) + "]"
