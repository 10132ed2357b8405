"""How many of each product's variants are in plenty, so the live stock read sums few.

The live read summed every variant of every product a page shows, an index probe per
product on each request: 0.4 ms of PostgreSQL for a 200-product storefront, 3.8 ms for
2,000. A product can be scarce only when none of its variants has more units than the
largest low-stock threshold of its variants; `ProductPlenty` counts those that do, and the
read sums the variants of the products counting none, found through a partial index.

- Each variant carries its product's largest threshold (`product_low_stock_threshold`). A
  BEFORE trigger computes it whenever a row is inserted or a write names one of its
  columns (Django's save() writes every column: a stale value in memory can never land),
  and a variant write that can move it (insert, delete, a threshold or product change)
  rewrites the sibling variants whose copy is stale, found by index, taking their row
  locks, like 0008's price.
- The count moves by each variant row change's own before and after (in plenty or not,
  of which product), so however the changes of one statement are ordered, they add up to
  the count of the rows as they end. A stock move that crosses no threshold fires nothing
  and keeps its HOT update; one that does locks the product's count until it commits.
"""

import django.db.models.deletion
from django.db import migrations, models


SQL = """
-- Each variant carries the largest low-stock threshold of its product.
CREATE FUNCTION shop_variant_product_threshold_set() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.product_low_stock_threshold := GREATEST(NEW.low_stock_threshold, COALESCE((
        SELECT max(v.low_stock_threshold) FROM shop_variant v
        WHERE v.product_id = NEW.product_id AND v.id <> NEW.id), 0));
    RETURN NEW;
END;
$$;

CREATE TRIGGER variant_product_threshold_set
    BEFORE INSERT OR UPDATE OF product_id, low_stock_threshold, product_low_stock_threshold
    ON shop_variant FOR EACH ROW EXECUTE FUNCTION shop_variant_product_threshold_set();

-- Touch the variants whose copy of their product's largest threshold is stale (found by
-- index, without reading the others); the BEFORE trigger writes the value.
-- (PL/pgSQL keeps the plan per session: a SQL function's is made on every call, 0.9 ms.)
CREATE FUNCTION shop_product_thresholds_refresh(ids bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE shop_variant v SET product_low_stock_threshold = 0
    FROM (
        SELECT stale.id
        FROM unnest(ids) AS p(id)
        CROSS JOIN LATERAL (
            SELECT max(low_stock_threshold) AS largest FROM shop_variant WHERE product_id = p.id
        ) AS t
        CROSS JOIN LATERAL (
            SELECT id FROM shop_variant
            WHERE product_id = p.id AND product_low_stock_threshold < t.largest
            UNION ALL
            SELECT id FROM shop_variant
            WHERE product_id = p.id AND product_low_stock_threshold > t.largest
        ) AS stale
    ) AS stale
    WHERE v.id = stale.id;
END;
$$;

CREATE FUNCTION shop_variants_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM shop_product_thresholds_refresh(ARRAY(SELECT DISTINCT product_id FROM changed_rows));
    RETURN NULL;
END;
$$;

CREATE FUNCTION shop_variant_threshold_moved() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM shop_product_thresholds_refresh(ARRAY[OLD.product_id, NEW.product_id]);
    RETURN NULL;
END;
$$;

CREATE TRIGGER product_threshold_variants_inserted AFTER INSERT ON shop_variant
    REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION shop_variants_changed();
CREATE TRIGGER product_threshold_variants_deleted AFTER DELETE ON shop_variant
    REFERENCING OLD TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION shop_variants_changed();
CREATE TRIGGER product_threshold_variant_moved
    AFTER UPDATE OF product_id, low_stock_threshold ON shop_variant FOR EACH ROW
    WHEN ((OLD.product_id, OLD.low_stock_threshold)
          IS DISTINCT FROM (NEW.product_id, NEW.low_stock_threshold))
    EXECUTE FUNCTION shop_variant_threshold_moved();

-- What is there already: naming the column runs the BEFORE trigger on every variant.
UPDATE shop_variant SET product_low_stock_threshold = 0;
INSERT INTO shop_productplenty (product_id, variants_in_plenty)
SELECT p.id, count(v.id) FILTER (WHERE v.on_hand - v.reserved > v.product_low_stock_threshold)
FROM shop_product p LEFT JOIN shop_variant v ON v.product_id = p.id
GROUP BY p.id;

-- The count moves by one row change's before (OLD) and after (NEW).
CREATE FUNCTION shop_variant_plenty_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        IF OLD.on_hand - OLD.reserved > OLD.product_low_stock_threshold THEN
            UPDATE shop_productplenty SET variants_in_plenty = variants_in_plenty - 1
            WHERE product_id = OLD.product_id;
        END IF;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        IF NEW.on_hand - NEW.reserved > NEW.product_low_stock_threshold THEN
            UPDATE shop_productplenty SET variants_in_plenty = variants_in_plenty + 1
            WHERE product_id = NEW.product_id;
        END IF;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER plenty_variant_inserted AFTER INSERT ON shop_variant FOR EACH ROW
    WHEN (NEW.on_hand - NEW.reserved > NEW.product_low_stock_threshold)
    EXECUTE FUNCTION shop_variant_plenty_changed();
CREATE TRIGGER plenty_variant_deleted AFTER DELETE ON shop_variant FOR EACH ROW
    WHEN (OLD.on_hand - OLD.reserved > OLD.product_low_stock_threshold)
    EXECUTE FUNCTION shop_variant_plenty_changed();
CREATE TRIGGER plenty_variant_updated AFTER UPDATE ON shop_variant FOR EACH ROW
    WHEN ((OLD.on_hand - OLD.reserved > OLD.product_low_stock_threshold)
              IS DISTINCT FROM (NEW.on_hand - NEW.reserved > NEW.product_low_stock_threshold)
          OR OLD.product_id IS DISTINCT FROM NEW.product_id)
    EXECUTE FUNCTION shop_variant_plenty_changed();

CREATE FUNCTION shop_products_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO shop_productplenty (product_id, variants_in_plenty)
    SELECT id, 0 FROM changed_rows;
    RETURN NULL;
END;
$$;

CREATE FUNCTION shop_products_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM shop_productplenty WHERE product_id IN (SELECT id FROM changed_rows);
    RETURN NULL;
END;
$$;

CREATE TRIGGER plenty_products_inserted AFTER INSERT ON shop_product
    REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION shop_products_inserted();
CREATE TRIGGER plenty_products_deleted AFTER DELETE ON shop_product
    REFERENCING OLD TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION shop_products_deleted();
"""

REVERSE_SQL = """
DROP TRIGGER plenty_products_deleted ON shop_product;
DROP TRIGGER plenty_products_inserted ON shop_product;
DROP FUNCTION shop_products_deleted();
DROP FUNCTION shop_products_inserted();
DROP TRIGGER plenty_variant_updated ON shop_variant;
DROP TRIGGER plenty_variant_deleted ON shop_variant;
DROP TRIGGER plenty_variant_inserted ON shop_variant;
DROP FUNCTION shop_variant_plenty_changed();
DROP TRIGGER product_threshold_variant_moved ON shop_variant;
DROP TRIGGER product_threshold_variants_deleted ON shop_variant;
DROP TRIGGER product_threshold_variants_inserted ON shop_variant;
DROP FUNCTION shop_variant_threshold_moved();
DROP FUNCTION shop_variants_changed();
DROP FUNCTION shop_product_thresholds_refresh(bigint[]);
DROP TRIGGER variant_product_threshold_set ON shop_variant;
DROP FUNCTION shop_variant_product_threshold_set();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("shop", "0012_brand_timezone"),
    ]

    operations = [
        migrations.AddField(
            model_name="variant",
            name="product_low_stock_threshold",
            field=models.PositiveIntegerField(
                default=0,
                editable=False,
                help_text=(
                    "The largest low-stock threshold of the product's variants, kept by "
                    "database triggers (migration 0013): a variant with more units than this "
                    "is in plenty (`ProductPlenty`)."
                ),
            ),
        ),
        migrations.AddIndex(
            model_name="variant",
            index=models.Index(fields=["product", "low_stock_threshold"], name="variant_threshold"),
        ),
        migrations.AddIndex(
            model_name="variant",
            index=models.Index(
                fields=["product", "product_low_stock_threshold"], name="variant_product_threshold"
            ),
        ),
        migrations.CreateModel(
            name="ProductPlenty",
            fields=[
                (
                    "product",
                    models.OneToOneField(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="shop.product",
                    ),
                ),
                ("variants_in_plenty", models.IntegerField()),
            ],
            options={
                "verbose_name_plural": "product plenty",
                "indexes": [
                    models.Index(
                        condition=models.Q(("variants_in_plenty", 0)),
                        fields=["product"],
                        name="product_plenty_none",
                    )
                ],
            },
        ),
        migrations.RunSQL(SQL, REVERSE_SQL),
    ]
