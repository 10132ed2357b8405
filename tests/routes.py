"""Every route the service answers (the admin aside), for tests that probe them all."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern

PARAM = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")


@dataclass(frozen=True)
class Route:
    route: str
    callback: Any

    @property
    def text_params(self) -> list[str]:
        """Path parameters that take free text (not an int or a slug)."""
        return [
            match["name"]
            for match in PARAM.finditer(self.route)
            if match["converter"] not in {"int", "slug"}
        ]

    def path(self, text: str = "x", number: int = 1) -> str:
        """The route with every int parameter set to `number` and every other to `text`."""
        return "/" + PARAM.sub(
            lambda match: str(number) if match["converter"] == "int" else text, self.route
        )

    @property
    def methods(self) -> list[str]:
        view_class = getattr(self.callback, "view_class", None)
        if view_class is None:
            return ["get", "post"]
        return [m for m in view_class.http_method_names if hasattr(view_class, m)]


def _walk(patterns: list[Any], prefix: str) -> Iterator[Route]:
    for pattern in patterns:
        if not isinstance(pattern.pattern, RoutePattern):
            continue  # regex routes validate their own characters
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            if route.startswith("admin/"):
                continue
            yield from _walk(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield Route(route=route, callback=pattern.callback)


def all_routes() -> list[Route]:
    return list(_walk(get_resolver().url_patterns, ""))
