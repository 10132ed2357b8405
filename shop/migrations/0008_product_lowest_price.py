"""The lowest variant price stored on the product, kept by triggers, indexed for price lists.

A BEFORE trigger on the product computes the value whenever a row is inserted or a write
names the column (Django's save() writes every column: a stale value in memory can never
land). Variant writes that can change it (insert, delete, price or product change) touch
their products' rows, in the writer's statement, like the listing's triggers of 0006. Stock
updates name none of these columns and fire nothing.
"""

from django.db import migrations, models

SQL = """
CREATE FUNCTION shop_product_lowest_price_set() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.lowest_price := (SELECT min(price) FROM shop_variant WHERE product_id = NEW.id);
    RETURN NEW;
END;
$$;

CREATE TRIGGER product_lowest_price_set
    BEFORE INSERT OR UPDATE OF lowest_price ON shop_product
    FOR EACH ROW EXECUTE FUNCTION shop_product_lowest_price_set();

-- Touch the products whose lowest price moved; the BEFORE trigger writes the value.
CREATE FUNCTION shop_product_lowest_price_refresh(ids bigint[]) RETURNS void
LANGUAGE sql AS $$
    UPDATE shop_product p SET lowest_price = NULL
    WHERE p.id = ANY(ids)
      AND p.lowest_price IS DISTINCT FROM
          (SELECT min(v.price) FROM shop_variant v WHERE v.product_id = p.id);
$$;

CREATE FUNCTION shop_variant_prices_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM shop_product_lowest_price_refresh(ARRAY(SELECT DISTINCT product_id FROM changed_rows));
    RETURN NULL;
END;
$$;

CREATE FUNCTION shop_variant_price_updated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM shop_product_lowest_price_refresh(ARRAY[OLD.product_id, NEW.product_id]);
    RETURN NULL;
END;
$$;

CREATE TRIGGER lowest_price_variant_inserted AFTER INSERT ON shop_variant
    REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION shop_variant_prices_changed();
CREATE TRIGGER lowest_price_variant_deleted AFTER DELETE ON shop_variant
    REFERENCING OLD TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION shop_variant_prices_changed();
CREATE TRIGGER lowest_price_variant_updated
    AFTER UPDATE OF product_id, price ON shop_variant FOR EACH ROW
    WHEN ((OLD.product_id, OLD.price) IS DISTINCT FROM (NEW.product_id, NEW.price))
    EXECUTE FUNCTION shop_variant_price_updated();

UPDATE shop_product p SET lowest_price = NULL
WHERE EXISTS (SELECT 1 FROM shop_variant v WHERE v.product_id = p.id);
"""

REVERSE_SQL = """
DROP TRIGGER lowest_price_variant_updated ON shop_variant;
DROP TRIGGER lowest_price_variant_deleted ON shop_variant;
DROP TRIGGER lowest_price_variant_inserted ON shop_variant;
DROP FUNCTION shop_variant_price_updated();
DROP FUNCTION shop_variant_prices_changed();
DROP FUNCTION shop_product_lowest_price_refresh(bigint[]);
DROP TRIGGER product_lowest_price_set ON shop_product;
DROP FUNCTION shop_product_lowest_price_set();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("shop", "0007_listing_template"),
    ]

    operations = [
        migrations.AddField(
            model_name="product",
            name="lowest_price",
            field=models.DecimalField(
                decimal_places=3,
                editable=False,
                help_text=(
                    "The lowest price of the product's variants, kept by database triggers "
                    "(migration 0008) so lists order and filter by price from an index."
                ),
                max_digits=14,
                null=True,
            ),
        ),
        migrations.RunSQL(SQL, REVERSE_SQL),
        migrations.AddIndex(
            model_name="product",
            index=models.Index(
                condition=models.Q(("status", "active")),
                fields=["lowest_price", "id"],
                name="product_active_price",
            ),
        ),
    ]
