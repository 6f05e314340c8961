"""Every route the URL configuration exposes, with the HTTP methods its view answers.

Walks `django.urls.get_resolver()` recursively, so a route added anywhere shows up here (and in
the tests built on it) without anyone remembering to list it.
"""

import re
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver

_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")
_CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")


@dataclass(frozen=True)
class Route:
    key: str  # readable: "api/v1/pipelines/{name}/runs"
    pattern: str  # as written in the URLconf, for error messages
    view: type | None
    methods: tuple[str, ...]

    def path(self, **kwargs) -> str:
        return "/" + self.key.format(**kwargs)


def readable(pattern: str) -> str:
    text = pattern.replace("^", "").replace("$", "")
    text = _GROUP.sub(lambda m: "{" + m.group(1) + "}", text)
    text = _CONVERTER.sub(lambda m: "{" + m.group(1) + "}", text)
    text = text.replace("/?", "")
    return text.rstrip("/")


def _methods(callback) -> tuple[str, ...]:
    actions = getattr(callback, "actions", None)
    if actions:  # a DRF viewset: the router bound these (DRF adds "head" at request time: GET's twin)
        return tuple(sorted(m for m in actions if m not in ("options", "head")))
    view = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    if view is None:
        return ("get",)  # a plain function view
    # OPTIONS (DRF metadata, never an object) and HEAD (Django runs GET) are left out on purpose.
    names = [m for m in view.http_method_names if m not in ("options", "head", "trace")]
    return tuple(sorted(m for m in names if hasattr(view, m)))


def _walk(resolver, prefix=""):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            callback = entry.callback
            view = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
            pattern = prefix + str(entry.pattern)
            yield Route(key=readable(pattern), pattern=pattern, view=view, methods=_methods(callback))


def all_routes() -> list[Route]:
    """Unique by readable key (the slash and no-slash spellings of one route collapse)."""
    seen: dict[str, Route] = {}
    for route in _walk(get_resolver()):
        seen.setdefault(route.key, route)
    return list(seen.values())


def api_routes() -> list[Route]:
    return [route for route in all_routes() if route.key.startswith("api/")]


def write_methods(route: Route) -> list[str]:
    return [m for m in route.methods if m not in ("get", "head", "options")]
