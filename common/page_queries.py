"""A list endpoint's page query, compiled by the ORM once per shape and then reused.

Under load, building a queryset, compiling it to SQL and reading its rows through the ORM
cost a hot list endpoint more CPU per request than its database did. When the page query is
a function of the request's query string alone (filters, ordering, cursor, page size), its
SQL and parameters can be kept and sent again for the next request with the same query
string: the rows, stock included, are always read afresh; only the compilation is reused.

`PageRows` stands in for a values() queryset before DRF's cursor paginator. It records what
the paginator does to it (`order_by`, a position `filter`, a slice) and, when the paginator
reads the slice, looks the whole statement up by the caller's key and those steps. On a miss
it builds the real queryset (`build()`, where filter backends validate the query string and
may raise as usual), applies the steps and keeps its SQL; on a hit `build()` is not called.
Run often, the statement is prepared by psycopg (config.settings.base.psycopg_prepared).

The key must hold everything the queryset depends on besides the recorded steps: for a
public list, the query string without the paginator's own parameters. Nothing that varies
with time, the user or the data may shape the query. Each process keeps at most
`MAX_STATEMENTS`, least recently used first out.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, NamedTuple

from django.core.exceptions import EmptyResultSet
from django.db import DEFAULT_DB_ALIAS, connections, router
from django.db.models import Model, QuerySet

MAX_STATEMENTS = 1024

Converters = tuple[tuple[int, tuple[Callable[..., Any], ...], Any], ...]


class Statement(NamedTuple):
    sql: str  # empty when no row can match
    params: tuple[Any, ...]
    names: tuple[str, ...]
    converters: Converters
    model: type[Model]  # whose rows: the database router picks the server per run


# (key, steps) -> the compiled page query
_statements: OrderedDict[Hashable, Statement] = OrderedDict()
_lock = threading.Lock()

Step = tuple[Any, ...]


def _remembered(key: Hashable) -> Statement | None:
    with _lock:
        statement = _statements.get(key)
        if statement is not None:
            _statements.move_to_end(key)
        return statement


def _remember(key: Hashable, statement: Statement) -> None:
    with _lock:
        _statements[key] = statement
        _statements.move_to_end(key)
        while len(_statements) > MAX_STATEMENTS:
            _statements.popitem(last=False)


def forget_all() -> None:
    """Drop every remembered statement (tests; nothing needs it after a schema change,
    which comes with new processes)."""
    with _lock:
        _statements.clear()


def _apply(queryset: QuerySet[Any, Any], step: Step) -> QuerySet[Any, Any]:
    kind, *arguments = step
    if kind == "order_by":
        return queryset.order_by(*arguments[0])
    if kind == "filter":
        return queryset.filter(**dict(arguments[0]))
    start, stop = arguments
    return queryset[start:stop]


class PageRows:
    """A values() queryset as DRF's cursor paginator uses it, compiled once per shape."""

    def __init__(
        self,
        build: Callable[[], QuerySet[Any, Any]],
        key: Hashable,
        *,
        using: str | None = None,
        steps: tuple[Step, ...] = (),
    ) -> None:
        self._build = build
        self._key = key
        self._using = using
        self._steps = steps

    def _then(self, step: Step) -> PageRows:
        return PageRows(self._build, self._key, using=self._using, steps=(*self._steps, step))

    def order_by(self, *fields: str) -> PageRows:
        return self._then(("order_by", fields))

    def filter(self, **lookups: Any) -> PageRows:
        return self._then(("filter", tuple(sorted(lookups.items()))))

    def __getitem__(self, item: slice) -> list[dict[str, Any]]:
        if not isinstance(item, slice) or item.step is not None:
            raise TypeError("PageRows reads one slice of rows")
        return self._rows(self._then(("slice", item.start, item.stop))._steps)

    def _compiled(self, steps: tuple[Step, ...]) -> Statement:
        queryset = self._build()
        for step in steps:
            queryset = _apply(queryset, step)
        query = queryset.query
        if not (query.selected or query.values_select):
            raise TypeError("PageRows builds a values() queryset")
        # The names ValuesIterable gives the columns, in the order the SQL selects them.
        if query.selected:
            names = tuple(query.selected)
        else:
            names = (*query.extra_select, *query.values_select, *query.annotation_select)
        # Both servers are the same PostgreSQL: the SQL compiled for one runs on the other.
        compiler = query.get_compiler(self._using or DEFAULT_DB_ALIAS)
        try:
            sql, params = compiler.as_sql()
        except EmptyResultSet:  # a filter no row can match (`id__in=[]`): no query at all
            return Statement("", (), names, (), queryset.model)
        # The ORM's conversions of column values (JSON, an expression's type), kept with the
        # statement and applied as SQLCompiler.apply_converters does.
        columns = [selected[0] for selected in compiler.select[: compiler.col_count]]
        converters = tuple(
            (position, tuple(functions), expression)
            for position, (functions, expression) in compiler.get_converters(columns).items()
        )
        return Statement(sql, tuple(params), names, converters, queryset.model)

    def _rows(self, steps: tuple[Step, ...]) -> list[dict[str, Any]]:
        key = (self._key, steps)
        statement = _remembered(key)
        if statement is None:
            statement = self._compiled(steps)
            _remember(key, statement)
        if not statement.sql:
            return []
        # As the ORM would: the router may send the read to a replica (common.replica).
        connection = connections[self._using or router.db_for_read(statement.model)]
        with connection.cursor() as cursor:
            cursor.execute(statement.sql, statement.params)
            rows = cursor.fetchall()
        if statement.converters:
            rows = [_converted(row, statement.converters, connection) for row in rows]
        return [dict(zip(statement.names, row, strict=True)) for row in rows]


def _converted(row: tuple[Any, ...], converters: Converters, connection: Any) -> list[Any]:
    values = list(row)
    for position, functions, expression in converters:
        value = values[position]
        for function in functions:
            value = function(value, expression, connection)
        values[position] = value
    return values
