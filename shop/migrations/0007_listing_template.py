# The stored list entry becomes one template with a `%s` slot for each live stock value.
#
# Splicing live stock into the stored parts inside PostgreSQL (unnesting the variant heads
# and joining them to the variants by position) cost more than the rest of the page query.
# Now the page query only reads each product's stock fragments, in list order, and Python
# fills the template's slots in one `%` formatting. What the entry shows is unchanged: the
# text of migration 0006's entry, with every literal percent sign doubled.

from importlib import import_module

from django.db import migrations, models

BUILD_SQL = """
DROP FUNCTION IF EXISTS shop_listing_build(bigint[]);

-- ProductPublicSerializer's output for each product, with a %s slot for in_stock and one for
-- each variant's stock ("available" and "stock_state"), variants in list order. Everything
-- else is literal text with each % written %%. Held to the serializer by
-- tests/shop/test_catalog_listing.py.
CREATE FUNCTION shop_listing_build(product_ids bigint[])
RETURNS TABLE (product_id bigint, template text)
LANGUAGE sql STABLE AS $$
SELECT
    p.id,
    replace(left(json_build_object(
        'id', p.id,
        'slug', p.slug,
        'title', p.title,
        'description', p.description,
        'category', p.category,
        'tags', p.tags,
        'brand', json_build_object(
            'id', b.id, 'slug', b.slug, 'name', b.name, 'logo_url', b.logo_url),
        'price', (SELECT shop_listing_money(v.price, b.currency) FROM shop_variant v
                  WHERE v.product_id = p.id ORDER BY v.price LIMIT 1)
    )::text, -1), '%', '%%') || ', "in_stock" : %s'
    || replace(', "images" : ' || coalesce((
        SELECT json_agg(json_build_object(
                   'url', i.url, 'width', i.width, 'height', i.height, 'alt', i.alt)
               ORDER BY i.position, i.id)
        FROM shop_productimage i WHERE i.product_id = p.id), '[]'::json)::text, '%', '%%')
    || ', "variants" : ['
    || coalesce((
        SELECT string_agg(replace(left(json_build_object(
                   'id', v.id,
                   'sku', v.sku,
                   'title', v.title,
                   'options', v.options,
                   'price', shop_listing_money(v.price, b.currency),
                   'compare_at_price', shop_listing_money(v.compare_at_price, b.currency)
               )::text, -1), '%', '%%') || ', "available" : %s', ', '
               ORDER BY v.position, v.id)
        FROM shop_variant v WHERE v.product_id = p.id), '')
    -- DRF's DateTimeField: ISO 8601 in UTC with a Z, microseconds only when there are some.
    || '], "created_at" : "'
    || to_char(p.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
    || CASE WHEN date_part('microseconds', p.created_at)::bigint % 1000000 <> 0
            THEN to_char(p.created_at AT TIME ZONE 'UTC', '.US') ELSE '' END
    || 'Z"}'
FROM shop_product p JOIN shop_brand b ON b.id = p.brand_id
WHERE p.id = ANY(product_ids)
$$;

CREATE OR REPLACE FUNCTION shop_listing_refresh(product_ids bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF cardinality(product_ids) = 0 THEN
        RETURN;
    END IF;
    INSERT INTO shop_productlisting (product_id, template)
    SELECT id, '' FROM shop_product WHERE id = ANY(product_ids) ORDER BY id
    ON CONFLICT (product_id) DO NOTHING;
    PERFORM 1 FROM shop_productlisting WHERE product_id = ANY(product_ids)
        ORDER BY product_id FOR UPDATE;
    UPDATE shop_productlisting l
    SET template = d.template
    FROM shop_listing_build(product_ids) d
    WHERE l.product_id = d.product_id;
END;
$$;

SELECT shop_listing_refresh(ARRAY(SELECT id FROM shop_product));
"""

UNBUILD_SQL = "DROP FUNCTION IF EXISTS shop_listing_build(bigint[]);"


def _run_on_postgresql(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            with schema_editor.connection.cursor() as cursor:
                cursor.execute(sql)

    return run


def _restore_0006(apps, schema_editor):
    """Unapplying: once 0006's columns are back, its functions and triggers are made again."""
    if schema_editor.connection.vendor != "postgresql":
        return
    old = import_module("shop.migrations.0006_product_listing")
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(old.DROP_SQL)
        cursor.execute(old.LISTING_SQL)


class Migration(migrations.Migration):
    dependencies = [
        ("shop", "0006_product_listing"),
    ]

    operations = [
        migrations.RunPython(migrations.RunPython.noop, _restore_0006),
        # Defaults only so that unapplying can add the old columns back to existing rows.
        *(
            migrations.AlterField(
                model_name="productlisting", name=name, field=models.TextField(default="")
            )
            for name in ("head", "mid", "tail")
        ),
        migrations.RemoveField(model_name="productlisting", name="head"),
        migrations.RemoveField(model_name="productlisting", name="mid"),
        migrations.RemoveField(model_name="productlisting", name="tail"),
        migrations.RemoveField(model_name="productlisting", name="variant_heads"),
        migrations.AddField(
            model_name="productlisting",
            name="template",
            field=models.TextField(
                default="",
                help_text=(
                    "The entry's JSON with a %s slot for in_stock and one for each variant's "
                    "stock, in list order; every other % is written %%."
                ),
            ),
            preserve_default=False,
        ),
        migrations.RunPython(_run_on_postgresql(BUILD_SQL), _run_on_postgresql(UNBUILD_SQL)),
    ]
