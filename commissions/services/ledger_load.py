"""Writing many ledger lines at once, each inserted unless its unique key is already there.

Django's `bulk_create` prepares every value of every row in Python and psycopg quotes each
one into the statement: for a batch of thousands of lines that is most of the batch's time.
The rows go through `COPY` instead (psycopg writes them in C) into a temporary
table that lives only inside the caller's transaction, and one
`INSERT ... SELECT ... ON CONFLICT DO NOTHING` moves them into the ledger in order-line
order, so a line already recorded (by a retry, or by a concurrent run) is skipped exactly as
`bulk_create(ignore_conflicts=True)` skips it; nothing recorded is ever updated.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import connection
from django.utils import timezone
from psycopg import sql

from commissions.models import CommissionLine

# The columns a loaded row carries, in this order; the others take their defaults.
COLUMNS = (
    "kind",
    "status",
    "creator_id",
    "link_id",
    "brand_id",
    "order_id",
    "order_line_id",
    "refund_id",
    "currency",
    "base",
    "rate",
    "amount",
    "receipt",
    "earned_at",
    "payable_at",
)
RECEIPT = COLUMNS.index("receipt")
# The ledger's unique key (commission_line_unique): rows are inserted in its order.
UNIQUE_KEY = ("order_line_id", "kind", "refund_id")
LOAD_TABLE = "commission_line_load"

Row = tuple[Any, ...]


def _columns() -> list[tuple[str, str]]:
    """(column, SQL type) of each loaded column, taken from the model so they never drift."""
    meta = CommissionLine._meta
    fields = {field.attname: field for field in meta.concrete_fields}
    return [(fields[name].column, str(fields[name].db_type(connection))) for name in COLUMNS]


def commission_lines_load(rows: Sequence[Row], *, now: datetime | None = None) -> None:
    """Insert these ledger rows (tuples in COLUMNS order) unless already recorded.

    `now` is their `created_at` (the clock's time by default). Joins the caller's
    transaction, which must be open: the lines appear when it commits.
    """
    if not rows:
        return
    if not connection.in_atomic_block:
        raise RuntimeError("commission_lines_load runs inside the caller's transaction.")
    _load_copy(rows, now or timezone.now())


def _load_copy(rows: Sequence[Row], created_at: datetime) -> None:
    columns = _columns()
    load = sql.Identifier(LOAD_TABLE)
    names = sql.SQL(", ").join(sql.Identifier(column) for column, _ in columns)
    create = sql.SQL("CREATE TEMPORARY TABLE {} ({}) ON COMMIT DROP").format(
        load,
        sql.SQL(", ").join(
            sql.SQL("{} {}").format(sql.Identifier(column), sql.SQL(kind))
            for column, kind in columns
        ),
    )
    insert = sql.SQL(
        "INSERT INTO {table} ({names}, {created}) SELECT {names}, %s FROM {load} "
        "ORDER BY {key} ON CONFLICT DO NOTHING"
    ).format(
        table=sql.Identifier(CommissionLine._meta.db_table),
        names=names,
        created=sql.Identifier("created_at"),
        load=load,
        key=sql.SQL(", ").join(sql.Identifier(column) for column in UNIQUE_KEY),
    )
    dumps = json.dumps
    with connection.cursor() as cursor:
        raw = cursor.cursor
        # Dropped at commit or rollback; dropped right after use too, so that a second batch
        # in the same transaction starts from an empty table.
        cursor.execute(create.as_string(raw))
        with raw.copy(sql.SQL("COPY {} ({}) FROM STDIN").format(load, names)) as copy:
            for row in rows:
                copy.write_row((*row[:RECEIPT], dumps(row[RECEIPT]), *row[RECEIPT + 1 :]))
        # One statement, in the unique key's order: concurrent batches wait on the same keys
        # in the same order, so they never deadlock, and the later one skips what the first
        # wrote.
        cursor.execute(insert.as_string(raw), [created_at])
        cursor.execute(sql.SQL("DROP TABLE {}").format(load).as_string(raw))
