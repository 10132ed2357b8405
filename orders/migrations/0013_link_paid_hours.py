"""A link's paid orders counted per hour, so a link's pace reads a bounded number of rows.

Every checkout through a link reads the link's pace (the viral rate lock): the distinct
orders paid through it in the last 24 hours and the 7 days before. Counted from the lines'
`order_line_link_paid` range, it read one index entry per paid line of those eight days: a
viral link's 50,000 lines cost 20-53 ms of PostgreSQL per checkout. `LinkPaidHour` holds the
count per hour; the pace sums at most 193 of them and counts live only the parts of hours
at its windows' edges (`orders.selectors.link_paid_orders_in_windows`).

The counts move in the writer's statement, on every write path (statement triggers with
transition tables): for each (order, link, hour) that a statement's rows had or have, by
whether the order has a paid line through the link in that hour after the statement (the
table) and before it (the table without the statement's rows, with their old versions).
An order paid with two lines through one link counts once whichever statements write its
lines. Hours are UTC's (`date_trunc(..., 'UTC')`, whatever the session's time zone).

The triggers are made before the counts are filled: making them locks the order lines
against writes until this migration commits, so no payment falls between the two.
"""

from django.db import migrations, models

SQL = """
CREATE FUNCTION orders_link_paid_hours_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO orders_linkpaidhour AS h (link_id, hour_start, orders)
        SELECT p.link_id, p.hour_start, count(*)
        FROM (
            SELECT DISTINCT n.order_id, n.attributed_link_id AS link_id,
                date_trunc('hour', n.order_paid_at, 'UTC') AS hour_start
            FROM new_rows n
            WHERE n.attributed_link_id IS NOT NULL AND n.order_paid_at IS NOT NULL
        ) p
        WHERE NOT EXISTS (
            SELECT 1 FROM orders_orderline t
            WHERE t.order_id = p.order_id AND t.attributed_link_id = p.link_id
                AND t.order_paid_at >= p.hour_start
                AND t.order_paid_at < p.hour_start + interval '1 hour'
                AND t.id NOT IN (SELECT id FROM new_rows)
        )
        GROUP BY p.link_id, p.hour_start
        ON CONFLICT (link_id, hour_start) DO UPDATE SET orders = h.orders + EXCLUDED.orders;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO orders_linkpaidhour AS h (link_id, hour_start, orders)
        SELECT p.link_id, p.hour_start, -count(*)
        FROM (
            SELECT DISTINCT o.order_id, o.attributed_link_id AS link_id,
                date_trunc('hour', o.order_paid_at, 'UTC') AS hour_start
            FROM old_rows o
            WHERE o.attributed_link_id IS NOT NULL AND o.order_paid_at IS NOT NULL
        ) p
        WHERE NOT EXISTS (
            SELECT 1 FROM orders_orderline t
            WHERE t.order_id = p.order_id AND t.attributed_link_id = p.link_id
                AND t.order_paid_at >= p.hour_start
                AND t.order_paid_at < p.hour_start + interval '1 hour'
        )
        GROUP BY p.link_id, p.hour_start
        ON CONFLICT (link_id, hour_start) DO UPDATE SET orders = h.orders + EXCLUDED.orders;
    ELSE
        WITH moved AS (
            SELECT o.order_id AS old_order, o.attributed_link_id AS old_link,
                o.order_paid_at AS old_paid, n.order_id AS new_order,
                n.attributed_link_id AS new_link, n.order_paid_at AS new_paid
            FROM old_rows o JOIN new_rows n ON n.id = o.id
            WHERE (o.order_id, o.attributed_link_id, o.order_paid_at)
                IS DISTINCT FROM (n.order_id, n.attributed_link_id, n.order_paid_at)
        ),
        pairs AS (
            SELECT old_order AS order_id, old_link AS link_id,
                date_trunc('hour', old_paid, 'UTC') AS hour_start
            FROM moved WHERE old_link IS NOT NULL AND old_paid IS NOT NULL
            UNION
            SELECT new_order, new_link, date_trunc('hour', new_paid, 'UTC')
            FROM moved WHERE new_link IS NOT NULL AND new_paid IS NOT NULL
        ),
        deltas AS (
            SELECT p.link_id, p.hour_start,
                (EXISTS (
                    SELECT 1 FROM orders_orderline t
                    WHERE t.order_id = p.order_id AND t.attributed_link_id = p.link_id
                        AND t.order_paid_at >= p.hour_start
                        AND t.order_paid_at < p.hour_start + interval '1 hour'
                ))::int
                - (EXISTS (
                    SELECT 1 FROM orders_orderline t
                    WHERE t.order_id = p.order_id AND t.attributed_link_id = p.link_id
                        AND t.order_paid_at >= p.hour_start
                        AND t.order_paid_at < p.hour_start + interval '1 hour'
                        AND t.id NOT IN (SELECT id FROM new_rows)
                ) OR EXISTS (
                    SELECT 1 FROM old_rows o
                    WHERE o.order_id = p.order_id AND o.attributed_link_id = p.link_id
                        AND o.order_paid_at >= p.hour_start
                        AND o.order_paid_at < p.hour_start + interval '1 hour'
                ))::int AS delta
            FROM pairs p
        )
        INSERT INTO orders_linkpaidhour AS h (link_id, hour_start, orders)
        SELECT link_id, hour_start, sum(delta) FROM deltas
        GROUP BY link_id, hour_start HAVING sum(delta) <> 0
        ON CONFLICT (link_id, hour_start) DO UPDATE SET orders = h.orders + EXCLUDED.orders;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER link_paid_hours_inserted AFTER INSERT ON orders_orderline
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION orders_link_paid_hours_changed();
CREATE TRIGGER link_paid_hours_updated AFTER UPDATE ON orders_orderline
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION orders_link_paid_hours_changed();
CREATE TRIGGER link_paid_hours_deleted AFTER DELETE ON orders_orderline
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION orders_link_paid_hours_changed();

INSERT INTO orders_linkpaidhour (link_id, hour_start, orders)
SELECT attributed_link_id, date_trunc('hour', order_paid_at, 'UTC'), count(DISTINCT order_id)
FROM orders_orderline
WHERE attributed_link_id IS NOT NULL AND order_paid_at IS NOT NULL
GROUP BY 1, 2;
"""

REVERSE_SQL = """
DROP TRIGGER link_paid_hours_deleted ON orders_orderline;
DROP TRIGGER link_paid_hours_updated ON orders_orderline;
DROP TRIGGER link_paid_hours_inserted ON orders_orderline;
DROP FUNCTION orders_link_paid_hours_changed();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0012_orderline_order_paid_at"),
    ]

    operations = [
        migrations.CreateModel(
            name="LinkPaidHour",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("link_id", models.PositiveBigIntegerField()),
                ("hour_start", models.DateTimeField()),
                ("orders", models.IntegerField()),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("link_id", "hour_start"), name="link_paid_hour_unique"
                    )
                ],
            },
        ),
        migrations.RunSQL(SQL, REVERSE_SQL),
    ]
