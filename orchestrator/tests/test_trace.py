"""The trace's deterministic parts: request words, signatures, and the checks a plan must pass."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from strata.orchestrator.agent.settings import AskSettings
from strata.orchestrator.agent.thread import Thread, ThreadOptions
from strata.orchestrator.agent.trace import Trace, _required_params, _signature, prompt, request_keywords

OLD = {"id": "app.auth.ldap.ldap_login", "name": "ldap_login", "kind": "function", "file": "app/auth/ldap.py",
       "signature": "def ldap_login(user, password):",
       "callers": [{"caller": "app.web.login", "file": "app/web.py", "line": 7},
                   {"caller": "app.api.token", "file": "app/api.py", "line": 3}]}  # fmt: skip
NEW = {"id": "app.auth.sso.sso_login", "name": "sso_login", "kind": "function", "file": "app/auth/sso.py",
       "signature": "def sso_login(user, password, scope='openid'):"}  # fmt: skip
CLIENT = {"id": "app.auth.sso.Client", "name": "Client", "kind": "class", "file": "app/auth/sso.py",
          "signature": "class Client:"}  # fmt: skip
REFRESH = {"id": "app.auth.sso.refresh", "name": "refresh", "kind": "function", "file": "app/auth/sso.py",
           "signature": "def refresh(token):"}  # fmt: skip


def trace_with_symbols(tmp_path: Path) -> Trace:
    thread = Thread.start("move ldap logins to sso", tmp_path, ThreadOptions())
    thread.add("step_done", "symbols", {"summary": "", "in_use": [OLD], "candidates": [NEW, CLIENT, REFRESH]})
    return Trace(thread, tools=None, settings=AskSettings())  # type: ignore[arg-type]


def check(trace: Trace, **answer: Any) -> tuple[dict[str, Any] | None, str, bool]:
    return trace.check_plan({"replace": OLD["id"], "confidence": "high", **answer})


def test_plan_checks(tmp_path: Path) -> None:
    trace = trace_with_symbols(tmp_path)
    plan, reason, _ = check(trace, **{"with": NEW["id"]})
    assert reason == "" and plan is not None and plan["sites"] == {"app/web.py": [7], "app/api.py": [3]}
    assert check(trace, **{"with": CLIENT["id"]})[1:] == ("app.auth.sso.Client (with) is a class, not a module-level function", True)  # fmt: skip
    assert check(trace, **{"with": REFRESH["id"]})[1:] == (
        "app.auth.sso.refresh takes (token) but the callers pass (user, password)", True,
    )  # fmt: skip
    assert check(trace, **{"with": "made.up"})[1:] == ("replace and with must be ids from the lists", False)
    assert check(trace, **{"with": OLD["id"]})[1] == "replace and with are the same function"
    schema = trace.plan_schema({CLIENT["id"]})
    assert schema["properties"]["with"]["enum"] == [NEW["id"], REFRESH["id"]]


def test_signatures_and_request_words() -> None:
    signature = _signature("@cache\n@retry(3)\ndef f(a,\n      b=2, *, c):\n    return a")
    assert signature == "def f(a, b=2, *, c):" and _required_params(signature) == ["a"]
    assert _required_params("def m(self, dn, password) -> bool:") == ["dn", "password"]
    assert _required_params("class X(Base):") is None
    words = request_keywords(
        "Find all places that authenticate against the legacy LDAP server and use the new SSO module"
    )
    assert words == ["authenticate", "ldap", "sso"]


def test_prompts_are_package_files_with_every_placeholder_filled() -> None:
    text = prompt("edit.user", old="a.f", new="b.g", why="because", path="x.py", lines="3: f()", rejected="")
    assert text.startswith("Refactor: a.f -> b.g") and "$" not in text
    assert "JSON" in prompt("plan.system")
