"""The public product list built as JSON by PostgreSQL in one query.

An uncached list page is the catalog's hot path when a spike spreads over many filters.
Building 20 products with their variants and images as Django models and serializing them
costs milliseconds of Python; PostgreSQL's JSON functions do it in one round trip. The
output is held to `product_public_data` (and so to ProductPublicSerializer) by a test.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.db import connection

from common.money import THREE_DECIMAL_CURRENCIES, ZERO_DECIMAL_CURRENCIES


def _in(codes: frozenset[str]) -> str:
    return ", ".join(f"'{code}'" for code in sorted(codes))


# Decimal places of the brand's currency, as common.money.currency_exponent says.
_EXPONENT = (
    f"(CASE WHEN b.currency IN ({_in(ZERO_DECIMAL_CURRENCIES)}) THEN 0 "
    f"WHEN b.currency IN ({_in(THREE_DECIMAL_CURRENCIES)}) THEN 3 ELSE 2 END)"
)


def _money(column: str) -> str:
    return (
        f"CASE WHEN {column} IS NULL THEN NULL ELSE json_build_object("
        f"'amount', round({column}, {_EXPONENT})::text, 'currency', b.currency) END"
    )


# DRF's DateTimeField: ISO 8601 in UTC with a Z, microseconds only when there are some.
_CREATED_AT = (
    "to_char(p.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') "
    "|| CASE WHEN date_part('microseconds', p.created_at)::bigint %% 1000000 <> 0 "
    "THEN to_char(p.created_at AT TIME ZONE 'UTC', '.US') ELSE '' END || 'Z'"
)

# Built from module constants only (no input): the one parameter is the id array.
_SQL = f"""
SELECT coalesce(json_agg(doc ORDER BY ord.n), '[]'::json)::text
FROM unnest(%s::bigint[]) WITH ORDINALITY AS ord(id, n)
JOIN LATERAL (
  SELECT json_build_object(
    'id', p.id,
    'slug', p.slug,
    'title', p.title,
    'description', p.description,
    'category', p.category,
    'tags', p.tags,
    'brand', json_build_object(
      'id', b.id, 'slug', b.slug, 'name', b.name, 'logo_url', b.logo_url),
    'price', (SELECT {_money("v.price")} FROM shop_variant v
              WHERE v.product_id = p.id ORDER BY v.price LIMIT 1),
    'in_stock', EXISTS (SELECT 1 FROM shop_variant v
                        WHERE v.product_id = p.id AND v.on_hand > v.reserved),
    'images', coalesce((
      SELECT json_agg(json_build_object(
               'url', i.url, 'width', i.width, 'height', i.height, 'alt', i.alt)
             ORDER BY i.position, i.id)
      FROM shop_productimage i WHERE i.product_id = p.id), '[]'::json),
    'variants', coalesce((
      SELECT json_agg(json_build_object(
               'id', v.id,
               'sku', v.sku,
               'title', v.title,
               'options', v.options,
               'price', {_money("v.price")},
               'compare_at_price', {_money("v.compare_at_price")},
               'available', greatest(v.on_hand - v.reserved, 0),
               'stock_state', CASE
                 WHEN v.on_hand - v.reserved <= 0 THEN 'sold_out'
                 WHEN v.on_hand - v.reserved <= v.low_stock_threshold THEN 'low_stock'
                 ELSE 'in_stock' END)
             ORDER BY v.position, v.id)
      FROM shop_variant v WHERE v.product_id = p.id), '[]'::json),
    'created_at', {_CREATED_AT}
  ) AS doc
  FROM shop_product p JOIN shop_brand b ON b.id = p.brand_id
  WHERE p.id = ord.id
) AS page ON true
"""  # noqa: S608


def supported() -> bool:
    return connection.vendor == "postgresql"


def products_json(ids: Sequence[int]) -> str:
    """The JSON array of the products with these ids, in this order."""
    with connection.cursor() as cursor:
        cursor.execute(_SQL, [list(ids)])
        row = cursor.fetchone()
    return row[0] if row else "[]"
