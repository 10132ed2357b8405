"""The public product list page as JSON, from stored list entries and live stock (PostgreSQL).

An uncached list page is the catalog's hot path when a spike spreads over many filters.
Rendering 20 products with their variants and images, in Python or with PostgreSQL's JSON
functions, costs milliseconds per page. Instead each product's entry is stored as a JSON
template (`ProductListing`, rebuilt by triggers whenever a field it shows changes) with a
`%s` slot for each live stock value. The page query reads each product's template and its
variants' stock fragments, in list order; Python fills the slots with one `%` formatting and
joins the products' texts. A page is one query. The output is held to
`ProductPublicSerializer` by tests.

A row without a stored entry (none is expected: triggers write it with the product), or
whose entry does not have one slot per variant, is rendered from `shop_listing_build` in one
more query, so the page is still right.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.db import connections, router
from django.db.models import F, Func, TextField

from shop.models import Product

# Between two variants' stock fragments: a control character, which JSON text never holds raw.
SEPARATOR = "\x1e"

# A product's variants' stock as JSON fragments ("available" on, closing the variant), in list
# order, joined by SEPARATOR. The stock rules are shop.api.serializers.stock_state's.
_STOCK_SQL = """array_to_string(ARRAY(
    SELECT greatest(v.on_hand - v.reserved, 0) || ', "stock_state" : "'
        || CASE WHEN v.on_hand <= v.reserved THEN 'sold_out'
                WHEN v.on_hand <= v.reserved + v.low_stock_threshold THEN 'low_stock'
                ELSE 'in_stock' END || '"}'
    FROM shop_variant v WHERE v.product_id = %(product_id)s ORDER BY v.position, v.id
), E'\\x1e')"""

# Built from module constants only (no input): the one parameter is the id array.
_BUILD_SQL = "SELECT b.product_id, b.template, {stock} FROM {build} AS b".format(  # noqa: S608
    stock=_STOCK_SQL % {"product_id": "b.product_id"},
    build="shop_listing_build(%s::bigint[])",
)


class ListingStock(Func):
    """A product's variants' live stock fragments, for its stored template (PostgreSQL)."""

    output_field = TextField()

    def __init__(self) -> None:
        super().__init__(F("pk"))

    def as_sql(
        self,
        compiler: Any,
        connection: Any,
        function: str | None = None,
        template: str | None = None,
        arg_joiner: str | None = None,
        **extra_context: Any,
    ) -> tuple[str, list[str | int]]:
        # The source is the primary key column: it compiles to SQL without parameters.
        product_id = compiler.compile(self.get_source_expressions()[0])[0]
        return _STOCK_SQL % {"product_id": product_id}, []


def entry(template: str | None, stock: str) -> str | None:
    """The product's list JSON: its template filled with its stock; None if they disagree."""
    if not template:
        return None
    fragments = stock.split(SEPARATOR) if stock else []
    in_stock = "false"
    for fragment in fragments:
        if not fragment.startswith("0,"):
            in_stock = "true"
            break
    try:
        return template % (in_stock, *fragments)
    except (TypeError, ValueError):  # not one slot per variant
        return None


def _rendered(ids: Sequence[int]) -> dict[int, str | None]:
    # The server the page's own query read (a replica, when common.replica routes it there).
    with connections[router.db_for_read(Product)].cursor() as cursor:
        cursor.execute(_BUILD_SQL, [list(ids)])
        return {product_id: entry(template, stock) for product_id, template, stock in cursor}


def page_json(rows: Iterable[Mapping[str, Any]]) -> str:
    """The JSON array of the rows' products; rows have `id`, `listing_template`, `listing_stock`."""
    rows = list(rows)
    items = [entry(row["listing_template"], row["listing_stock"]) for row in rows]
    missing = [row["id"] for row, item in zip(rows, items, strict=True) if item is None]
    if missing:
        rendered = _rendered(missing)
        # A product deleted since the page was read has nothing rendered: it is left out.
        items = [item or rendered.get(row["id"]) for row, item in zip(rows, items, strict=True)]
    return "[" + ", ".join(item for item in items if item is not None) + "]"
