"""The terminal view of a trace (rich): one block per step as it ends, then the outcome."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.syntax import Syntax
from rich.table import Table

from strata.orchestrator.agent.thread import Thread, thread_dir

__all__ = ["StepPrinter", "print_outcome"]

MARKS = {"step_done": "[green]✓[/]", "step_skipped": "[yellow]-[/]", "step_failed": "[red]✗[/]"}


class StepPrinter:
    """Prints each step when it ends; the diffs after the edit agents; the pause for approval."""

    def __init__(self, console: Console, *, show_diffs: bool = True) -> None:
        self.console = console
        self.show_diffs = show_diffs

    def __call__(self, thread: Thread, step: str) -> None:
        ended = thread.outcome_of(step)
        if ended is None:
            if thread.awaiting_approval:
                self.console.print(f"[bold yellow]⏸ approval[/]  waiting - continue with "
                                   f"[bold]strata resume {thread.id} --repo {thread.repo} --yes[/] (or --reject)")  # fmt: skip
            return
        summary = escape(str(ended.data.get("summary", "")))
        self.console.print(f"{MARKS[ended.type]} [bold]{step:<9}[/] {summary}", highlight=False)
        calls = _grouped_calls(thread, step)
        if calls:
            self.console.print(calls)
        for event in thread.events:
            if event.type == "llm_rejected" and event.step == step:
                where = f" {event.data['file']}" if "file" in event.data else ""
                self.console.print(f"    [yellow]↻ answer {event.data['attempt']}{where} rejected:[/] {escape(str(event.data['error']))}",
                                   highlight=False)  # fmt: skip
        if step == "edits" and self.show_diffs:
            for edit in ended.data.get("edits", []):
                self.console.print(Syntax(edit["diff"], "diff", theme="ansi_dark", background_color="default"))
            for left in ended.data.get("left", []):
                self.console.print(f"    [yellow]left as is:[/] {escape(left['file'])} - {escape(left['reason'])}")
        if step == "tests" and ended.type == "step_done" and ended.data.get("failures"):
            self.console.print(ended.data.get("output", ""), markup=False, highlight=False)


def _grouped_calls(thread: Thread, step: str) -> Table | None:
    calls = thread.tool_calls(step)
    if not calls:
        return None
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for call in calls:
        groups[f"{call.data['server']}.{call.data['tool']}"].append(call.data)
    table = Table(box=None, padding=(0, 1), show_header=False, pad_edge=False)
    for column in ("", "tool", "calls", "ms", "tokens in/out", "model", "cost $", "cache", "outcome"):
        table.add_column(column, style="dim" if column in ("calls", "ms") else None)
    for name, items in groups.items():
        outcomes = sorted({i.get("outcome", "?") for i in items})
        outcome = ", ".join(f"[green]{o}[/]" if o == "ok" else f"[red]{o}[/]" for o in outcomes)
        errors = {i.get("error") for i in items if i.get("error")}
        if errors:
            outcome += escape(f" ({'; '.join(sorted(e for e in errors if e))[:120]})")
        estimated = any(i.get("tokens_estimated") for i in items)
        tokens = f"{'~' if estimated else ''}{sum(int(i.get('tokens_in', 0)) for i in items)}/{sum(int(i.get('tokens_out', 0)) for i in items)}"
        models = sorted({str(i["model"]) for i in items if i.get("model")})
        caches = sorted({str(i["cache"]) for i in items if i.get("cache")})
        cost = sum(float(i.get("cost_usd", 0) or 0) for i in items)
        table.add_row(
            "   ", name, f"×{len(items)}", f"{sum(float(i.get('latency_ms', 0)) for i in items):.0f}", tokens,
            ", ".join(models) or "-", f"{cost:.6f}" if models else "-", ", ".join(caches) or "-", outcome,
        )  # fmt: skip
    return table


def print_outcome(console: Console, thread: Thread) -> None:
    trace = thread.trace()
    totals = trace["totals"]
    directory = thread_dir(Path(thread.repo))
    outcome = trace["outcome"]
    if outcome is None:
        console.print(f"[bold yellow]paused[/] thread {thread.id} ({directory / (thread.id + '.json')})")
        return
    colour = {"completed": "green", "degraded": "yellow", "rejected": "yellow"}.get(outcome["status"], "red")
    console.print(
        f"[bold {colour}]{outcome['status']}[/]: {escape(outcome['message'])}"
        + (f" Unavailable: {', '.join(outcome['unavailable_servers'])}." if outcome["unavailable_servers"] else ""),
        highlight=False,
    )
    console.print(
        f"thread {thread.id} · {len(trace['calls'])} tool calls · {totals['latency_ms'] / 1000:.1f} s in tools · "
        f"{totals['tokens_in']}/{totals['tokens_out']} tokens · ${totals['cost_usd']:.6f}\n"
        f"trace: {directory / (thread.id + '.trace.json')}",
        highlight=False,
    )
