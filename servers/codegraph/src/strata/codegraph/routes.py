"""HTTP routes and the handlers they call: Flask, FastAPI, Django (urls.py) and Express.

Python routes reuse the points-to analysis, so a handler passed as ``views.login`` or imported under
another name still links to its definition. Express routes are read from the syntax tree; a named
handler links by name like any other call, an inline function links to the enclosing file.
"""

from __future__ import annotations

from dataclasses import dataclass

from strata.codegraph.pycalls import PyProject, Scope
from strata.codegraph.pysyntax import Node

__all__ = ["Route", "express_routes", "python_routes"]

# Decorator attribute -> HTTP method ("*" = from methods=[...] or any).
DECORATOR_METHODS = {
    "route": "*",
    "api_route": "*",
    "get": "GET",
    "post": "POST",
    "put": "PUT",
    "delete": "DELETE",
    "patch": "PATCH",
    "head": "HEAD",
    "options": "OPTIONS",
    "websocket": "WEBSOCKET",
}
EXPRESS_METHODS = {"get", "post", "put", "delete", "patch", "all", "options", "head"}
DJANGO_FUNCTIONS = {"path", "re_path", "url"}


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    framework: str
    file: str
    line: int
    handlers: tuple[str, ...]  # symbol ids; empty when the handler is inline or unknown

    @property
    def id(self) -> str:
        return f"route:{self.method} {self.path} @{self.file}:{self.line}"


def python_routes(project: PyProject, file_of: dict[str, str], modules: set[str] | None = None) -> list[Route]:
    """Routes declared in Python (all modules, or only ``modules``)."""
    routes: list[Route] = []
    if modules is None:
        scopes = list(project.scopes.values())
    else:
        scopes = [
            project.scopes[f] for m in sorted(modules) for f in project.module_scopes.get(m, []) if f in project.scopes
        ]
    for scope in scopes:
        if scope.parent is not None:
            for decorator in scope.route_decorators:
                route = _decorator_route(project, decorator, scope.parent, scope.fqn, file_of.get(scope.module, ""))
                if route is not None:
                    routes.append(route)
        if scope.url_calls:
            routes.extend(_django_routes(project, scope, file_of.get(scope.module, "")))
    return sorted(routes, key=lambda r: (r.file, r.line))


def _decorator_route(project: PyProject, decorator: Node, scope: Scope, handler: str, file: str) -> Route | None:
    """``@app.get("/path")``: ``decorator`` is (attr, object expr, path, methods listed, line) (pysyntax)."""
    attr, obj, path, listed, line = decorator
    kind = DECORATOR_METHODS.get(attr)
    if kind is None:
        return None
    framework = _framework(project.eval(obj, scope))
    if framework is None:
        return None  # @cache.get("x") and friends: not a web framework object
    methods = [kind]
    if kind == "*":
        methods = [m.upper() for m in listed] or ["GET" if framework == "flask" else "*"]
    return Route(",".join(methods), path, framework, file, line, (handler,))


def _framework(values: set[str]) -> str | None:
    """Which framework an app/router object belongs to, from what it points to."""
    for value in values:
        top = value.split(".", 1)[0]
        if top in ("flask", "fastapi", "starlette", "quart", "sanic"):
            return top
    return None


def _django_routes(project: PyProject, scope: Scope, file: str) -> list[Route]:
    """``path("login/", views.login)`` in a module named ``urls``: ``scope.url_calls`` holds (function name,
    path, view expr, line) of every call with a string first argument (pysyntax)."""
    out: list[Route] = []
    for name, path, view, line in scope.url_calls:
        if name not in DJANGO_FUNCTIONS:
            continue
        handlers = tuple(sorted(v for v in project.eval(view, scope) if v in project.scopes))
        out.append(Route("*", path, "django", file, line, handlers))
    return out


def express_routes(relative_path: str, source: bytes, language: object) -> list[tuple[Route, str | None]]:
    """Express routes in one JS/TS file: (route, handler name or `module.name` to resolve, None when inline)."""
    from tree_sitter import Parser, Query, QueryCursor

    query = Query(
        language,  # type: ignore[arg-type]
        """(call_expression
             function: (member_expression object: (identifier) @object property: (property_identifier) @method)
             arguments: (arguments . (string) @path)) @call""",
    )
    tree = Parser(language).parse(source)  # type: ignore[arg-type]
    out: list[tuple[Route, str | None]] = []
    for _, captures in QueryCursor(query).matches(tree.root_node):
        method = _text(captures["method"][0])
        if method not in EXPRESS_METHODS:
            continue
        call = captures["call"][0]
        arguments = call.child_by_field_name("arguments")
        named = [c for c in arguments.named_children if c.type != "comment"] if arguments is not None else []
        last = named[-1] if len(named) >= 2 else None
        simple = last is not None and (
            last.type == "identifier"
            or (
                last.type == "member_expression"
                and getattr(last.child_by_field_name("object"), "type", "") == "identifier"
            )
        )
        handler = _text(last) if simple else None  # `login` or `auth.login`; inline functions have none
        path = _text(captures["path"][0]).strip("'\"`")
        route = Route(
            method.upper() if method != "all" else "*", path, "express", relative_path, call.start_point[0] + 1, ()
        )
        out.append((route, handler))
    return out


def _text(node: object) -> str:
    raw = getattr(node, "text", None)
    return raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else ""
