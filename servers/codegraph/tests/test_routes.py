"""Framework routes linked to their handlers: Flask, FastAPI, Django and Express."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from strata.codegraph.index import index_repository
from strata.codegraph.service import CodeGraph

from .conftest import write_tree

APP = {
    "flaskapp/app.py": (
        "from flask import Flask\n"
        "app = Flask(__name__)\n\n"
        "@app.route('/login', methods=['GET', 'POST'])\n"
        "def login():\n    return 'ok'\n\n"
        "@app.get('/health')\n"
        "def health():\n    return 'ok'\n"
    ),
    "api/main.py": (
        "from fastapi import APIRouter, FastAPI\n"
        "api = FastAPI()\n"
        "router = APIRouter()\n\n"
        "@api.post('/items')\n"
        "async def create_item():\n    return {}\n\n"
        "@router.delete('/items/{item_id}')\n"
        "async def delete_item(item_id: int):\n    return {}\n"
    ),
    "shop/__init__.py": "",
    "shop/views.py": (
        "def cart(request):\n    return None\n\n"
        "class CheckoutView:\n    @classmethod\n    def as_view(cls):\n        return cls\n"
    ),
    "shop/urls.py": (
        "from django.urls import path\n"
        "from . import views\n\n"
        "urlpatterns = [\n"
        "    path('cart/', views.cart, name='cart'),\n"
        "    path('checkout/', views.CheckoutView.as_view()),\n"
        "]\n"
    ),
    "web/server.js": (
        "const express = require('express');\n"
        "const app = express();\n"
        "function listUsers(req, res) { res.send([]); }\n"
        "app.get('/users', listUsers);\n"
        "app.post('/users', (req, res) => res.send('created'));\n"
        "const accounts = require('./accounts');\n"
        "app.delete('/users/:id', accounts.remove);\n"
    ),
    # another remove(): the route above names the one its module imports, not this one
    "web/accounts.js": "function remove(req, res) { res.send('gone'); }\nmodule.exports = { remove };\n",
    "web/legacy.js": "function remove() {}\n",
    "notweb/cache.py": (
        "class Cache:\n    def get(self, key):\n        return lambda f: f\n"
        "cache = Cache()\n\n"
        "@cache.get('key')\n"
        "def cached():\n    pass\n"
    ),
}


@pytest.fixture(scope="module")
def graph(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CodeGraph]:
    root = tmp_path_factory.mktemp("routes")
    write_tree(root, APP)
    index_repository(root, root / ".strata")
    g = CodeGraph(root, root / ".strata")
    yield g
    g.close()


def routes(graph: CodeGraph, path: str = "", method: str | None = None) -> list[tuple[str, str, str, list[str]]]:
    return [(r.method, r.path, r.framework, r.handlers) for r in graph.routes(path, method, 50).items]


def test_every_framework_route_links_to_its_handler(graph: CodeGraph) -> None:
    assert routes(graph) == [
        ("GET", "/health", "flask", ["flaskapp.app.health"]),
        ("POST", "/items", "fastapi", ["api.main.create_item"]),
        ("DELETE", "/items/{item_id}", "fastapi", ["api.main.delete_item"]),
        ("GET,POST", "/login", "flask", ["flaskapp.app.login"]),
        ("GET", "/users", "express", ["web/server.js:listUsers"]),
        ("POST", "/users", "express", []),  # an inline arrow function has no symbol of its own
        ("DELETE", "/users/:id", "express", ["web/accounts.js:remove"]),
        ("*", "cart/", "django", ["shop.views.cart"]),
        ("*", "checkout/", "django", ["shop.views.CheckoutView"]),
    ]
    assert graph.status().routes == 9


def test_routes_filter_by_path_and_method(graph: CodeGraph) -> None:
    assert [r[1] for r in routes(graph, "items")] == ["/items", "/items/{item_id}"]
    assert [(r[0], r[1]) for r in routes(graph, "/users", "post")] == [("POST", "/users")]
    # a route without a fixed method answers any method
    assert [r[1] for r in routes(graph, "cart", "get")] == ["cart/"]


def test_a_non_web_decorator_is_not_a_route(graph: CodeGraph) -> None:
    assert all(r[1] != "key" for r in routes(graph))
