"""Answer checks: what a cascade asks of a cheap model's answer before trusting it.

A check sees the request and the answer and says pass or fail with a reason; the reason is recorded
in the ledger and in ``X-Strata-Escalations``. A check that does not apply (``json`` when no JSON was
asked for) passes. ``judge`` asks another model and is async; the others are pure functions.
Plugins add checks under the ``strata.router.checks`` entry-point group (a function with the
signature of ``non_empty``).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from importlib.metadata import entry_points
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from strata.router.types import ChatRequest, CheckResult, Completion

__all__ = ["JUDGE_PROMPT", "Check", "builtin_checks", "judge_verdict", "load_checks"]

Check = Callable[[ChatRequest, Completion], CheckResult]
ENTRY_POINT_GROUP = "strata.router.checks"
MAX_ERROR_CHARS = 160
JUDGE_PROMPT = (
    "You grade an assistant's answer. Reply with exactly PASS if it answers the request correctly and "
    "completely, or FAIL followed by a short reason."
)


def non_empty(request: ChatRequest, answer: Completion) -> CheckResult:
    """The answer has text or tool calls."""
    ok = bool(answer.text.strip() or answer.tool_calls)
    return CheckResult("non_empty", ok, "" if ok else "the answer is empty")


def not_truncated(request: ChatRequest, answer: Completion) -> CheckResult:
    """The model stopped on its own, not at the token limit."""
    ok = answer.finish_reason != "length"
    return CheckResult("not_truncated", ok, "" if ok else "the answer was cut off at the token limit")


def _strip_fence(text: str) -> str:
    text = text.strip()
    if text.startswith("```") and text.endswith("```"):
        text = text.split("\n", 1)[1] if "\n" in text else ""
        text = text.rsplit("```", 1)[0]
    return text


def valid_json(request: ChatRequest, answer: Completion) -> CheckResult:
    """When JSON was asked for (response_format), the answer parses and fits the schema if one was given."""
    if not request.wants_json:
        return CheckResult("json", True, "not asked")
    try:
        value = json.loads(_strip_fence(answer.text))
    except ValueError as exc:
        return CheckResult("json", False, f"the answer is not valid JSON ({str(exc)[:MAX_ERROR_CHARS]})")
    schema = request.json_schema
    if schema is None:
        ok = isinstance(value, dict)
        return CheckResult("json", ok, "" if ok else "json_object was asked but the answer is not an object")
    return _against_schema("json", value, schema, "the answer")


def _against_schema(check: str, value: Any, schema: dict[str, Any], what: str) -> CheckResult:
    try:
        error = next(iter(Draft202012Validator(schema).iter_errors(value)), None)
    except SchemaError as exc:
        return CheckResult(check, True, f"schema not checkable: {exc.message[:MAX_ERROR_CHARS]}")
    if error is None:
        return CheckResult(check, True)
    where = "/".join(str(p) for p in error.absolute_path) or "(root)"
    return CheckResult(check, False, f"{what} does not match the schema at {where}: {error.message[:MAX_ERROR_CHARS]}")


def tool_calls_parse(request: ChatRequest, answer: Completion) -> CheckResult:
    """Tool calls name offered tools and carry arguments that parse and fit the tool's parameters."""
    if not request.tools:
        return CheckResult("tool_call", True, "no tools offered")
    offered = {
        (t.get("function") or {}).get("name"): (t.get("function") or {}).get("parameters") or {"type": "object"}
        for t in request.tools
    }
    choice = request.tool_choice
    required = choice == "required" or isinstance(choice, dict)
    if not answer.tool_calls:
        ok = not required
        return CheckResult("tool_call", ok, "" if ok else "a tool call was required but the answer has none")
    for call in answer.tool_calls:
        function = call.get("function") or {}
        name = function.get("name")
        if name not in offered:
            return CheckResult("tool_call", False, f"the answer calls '{name}', which was not offered")
        try:
            arguments = json.loads(function.get("arguments") or "{}")
        except ValueError:
            return CheckResult("tool_call", False, f"the arguments of '{name}' are not valid JSON")
        result = _against_schema("tool_call", arguments, offered[name], f"the arguments of '{name}'")
        if not result.passed:
            return result
    return CheckResult("tool_call", True)


def builtin_checks() -> dict[str, Check]:
    return {"non_empty": non_empty, "not_truncated": not_truncated, "json": valid_json, "tool_call": tool_calls_parse}


def load_checks() -> dict[str, Check]:
    """Built-in checks plus those installed under the ``strata.router.checks`` entry points."""
    checks = builtin_checks()
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        checks.setdefault(ep.name, ep.load())
    return checks


async def judge_verdict(
    ask: Callable[[list[dict[str, Any]]], Awaitable[str]], request: ChatRequest, answer: Completion
) -> CheckResult:
    """Ask a judge model (through ``ask``) whether the answer is good enough."""
    question = next((m.text() for m in reversed(request.messages) if m.role == "user"), "")
    shown = answer.text or json.dumps(answer.tool_calls)
    verdict = (
        await ask(
            [
                {"role": "system", "content": JUDGE_PROMPT},
                {"role": "user", "content": f"Request:\n{question[:8000]}\n\nAnswer:\n{shown[:8000]}"},
            ]
        )
    ).strip()
    ok = verdict.upper().startswith("PASS")
    return CheckResult("judge", ok, "" if ok else f"judge: {verdict[:MAX_ERROR_CHARS] or 'no verdict'}")
