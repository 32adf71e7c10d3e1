"""The request trace of ``strata ask``: an explicit state machine over the event thread.

recall (memory) -> symbols (codegraph) -> route (router) -> plan (LLM through the router, JSON with a
schema, checked, retried with the compacted error, escalated) -> edits (one small agent per file) ->
approval (a human, or --yes) -> apply -> tests -> announce (voice) -> store (memory).

``Trace.run`` is a loop: ``step = thread.next_step()``, run it, append its events, save the thread.
Every step ends with one ``step_done`` / ``step_skipped`` / ``step_failed`` event, so a thread saved
at any point - paused for approval, or cut off by a crash - resumes at the first step that has not
ended. Steps read what earlier steps produced from the thread, never from this object.
"""

from __future__ import annotations

import ast
import difflib
import hashlib
import json
import os
import re
from collections.abc import Awaitable, Callable
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any

import anyio

from strata.orchestrator.agent.codemod import CodemodError, Target, module_of, switch_calls, use_sites
from strata.orchestrator.agent.settings import AskSettings
from strata.orchestrator.agent.testrun import detect_test_command, run_tests
from strata.orchestrator.agent.thread import Thread, thread_dir
from strata.orchestrator.agent.toolbox import Toolbox, compact_error
from strata.shared import telemetry

__all__ = ["Trace", "prompt", "request_keywords", "servers_needed"]

MAX_ANCHORS = 2_000  # anchored symbols one run checks
STOPWORDS = frozenset(
    [
        "a",
        "all",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "by",
        "can",
        "do",
        "every",
        "find",
        "for",
        "from",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "our",
        "places",
        "please",
        "refactor",
        "replace",
        "should",
        "so",
        "that",
        "the",
        "them",
        "then",
        "this",
        "to",
        "use",
        "used",
        "uses",
        "using",
        "we",
        "what",
        "where",
        "which",
        "with",
        "new",
        "old",
        "legacy",
        "module",
        "modules",
        "function",
        "functions",
        "code",
        "against",
        "server",
        "call",
        "calls",
    ]
)
MAX_KEYWORDS = 8
MAX_IN_USE = 5
MAX_CANDIDATES = 8
MAX_FILE_BYTES = 1_000_000
MAX_LINE_CHARS = 160
PLAN_MAX_TOKENS = 160
EDIT_TOKENS_PER_LINE = 24  # one {"line": n, "action": "rewrite"} decision, with room
Approver = Callable[[Thread], Awaitable[bool | None]]


STEP_SERVERS = {
    "recall": ("memory",),
    "symbols": ("codegraph", "memory"),  # memory: its anchors are checked against the code after the reindex
    "route": ("router",),
    "plan": ("router",),
    "edits": ("router",),
    "tests": ("router",),
    "announce": ("voice",),
    "store": ("memory", "codegraph"),  # codegraph: the content hashes the outcome is anchored to
}


def servers_needed(thread: Thread) -> list[str]:
    """The servers the steps still to run will call (a resumed run connects to those only)."""
    pending = [step for step in STEP_SERVERS if thread.outcome_of(step) is None]
    needed = {server for step in pending for server in STEP_SERVERS[step]}
    if not thread.options.voice:
        needed.discard("voice")
    return sorted(needed)


def prompt(name: str, **values: Any) -> str:
    """Render ``prompts/<name>.md`` (12-Factor #2: prompts are files in the package)."""
    text = resources.files("strata.orchestrator.agent").joinpath("prompts", f"{name}.md").read_text(encoding="utf-8")
    return Template(text).substitute(values).strip()


def request_keywords(request: str) -> list[str]:
    """Words of the request worth searching the code graph for, in order, without stopwords."""
    words = re.findall(r"[A-Za-z_][A-Za-z0-9_]{2,}", request)
    seen: dict[str, None] = {}
    for word in words:
        lowered = word.lower()
        if lowered not in STOPWORDS:
            seen.setdefault(lowered, None)
    return list(seen)[:MAX_KEYWORDS]


IDENTIFIER = re.compile(r"`([^`\s]{1,200})`|\b([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\b")


def request_names(request: str) -> list[str]:
    """The code names a request spells out: what it puts in backticks, and words only code is written as
    (``hash_password``, ``LdapClient.bind``, ``getUser``), each by its last segment; ``LDAP`` or ``SSO`` are words."""
    names: dict[str, None] = {}
    for quoted, word in IDENTIFIER.findall(request):
        token = quoted or word
        if quoted or "_" in token.strip("_") or "." in token or re.search(r"[a-z][A-Z]", token):
            last = token.rsplit(".", 1)[-1].strip("()")
            if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", last):
                names.setdefault(last, None)
    return list(names)


def project_scope(repo: Path) -> str:
    name = re.sub(r"[^\w.@+\-]", "-", repo.resolve().name)[:100] or "repo"
    return f"project:{name}"


def stable_id(symbol: dict[str, Any]) -> str:
    """codegraph's ``pkg.mod.func`` as memory's anchor ``pkg/mod.py::func``."""
    module = module_of(symbol["file"])
    qualified = symbol["id"].removeprefix(module + ".") if symbol["id"].startswith(module + ".") else symbol["id"]
    return f"{symbol['file']}::{qualified}"


def codegraph_id(stable: str) -> str | None:
    """The codegraph id of a ``stable_id`` (``pkg/mod.py::func`` -> ``pkg.mod.func``); None for another form."""
    file, sep, qualified = stable.partition("::")
    if not sep or not file or not qualified:
        return None
    return f"{module_of(file)}.{qualified}"


def _signature(source: str) -> str:
    """The ``def``/``class`` line(s) of a source excerpt."""
    lines: list[str] = []
    for line in source.splitlines():
        if not lines and line.lstrip().startswith("@"):  # decorators are not part of the signature
            continue
        lines.append(line.strip())
        if line.rstrip().endswith(":"):
            break
    return " ".join(lines)[:200]


def _required_params(signature: str) -> list[str] | None:
    """Positional parameters without defaults, from a ``def`` line; None if it is not a function."""
    text = signature if signature.endswith(":") else signature + ":"
    try:
        tree = ast.parse(text + " ...")
    except SyntaxError:
        return None
    node = tree.body[0] if tree.body else None
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    positional = [a.arg for a in [*node.args.posonlyargs, *node.args.args]]
    required = positional[: len(positional) - len(node.args.defaults)] if node.args.defaults else positional
    return [p for p in required if p not in ("self", "cls")]


def _replaceable(symbol: dict[str, Any]) -> bool:
    """A module-level function with a readable signature: what a call site can be pointed at."""
    return (
        symbol["kind"] == "function"
        and symbol["id"] == f"{module_of(symbol['file'])}.{symbol['name']}"
        and _required_params(symbol.get("signature", "")) is not None
    )


class Trace:
    """Runs a thread to its end, or to a pause for approval."""

    def __init__(
        self,
        thread: Thread,
        tools: Toolbox,
        settings: AskSettings,
        *,
        on_step: Callable[[Thread, str], None] | None = None,
        approver: Approver | None = None,
    ) -> None:
        self.thread = thread
        self.tools = tools
        self.settings = settings
        self.repo = Path(thread.repo)
        self.repo_real = os.path.realpath(self.repo)
        self.on_step = on_step
        self.approver = approver

    def save(self) -> Path:
        return self.thread.save(thread_dir(self.repo))

    async def run(self) -> Thread:
        """Run the thread's remaining steps in one ``invoke_agent`` span, a span per step: the MCP calls inside carry
        the trace to each server (fastmcp puts ``traceparent`` in their ``_meta``)."""
        with telemetry.span(
            "invoke_agent strata-ask", {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "strata-ask",
            "gen_ai.conversation.id": self.thread.id, "strata.repo": str(self.repo)},
        ) as current:  # fmt: skip
            thread = await self._run()
            current.set_attribute("strata.finished", thread.finished)
            return thread

    async def _run(self) -> Thread:
        while (step := self.thread.next_step()) is not None:
            before = len(self.thread.events)
            with telemetry.span(
                f"step {step}", {"strata.step": step, "gen_ai.conversation.id": self.thread.id}
            ) as current:
                await getattr(self, f"step_{step}")()
                outcome = self.thread.outcome_of(step)
                current.set_attribute("strata.outcome", outcome.type if outcome is not None else "paused")
            self.save()
            if self.on_step is not None:
                self.on_step(self.thread, step)
            if self.thread.outcome_of(step) is None:  # paused (approval): the thread waits for `resume`
                return self.thread
            assert len(self.thread.events) > before
        if not self.thread.finished:
            self.thread.add("finished", data=self.outcome())
            self.save()
        return self.thread

    # --- helpers -------------------------------------------------------------------------------
    def done(self, step: str, summary: str, **data: Any) -> None:
        self.thread.add("step_done", step, {"summary": summary, **data})

    def skipped(self, step: str, summary: str) -> None:
        self.thread.add("step_skipped", step, {"summary": summary})

    def failed(self, step: str, summary: str) -> None:
        self.thread.add("step_failed", step, {"summary": summary})

    async def ask_model(
        self, step: str, system: str, user: str, schema: dict[str, Any], *, tag: str, max_tokens: int,
        escalate: bool = False,
    ) -> tuple[dict[str, Any] | None, str]:  # fmt: skip
        """One LLM call through the router with a JSON schema; (answer, "") or (None, compacted error)."""
        args: dict[str, Any] = {
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
            "model": self.settings.route,
            "json_schema": schema,
            "temperature": 0,
            "max_tokens": max_tokens,
            "session": self.thread.id,
            "tags": ["strata-ask", tag],
        }
        if escalate and self.settings.escalate_to:
            args["policy"] = {"policy": "fixed", "model": self.settings.escalate_to}
        outcome = await self.tools.call(step, "router", "complete", args)
        if not outcome.ok or outcome.data is None:
            return None, outcome.error
        text = str(outcome.data.get("text", "")).strip()
        try:
            answer = json.loads(text.removeprefix("```json").removesuffix("```").strip())
        except ValueError as exc:
            return None, f"the answer is not JSON: {compact_error(exc)}"
        if not isinstance(answer, dict):
            return None, "the answer is not a JSON object"
        return answer, ""

    # --- the steps -----------------------------------------------------------------------------
    async def step_recall(self) -> None:
        outcome = await self.tools.call(
            "recall",
            "memory",
            "recall",
            {"query": self.thread.request[:2000], "k": 5, "scopes": [project_scope(self.repo)], "max_tokens": 600},
        )
        if not outcome.ok or outcome.data is None:
            self.skipped("recall", f"no memory recalled ({outcome.error})")
            return
        hits = [
            {"id": h["id"], "text": h["text"][:400], "kind": h["kind"], "when": str(h.get("occurred_at", ""))[:10]}
            for h in outcome.data.get("hits", [])
        ]
        self.done("recall", f"{len(hits)} memories recalled", memories=hits)

    async def step_symbols(self) -> None:
        step = "symbols"
        status = await self.tools.call(step, "codegraph", "reindex", {})
        if not status.ok:
            self.failed(step, f"codegraph cannot index the repository ({status.error})")
            return
        info = await self.tools.call(step, "codegraph", "index_status", {})
        root = (info.data or {}).get("root", "")
        if info.ok and root and root != self.repo_real:
            self.failed(
                step, f"the codegraph server indexes {root}, not {self.repo} - start it with --repo {self.repo}"
            )
            return
        anchors = await self._check_anchors(step)
        matched: dict[str, dict[str, Any]] = {}
        every_name: dict[str, None] = {}  # what the searches found, tests and private names too
        names = request_names(self.thread.request)
        searched = list(dict.fromkeys([*(n.lower() for n in names), *request_keywords(self.thread.request)]))
        for word in searched:
            found = await self.tools.call(
                step,
                "codegraph",
                "search_symbols",
                {"query": word, "kinds": ["function", "method", "class"], "limit": 20},
            )
            for item in (found.data or {}).get("items", []):
                every_name.setdefault(item["name"], None)
                if not item["name"].startswith("_") and not item.get("tests", "/test" in "/" + item["file"]):
                    matched.setdefault(item["id"], item)
        missing = [n for n in names if n.lower() not in {found.lower() for found in every_name}]
        if missing:  # a request about a name the code does not have is not about whatever else matched its words
            closest = difflib.get_close_matches(missing[0], list(every_name), n=3, cutoff=0.5)
            instead = (
                f"; closest: {', '.join(closest)}"
                if closest
                else f"; found instead: {', '.join(list(every_name)[:5]) or 'nothing'}"
            )
            self.failed(
                step,
                f"the request names {', '.join(missing)}, which the code graph does not define "
                f"(searched: {', '.join(searched)}){instead}",
            )
            return
        if names:  # what is replaced is what the request names, when it names something
            wanted = {n.lower() for n in names}
            matched = {k: v for k, v in matched.items() if v["name"].lower() in wanted} | {
                k: v for k, v in matched.items() if v["name"].lower() not in wanted
            }
        in_use: list[dict[str, Any]] = []
        for symbol in [s for s in matched.values() if s["kind"] in ("function", "method")][:15]:
            callers = await self.tools.call(step, "codegraph", "find_callers", {"symbol": symbol["id"], "limit": 100})
            sites = [
                {"caller": c["caller"], "file": c["file"], "line": c["line"]}
                for c in (callers.data or {}).get("items", [])
                if c["file"] != symbol["file"]
            ]
            if sites:
                in_use.append({**symbol, "callers": sites})
        if names:
            in_use = [s for s in in_use if s["name"].lower() in {n.lower() for n in names}]
        if not in_use:
            self.failed(step, "no function that matches the request is called from another file")
            return
        in_use.sort(key=lambda s: -len({c["file"] for c in s["callers"]}))
        in_use = in_use[:MAX_IN_USE]
        lead = in_use[0]["name"]
        used_ids = {s["id"] for s in in_use}
        candidates = [s for s in matched.values() if s["id"] not in used_ids and s["file"] != in_use[0]["file"]]
        candidates.sort(key=lambda s: -difflib.SequenceMatcher(None, lead, s["name"]).ratio())
        candidates = candidates[:MAX_CANDIDATES]
        for symbol in [*in_use, *candidates]:
            detail = await self.tools.call(step, "codegraph", "get_symbol", {"symbol": symbol["id"], "max_lines": 12})
            symbol["signature"] = _signature((detail.data or {}).get("source", ""))
        # Offer the model only what the plan checks can accept (12-Factor appendix: pre-fetch and filter in
        # code): module-level functions taking as many arguments as a function in use.
        arities = {len(p) for s in in_use if (p := _required_params(s["signature"])) is not None}
        considered = len(candidates)
        candidates = [
            s for s in candidates if _replaceable(s) and len(_required_params(s["signature"]) or ()) in arities
        ]
        if not candidates:
            self.failed(
                step, f"nothing in the code graph could replace {in_use[0]['id']} (no module-level function "
                f"with the same arguments among {considered} match(es))",
            )  # fmt: skip
            return
        files = len({c["file"] for s in in_use for c in s["callers"]})
        self.done(
            step,
            f"{len(in_use)} function(s) in use from {files} file(s); {len(candidates)} candidate replacement(s) "
            f"with the same arguments (of {considered} matches)",
            in_use=in_use,
            candidates=candidates,
            anchors=anchors,
        )

    async def _check_anchors(self, step: str) -> dict[str, Any]:
        """After the reindex: the project's memories anchored to code are checked against the code now (memory's
        anchored_symbols -> codegraph's symbol_hashes -> memory's check_anchors), so a memory whose code changed
        or went away is marked for review. Neither server knows the other; a failure only skips the check."""
        listed = await self.tools.call(
            step, "memory", "anchored_symbols", {"scopes": [project_scope(self.repo)], "limit": MAX_ANCHORS}
        )
        if not listed.ok or listed.data is None:
            return {"checked": False, "why": listed.error}
        stable = [s for s in listed.data.get("symbols", []) if codegraph_id(s) is not None]
        if not stable:
            return {"checked": True, "symbols": 0, "marked": []}
        ids = {str(codegraph_id(s)): s for s in stable}
        now: dict[str, str | None] = {}
        for start in range(0, len(ids), 500):
            hashes = await self.tools.call(
                step, "codegraph", "symbol_hashes", {"symbols": list(ids)[start : start + 500]}
            )
            if not hashes.ok or hashes.data is None:
                return {"checked": False, "why": hashes.error}
            for item in hashes.data.get("items", []):
                if not item["exists"]:
                    now[ids[item["symbol"]]] = None
                elif item.get("content_hash"):
                    now[ids[item["symbol"]]] = item["content_hash"]
        checked = await self.tools.call(step, "memory", "check_anchors", {"symbols": now}) if now else None
        if checked is not None and (not checked.ok or checked.data is None):
            return {"checked": False, "why": checked.error}
        marked = (checked.data or {}).get("marked", []) if checked is not None else []
        return {"checked": True, "symbols": len(now), "marked": marked}

    def plan_messages(self, rejected: list[str]) -> tuple[str, str]:
        symbols = self.thread.result("symbols")
        memories = self.thread.result("recall").get("memories", [])
        in_use = "\n".join(
            f"- {s['id']}: {s.get('signature', '')} - called from "
            + ", ".join(sorted({c["file"] for c in s["callers"]}))
            for s in symbols["in_use"]
        )
        candidates = "\n".join(f"- {s['id']} [{s['kind']}]: {s.get('signature', '')}" for s in symbols["candidates"])
        remembered = "\n".join(f"- ({m['when']}, {m['kind']}) {m['text']}" for m in memories) or "- nothing yet"
        notes = "".join(f"\nRejected before: {r}" for r in rejected)
        user = prompt(
            "plan.user", request=self.thread.request, memories=remembered, in_use=in_use, candidates=candidates,
            rejected=notes,
        )  # fmt: skip
        return prompt("plan.system"), user

    async def step_route(self) -> None:
        if not self.thread.result("symbols"):
            self.skipped("route", "nothing to plan (no symbols)")
            return
        system, user = self.plan_messages([])
        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        outcome = await self.tools.call(
            "route",
            "router",
            "estimate_cost",
            {"messages": messages, "model": self.settings.route, "max_tokens": PLAN_MAX_TOKENS},
        )
        if not outcome.ok or outcome.data is None:
            self.failed("route", f"the router cannot route the plan ({outcome.error})")
            return
        tiers = [t["model"] for t in outcome.data.get("tiers", [])]
        summary = f"route {outcome.data.get('route')}: {' -> '.join(tiers)}, est. ${outcome.data.get('first_call_usd', 0):.6f}"
        if self.settings.escalate_to:
            summary += f"; escalation: {self.settings.escalate_to}"
        self.done("route", summary, route=outcome.data.get("route"), tiers=tiers)

    def check_plan(self, answer: dict[str, Any]) -> tuple[dict[str, Any] | None, str, bool]:
        """Deterministic checks of a plan: (plan, "", _) or (None, the reason to feed back, blame "with")."""
        symbols = self.thread.result("symbols")
        by_id = {s["id"]: s for s in [*symbols["in_use"], *symbols["candidates"]]}
        old, new = by_id.get(str(answer.get("replace"))), by_id.get(str(answer.get("with")))
        if old is None or new is None:
            return None, "replace and with must be ids from the lists", False
        if old["id"] == new["id"]:
            return None, "replace and with are the same function", True
        for role, symbol in (("replace", old), ("with", new)):
            if symbol["kind"] != "function" or symbol["id"] != f"{module_of(symbol['file'])}.{symbol['name']}":
                return (
                    None,
                    f"{symbol['id']} ({role}) is a {symbol['kind']}, not a module-level function",
                    role == "with",
                )
        old_params, new_params = _required_params(old["signature"]), _required_params(new["signature"])
        if old_params is not None and new_params is not None and len(old_params) != len(new_params):
            reason = f"{new['id']} takes ({', '.join(new_params)}) but the callers pass ({', '.join(old_params)})"
            return None, reason, True
        sites: dict[str, list[int]] = {}
        for caller in old["callers"]:
            sites.setdefault(caller["file"], []).append(caller["line"])
        return {"replace": old, "with": new, "confidence": answer.get("confidence"), "sites": sites}, "", False

    def plan_schema(self, excluded: set[str]) -> dict[str, Any]:
        """The plan as a structured output: choices among what codegraph found (12-Factor #4)."""
        symbols = self.thread.result("symbols")
        allowed = [s["id"] for s in symbols["candidates"] if s["id"] not in excluded]
        return {
            "type": "object",
            "properties": {
                "replace": {"type": "string", "enum": [s["id"] for s in symbols["in_use"]]},
                "with": {"type": "string", "enum": allowed or [s["id"] for s in symbols["candidates"]]},
                "confidence": {"type": "string", "enum": ["high", "medium", "low"]},
            },
            "required": ["replace", "with", "confidence"],
            "additionalProperties": False,
        }

    async def step_plan(self) -> None:
        """Ask for a plan; a failed check goes back to the model (at most max_retries times), then to
        ``escalate_to`` if configured. A low-confidence plan escalates too; without a stronger model it
        is kept, marked, and the approval step is the safeguard."""
        step = "plan"
        if not self.thread.result("route"):
            self.skipped(step, "no route for the plan")
            return
        rejected: list[str] = []
        excluded: set[str] = set()
        local_tries, escalate = 0, False
        while True:
            system, user = self.plan_messages(rejected)
            answer, error = await self.ask_model(
                step,
                system,
                user,
                self.plan_schema(excluded),
                tag="plan",
                max_tokens=PLAN_MAX_TOKENS,
                escalate=escalate,
            )
            plan, reason, blame_with = (None, error, False) if answer is None else self.check_plan(answer)
            if plan is not None and plan["confidence"] == "low" and self.settings.escalate_to and not escalate:
                self.thread.add("llm_rejected", step, {"attempt": local_tries + 1, "answer": answer,
                                                       "error": "confidence is low: escalating"})  # fmt: skip
                escalate = True
                continue
            if plan is not None:
                model = self.thread.tool_calls(step)[-1].data.get("model")
                old, new = plan["replace"], plan["with"]
                self.done(
                    step,
                    f"replace {old['id']} with {new['id']} in {len(plan['sites'])} file(s) "
                    f"({plan['confidence']} confidence, {model}{', escalated' if escalate else ''})",
                    **plan, escalated=escalate,
                )  # fmt: skip
                return
            self.thread.add("llm_rejected", step, {"attempt": local_tries + 1, "answer": answer, "error": reason})
            rejected.append(f"{json.dumps(answer)} - {reason}" if answer else reason)
            if blame_with and answer:
                excluded.add(str(answer["with"]))
            local_tries += 1
            if escalate or (answer is None and "unavailable" in reason):
                break
            if local_tries > self.settings.max_retries:
                if not self.settings.escalate_to:
                    break
                escalate = True
        hint = "" if self.settings.escalate_to else " - set [orchestrator] escalate_to for a stronger model"
        self.failed(step, f"no valid plan after {len(rejected)} answer(s): {rejected[-1]}{hint}")

    async def step_edits(self) -> None:
        step = "edits"
        plan = self.thread.result("plan")
        if not plan:
            self.skipped(step, "no plan")
            return
        old = Target(module_of(plan["replace"]["file"]), plan["replace"]["name"])
        new = Target(module_of(plan["with"]["file"]), plan["with"]["name"])
        edits: list[dict[str, Any]] = []
        left: list[dict[str, str]] = []
        for path in sorted(plan["sites"])[: self.settings.max_files]:
            edit, reason = await self.edit_file(path, old, new)
            if edit is not None:
                edits.append(edit)
            else:
                left.append({"file": path, "reason": reason})
        if len(plan["sites"]) > self.settings.max_files:
            left.append(
                {"file": "...", "reason": f"{len(plan['sites']) - self.settings.max_files} more files over max_files"}
            )
        sites = sum(len(e["rewritten"]) for e in edits)
        summary = f"{len(edits)} file(s) edited, {sites} call site(s) rewritten"
        if left:
            summary += f"; {len(left)} file(s) left as they are"
        self.done(step, summary, edits=edits, left=left)

    async def edit_file(self, path: str, old: Target, new: Target) -> tuple[dict[str, Any] | None, str]:
        """One small edit agent: it decides per line (rewrite or keep); the codemod makes the change."""
        step = "edits"
        file = (self.repo / path).resolve()
        if not file.is_relative_to(self.repo.resolve()) or not file.is_file():
            return None, "not a file in the repository"
        if file.suffix != ".py":
            return None, "only Python files are edited in this version"
        if file.stat().st_size > MAX_FILE_BYTES:
            return None, f"larger than {MAX_FILE_BYTES} bytes"
        source = file.read_text(encoding="utf-8")
        try:
            lines = use_sites(source, path, old)[: self.settings.max_sites]
        except CodemodError as exc:
            return None, exc.message
        if not lines:
            return None, f"no use of {old.name} found in the file"
        text = source.splitlines()
        numbered = "\n".join(f"{n}: {text[n - 1].strip()[:MAX_LINE_CHARS]}" for n in lines)
        schema = {
            "type": "object",
            "properties": {
                "decisions": {
                    "type": "array",
                    "prefixItems": [
                        {
                            "type": "object",
                            "properties": {"line": {"const": n}, "action": {"enum": ["rewrite", "keep"]}},
                            "required": ["line", "action"],
                            "additionalProperties": False,
                        }
                        for n in lines
                    ],
                    "items": False,
                    "minItems": len(lines),
                }
            },
            "required": ["decisions"],
            "additionalProperties": False,
        }
        why = self.thread.result("plan").get("summary", "") or self.thread.request
        rejected: list[str] = []
        for attempt in range(self.settings.max_retries + 2):
            escalate = attempt == self.settings.max_retries + 1
            if escalate and not self.settings.escalate_to:
                break
            notes = "".join(f"\nRejected before: {r}" for r in rejected)
            user = prompt("edit.user", old=old.id, new=new.id, why=why, path=path, lines=numbered, rejected=notes)
            answer, error = await self.ask_model(
                step,
                prompt("edit.system"),
                user,
                schema,
                tag="edit",
                max_tokens=EDIT_TOKENS_PER_LINE * (len(lines) + 2),
                escalate=escalate,
            )
            if answer is None:
                if "unavailable" in error:
                    return None, error
                rejected.append(error)
                continue
            decisions = {d.get("line"): d.get("action") for d in answer.get("decisions", []) if isinstance(d, dict)}
            chosen = {n for n in lines if decisions.get(n) == "rewrite"}
            if set(decisions) != set(lines):
                reason = f"answer every line exactly once: {lines}"
            elif not chosen:
                reason = f"every line was kept, but the plan moves this file to {new.name}"
            else:
                try:
                    edit = switch_calls(path, source, old, new, chosen)
                except CodemodError as exc:
                    return None, exc.message
                return {
                    "file": path,
                    "rewritten": edit.rewritten,
                    "kept": [n for n in lines if n not in chosen],
                    "diff": edit.diff,
                    "sha256_before": hashlib.sha256(source.encode()).hexdigest(),
                    "after": edit.after,
                    "attempts": attempt + 1,
                    "escalated": escalate,
                }, ""
            self.thread.add(
                "llm_rejected", step, {"file": path, "attempt": attempt + 1, "answer": answer, "error": reason}
            )
            rejected.append(reason)
        return None, f"the edit agent kept every line ({rejected[-1] if rejected else 'no answer'})"

    async def step_approval(self) -> None:
        step = "approval"
        edits = self.thread.result("edits").get("edits", [])
        if not edits:
            self.skipped(step, "nothing to approve")
            return
        answer = self.latest_approval()
        if answer is None and self.thread.options.yes:
            self.thread.add("approval", step, {"approved": True, "by": "--yes"})
            answer = True
        if answer is None and self.approver is not None:
            self.thread.add("awaiting_approval", step, {"files": [e["file"] for e in edits]})
            decided = await self.approver(self.thread)
            if decided is not None:
                self.thread.add("approval", step, {"approved": decided, "by": "human"})
                answer = decided
        if answer is None:
            if not self.thread.awaiting_approval:
                self.thread.add("awaiting_approval", step, {"files": [e["file"] for e in edits]})
            return  # paused: `strata resume <thread> --yes` continues
        who = next(e.data.get("by") for e in reversed(self.thread.events) if e.type == "approval")
        self.done(step, f"{'approved' if answer else 'rejected'} by {who}", approved=answer)

    def latest_approval(self) -> bool | None:
        for event in reversed(self.thread.events):
            if event.type == "approval":
                return bool(event.data.get("approved"))
            if event.type == "awaiting_approval":
                return None
        return None

    async def step_apply(self) -> None:
        step = "apply"
        if not self.thread.result("approval").get("approved"):
            self.skipped(step, "not approved")
            return
        changed: list[str] = []
        refused: list[dict[str, str]] = []
        for edit in self.thread.result("edits")["edits"]:
            file = self.repo / edit["file"]
            current = file.read_bytes() if file.exists() else b""
            if hashlib.sha256(current).hexdigest() != edit["sha256_before"]:
                refused.append({"file": edit["file"], "reason": "changed since the diff was made"})
                continue
            tmp = file.with_name(f".{file.name}.strata-{os.getpid()}")
            tmp.write_text(edit["after"], encoding="utf-8")
            os.replace(tmp, file)
            changed.append(edit["file"])
        patch = thread_dir(self.repo) / f"{self.thread.id}.patch"
        patch.parent.mkdir(parents=True, exist_ok=True)
        patch.write_text("".join(e["diff"] for e in self.thread.result("edits")["edits"]), encoding="utf-8")
        summary = f"{len(changed)} file(s) changed"
        if refused:
            summary += f", {len(refused)} refused (changed since the diff)"
        if changed:
            self.done(step, summary, changed=changed, refused=refused, patch=str(patch))
        else:
            self.failed(step, summary)

    async def step_tests(self) -> None:
        step = "tests"
        if not self.thread.result("apply").get("changed"):
            self.skipped(step, "nothing changed")
            return
        command = self.thread.options.test_command or self.settings.test_command or detect_test_command(self.repo)
        if not command:
            self.skipped(step, "no test command configured or detected")
            return
        result = await anyio.to_thread.run_sync(lambda: run_tests(self.repo, command, self.settings.test_timeout_s))
        compact: str
        packed = (
            await self.tools.call(step, "router", "compress", {"text": result.output or "(no output)"})
            if result.output
            else None
        )
        if packed is not None and packed.ok and packed.data is not None:
            compact = str(packed.data.get("text", ""))[-4000:]
        else:
            compact = "\n".join(result.output.splitlines()[-40:])
        summary = f"{result.failures} failure(s)"
        if result.passed is not None:
            summary += f", {result.passed} passed"
        summary += (
            f" ({' '.join(Path(c).name if i == 0 else c for i, c in enumerate(command))}, {result.seconds:.1f} s)"
        )
        self.done(
            step, summary, command=command, exit_code=result.exit_code, failures=result.failures,
            passed=result.passed, seconds=result.seconds, timed_out=result.timed_out, output=compact,
        )  # fmt: skip

    def announcement(self) -> str:
        changed = len(self.thread.result("apply").get("changed", []))
        tests = self.thread.result("tests")
        if changed:
            failures = tests.get("failures")
            said = f", {failures} test failure{'s' if failures != 1 else ''}" if failures is not None else ""
            return f"Refactor complete, {changed} file{'s' if changed != 1 else ''} changed{said}."
        if self.thread.result("approval") and not self.thread.result("approval").get("approved"):
            return "Refactor rejected, no files changed."
        return "Refactor stopped, no files changed."

    async def step_announce(self) -> None:
        step = "announce"
        if not self.thread.options.voice:
            self.skipped(step, "no announcement (--voice not given)")
            return
        text = self.announcement()
        args: dict[str, Any] = {"text": text, "format": "wav"}
        if self.settings.voice:
            args["voice"] = self.settings.voice
        outcome = await self.tools.call(step, "voice", "speak", args)
        if not outcome.ok or outcome.data is None:
            self.skipped(step, f"no announcement: {outcome.error}")
            return
        self.done(step, f'"{text}" -> {outcome.data.get("path")}', text=text, path=outcome.data.get("path"),
                  duration_s=outcome.data.get("duration_s"))  # fmt: skip

    def outcome(self) -> dict[str, Any]:
        changed = self.thread.result("apply").get("changed", [])
        tests = self.thread.result("tests")
        degraded = sorted({str(e.data["server"]) for e in self.thread.events if e.type == "server_unavailable"}
                          | {str(e.data["server"]) for e in self.thread.tool_calls() if e.data.get("outcome") == "unavailable"})  # fmt: skip
        failed = [e.step for e in self.thread.events if e.type == "step_failed"]
        approval = self.thread.result("approval")
        if failed and not changed:
            status = "failed"
        elif approval and not approval.get("approved"):
            status = "rejected"
        elif degraded or failed:
            status = "degraded"
        else:
            status = "completed"
        return {
            "status": status,
            "files_changed": len(changed),
            "test_failures": tests.get("failures"),
            "failed_steps": failed,
            "unavailable_servers": degraded,
            "message": self.announcement(),
        }

    async def step_store(self) -> None:
        step = "store"
        plan = self.thread.result("plan")
        outcome = self.outcome()
        text = f"strata ask ({self.thread.id}): {self.thread.request} -> {outcome['message']}"
        if plan:
            text += f" Replaced {plan['replace']['id']} with {plan['with']['id']}"
            files = self.thread.result("apply").get("changed", [])
            text += f" in {', '.join(files)}." if files else " (nothing applied)."
        if outcome["failed_steps"]:
            text += f" Failed steps: {', '.join(outcome['failed_steps'])}."
        args: dict[str, Any] = {
            "text": text[:4000],
            "kind": "outcome",
            "scope": project_scope(self.repo),
            "tags": ["strata-ask", outcome["status"]],
            "source": f"strata ask {self.thread.id}",
        }
        if plan:
            symbols = {stable_id(plan["replace"]): plan["replace"]["id"], stable_id(plan["with"]): plan["with"]["id"]}
            args["about"] = list(symbols)
            # The code both functions had when this was written: a later run's reindex flags this memory for
            # review once either changes or goes (anchors).
            hashes = await self.tools.call(step, "codegraph", "symbol_hashes", {"symbols": list(symbols.values())})
            now = {i["symbol"]: i.get("content_hash") for i in (hashes.data or {}).get("items", []) if i["exists"]}
            anchors = {s: now[cid] for s, cid in symbols.items() if now.get(cid) and codegraph_id(s) == cid}
            if anchors:
                args["anchors"] = anchors
        stored = await self.tools.call(step, "memory", "remember", args)
        if not stored.ok or stored.data is None:
            self.skipped(step, f"outcome not stored: {stored.error}")
            return
        self.done(step, f"outcome stored as {stored.data.get('id')}", id=stored.data.get("id"), text=text[:4000])
