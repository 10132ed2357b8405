"""Prepared statements for the hottest queries on PostgreSQL.

For a short query PostgreSQL can spend more time planning than running it. A prepared
statement is planned at most a few times per session: after five runs PostgreSQL keeps one
plan for any parameters when that plan is estimated to cost no more than the custom ones.

Django sends PostgreSQL queries through psycopg's client-side binding, which inlines each
value into the text and never prepares. Here a statement is prepared explicitly, with
`PREPARE name (types) AS ...` in the same round trip as its first `EXECUTE`; later runs on
that session send only `EXECUTE name (values)`. The parameter types are given, never
inferred, so a PREPARE cannot fail where the plain query would have run.

A prepared statement outlives rollbacks but not its session, so this needs a database
session per connection (Django's default), not a transaction-mode pooler, which would send
an EXECUTE to a session that never saw its PREPARE. Each PREPARE takes a new name: if the
round trip that prepared a statement fails after the PREPARE, the next try cannot collide with
it. A session keeps at most `MAX_PER_SESSION` statements, deallocating the least recently used.
"""

from __future__ import annotations

import datetime
import decimal
import functools
import itertools
import re
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from weakref import WeakKeyDictionary

from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.backends.utils import CursorWrapper

MAX_PER_SESSION = 100

_numbers = itertools.count(1)
# Per psycopg connection (one database session): statement text -> prepared name, oldest first.
_sessions: WeakKeyDictionary[Any, OrderedDict[str, str]] = WeakKeyDictionary()

# How a Python value given as a parameter is typed. bool before int: a bool is an int.
_PARAMETER_TYPES: tuple[tuple[type, str], ...] = (
    (bool, "boolean"),
    (int, "bigint"),
    (decimal.Decimal, "numeric"),
    (float, "double precision"),
    (str, "text"),
    (datetime.datetime, "timestamptz"),
    (datetime.date, "date"),
    (uuid.UUID, "uuid"),
)
_DJANGO_PLACEHOLDER = re.compile(r"%[s%]")

Run = Callable[[str, Sequence[Any]], Any]


def parameter_type(value: Any) -> str | None:
    """The PostgreSQL type a parameter of this value is declared with, or None if unknown."""
    for python_type, sql_type in _PARAMETER_TYPES:
        if isinstance(value, python_type):
            if isinstance(value, datetime.datetime) and value.tzinfo is None:
                return "timestamp"
            return sql_type
    return None


def execute_prepared(
    cursor: CursorWrapper,
    statement: str,
    params: Sequence[Any],
    *,
    types: Sequence[str],
    name_prefix: str = "tribe",
    run: Run | None = None,
) -> Any:
    """Run `statement` as a prepared statement of this cursor's session.

    `statement` numbers its parameters `$1`..`$n` and writes a literal percent sign `%%`;
    `types` are their PostgreSQL types. Afterwards the cursor holds the statement's result.
    `run(sql, params)` sends the text (default `cursor.execute`).
    """
    run = run or cursor.execute
    session = cursor.db.connection
    prepared = _sessions.get(session)
    if prepared is None:
        prepared = _sessions[session] = OrderedDict()
    values = f" ({', '.join(['%s'] * len(params))})" if params else ""
    name = prepared.get(statement)
    if name is not None:
        prepared.move_to_end(statement)
        try:
            return run(f"EXECUTE {name}{values}", params)
        except DatabaseError:
            # Such as "cached plan must not change result type" after a migration: the next
            # run prepares the statement again, under a new name.
            prepared.pop(statement, None)
            raise
    name = f"{name_prefix}_{next(_numbers)}"
    evict = ""
    if len(prepared) >= MAX_PER_SESSION:
        _, oldest = prepared.popitem(last=False)
        evict = f"DEALLOCATE {oldest};"
    declared = f" ({', '.join(types)})" if types else ""
    result = run(f"{evict}PREPARE {name}{declared} AS {statement};EXECUTE {name}{values}", params)
    while cursor.nextset():  # on to the EXECUTE's result
        pass
    prepared[statement] = name
    return result


@functools.lru_cache(maxsize=256)
def numbered(sql: str) -> str:
    """Django's SQL (`%s` placeholders) with PostgreSQL's numbered ones; `%%` is kept.

    Remembered per text: a hot path sends the same few statements on every request.
    """
    numbers = itertools.count(1)
    return _DJANGO_PLACEHOLDER.sub(
        lambda match: match.group() if match.group() == "%%" else f"${next(numbers)}", sql
    )


def _prepare_selects(
    execute: Callable[..., Any],
    sql: str,
    params: Sequence[Any] | None,
    many: bool,
    context: dict[str, Any],
) -> Any:
    if many or params is None or sql.lstrip()[:6].upper() != "SELECT":
        return execute(sql, params, many, context)
    types = [parameter_type(value) for value in params]
    if None in types:  # a value whose type is not known here: run as sent
        return execute(sql, params, many, context)
    return execute_prepared(
        context["cursor"],
        numbered(sql),
        list(params),
        types=[t for t in types if t is not None],
        run=lambda text, values: execute(text, values, False, context),
    )


@contextmanager
def prepared_selects(using: str = DEFAULT_DB_ALIAS) -> Iterator[None]:
    """Run the SELECTs made in this block as prepared statements.

    For hot read paths whose queries take few shapes; each shape is one statement per session.
    """
    with connections[using].execute_wrapper(_prepare_selects):
        yield
