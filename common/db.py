"""Transaction helpers, rows read into and written from models by fixed statements, and the
ranges of PostgreSQL's integer columns."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from django.db import connection
from django.db.models import NOT_PROVIDED, Model

M = TypeVar("M", bound=Model)

# The largest values of `smallint` and `integer`: API inputs stored in those columns are
# bounded by these in their serializers, so a bigger number is a 400, not a 500.
MAX_SMALLINT = 32_767
MAX_INTEGER = 2_147_483_647


def in_transaction() -> bool:
    """True inside an `atomic` block opened by the code (not by a test case's wrapper).

    Network calls (Stripe, feeds) must never happen while this is true.
    """
    return any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


def prefetched(instance: Model, related_name: str, objects: Iterable[Model]) -> None:
    """Attach rows already in hand as `instance.<related_name>.all()`, as prefetch_related does.

    For writers that have just created or read a parent's children: the response reads them
    from memory instead of querying again.
    """
    manager = getattr(instance, related_name)  # a reverse foreign key's manager
    queryset = manager.all()  # lazy: nothing is read
    queryset._result_cache = list(objects)
    queryset._prefetch_done = True
    cache = instance.__dict__.setdefault("_prefetched_objects_cache", {})
    cache[manager.field.remote_field.cache_name] = queryset


def model_columns(model: type[Model], alias: str) -> str:
    """`alias.column, ...` for every column of `model`, in the order `model_from_row` reads.

    For a hot statement written once instead of compiled by the ORM on every call: a cart's
    lines joined to their variants, products and brands (54 columns) cost 0.54 ms of CPU to
    compile on every checkout.
    """
    quote = connection.ops.quote_name
    return ", ".join(f"{alias}.{quote(field.column)}" for field in model._meta.concrete_fields)


@functools.cache
def _row_reader(
    model: type[Model],
) -> tuple[list[str], list[tuple[int, Any, list[Callable[..., Any]]]]]:
    """The attribute names, and for each column that needs them its index, its expression
    and the converters the ORM's compiler applies (the backend's, then the field's)."""
    fields = model._meta.concrete_fields
    converting = []
    for index, field in enumerate(fields):
        col = field.cached_col
        found = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
        if found:
            converting.append((index, col, found))
    return [field.attname for field in fields], converting


def model_from_row(model: type[M], row: Sequence[Any], start: int = 0) -> M:
    """The instance whose columns (`model_columns`) start at `row[start]`, every value
    converted as the ORM would."""
    names, converting = _row_reader(model)
    values = list(row[start : start + len(names)])
    for index, col, converters in converting:
        for converter in converters:
            values[index] = converter(values[index], col, connection)
    return model.from_db(connection.alias, names, values)


@functools.cache
def _insert_plan(model: type[Model]) -> tuple[str, str, str, tuple[Any, ...]]:
    """The INSERT's head, one row's placeholders, its RETURNING and the fields it writes:
    every concrete column but the automatic primary key."""
    opts = model._meta
    quote = connection.ops.quote_name
    fields = tuple(field for field in opts.concrete_fields if field is not opts.auto_field)
    if any(field.generated or field.db_default is not NOT_PROVIDED for field in fields):
        raise TypeError(f"{model.__name__} has columns the database fills; use the ORM.")
    columns = ", ".join(quote(field.column) for field in fields)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    return (
        f"INSERT INTO {quote(opts.db_table)} ({columns}) VALUES ",  # noqa: S608 (the model's names)
        row,
        f" RETURNING {quote(opts.pk.column)}",
        fields,
    )


def models_insert(objects: Sequence[M]) -> list[M]:
    """Insert new instances of one model in one statement written once per model, as
    `bulk_create` would: each value prepared by its field (`pre_save`, then
    `get_db_prep_save`), the new ids set on the instances, no signals sent.

    For the checkout's writes (the cart, the order, its lines, shipping and note): the ORM
    compiled the same INSERT text on every call, about half of each insert's CPU
    (in-process, 2,000 notes: 0.13-0.18 ms each through `objects.create`, 0.083-0.087 ms
    here). Models with database defaults or generated columns are not written this way.
    """
    if not objects:
        return []
    model = type(objects[0])
    head, row, returning, fields = _insert_plan(model)
    params = [
        field.get_db_prep_save(field.pre_save(instance, True), connection)
        for instance in objects
        for field in fields
    ]
    with connection.cursor() as cursor:
        cursor.execute(head + ", ".join([row] * len(objects)) + returning, params)
        ids = cursor.fetchall()
    for instance, (pk,) in zip(objects, ids, strict=True):
        instance.pk = pk
        instance._state.adding = False
        instance._state.db = connection.alias
    return list(objects)
