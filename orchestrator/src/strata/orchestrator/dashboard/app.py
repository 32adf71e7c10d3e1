"""``strata dashboard``: a page on loopback over the local span store, rendered on the server.

Pages: the overview (servers' health, ``strata ask`` threads and their runs, recent traces, the router's spend,
savings, cache hits, escalations and shadow agreement over time) and a waterfall per trace. The page runs no
script (its Content-Security-Policy forbids any), so a span attribute can never run code in the browser.

Access takes a token, as the servers' HTTP ports do: the URL printed at start carries it once (``?token=``), the
server answers with an HttpOnly, SameSite=Strict cookie and a redirect to the bare URL; ``Authorization: Bearer``
works too. On loopback the Host header must name loopback (no DNS rebinding); beyond loopback the token must be
strong (``strata.shared.http_guard.check_token``).
"""

from __future__ import annotations

import hmac
import json
import time
from collections.abc import Callable
from html import escape
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from strata.orchestrator.dashboard import charts
from strata.orchestrator.dashboard.data import (
    ServiceHealth,
    ThreadRow,
    Traffic,
    WaterfallRow,
    service_activity,
    threads,
    traffic,
    waterfall,
)
from strata.shared.telemetry import SpanStore

__all__ = ["COOKIE", "WINDOWS", "create_app"]

COOKIE = "strata_dashboard"
WINDOWS = {"1h": 1.0, "6h": 6.0, "24h": 24.0, "7d": 168.0}
LOOPBACK_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'self'"
TRACE_ID_CHARS = frozenset("0123456789abcdef")
MAX_ATTRIBUTE_SHOWN = 2_000

STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d1d1f;background:#fafafa}
header{background:#1d1d1f;color:#fff;padding:10px 20px;display:flex;gap:20px;align-items:baseline}
header a{color:#fff}main{padding:12px 20px;max-width:1200px}h2{margin:22px 0 8px;font-size:17px}
table{border-collapse:collapse;width:100%;background:#fff}td,th{padding:4px 8px;border-bottom:1px solid #e5e5e5;
text-align:left;vertical-align:top}th{font-weight:600;background:#f0f0f0}td.n,th.n{text-align:right}
.ok{color:#087f23}.bad{color:#b00020;font-weight:600}.muted{color:#777}
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(460px,1fr));gap:12px}
figure.chart{margin:0;background:#fff;border:1px solid #e5e5e5;padding:8px}figcaption{font-weight:600}
svg{width:100%;height:auto}svg text{font-size:11px;fill:#555}line.grid{stroke:#e5e5e5}
.legend{font-size:12px}.key{margin-right:12px}.key i{display:inline-block;width:10px;height:10px;margin-right:4px}
.wf td{padding:2px 6px}.lane{position:relative;height:14px;min-width:320px;background:#f4f4f4}
.span{position:absolute;top:1px;height:12px;min-width:2px;border-radius:2px}.span.err{outline:2px solid #b00020}
details summary{cursor:pointer}pre{white-space:pre-wrap;word-break:break-all;margin:4px 0;font-size:12px}
nav.windows a{margin-right:8px}nav.windows a.on{font-weight:700;text-decoration:none}
"""


def _fmt_ms(ms: float) -> str:
    return f"{ms:,.0f} ms" if ms < 10_000 else f"{ms / 1000:,.1f} s"


def _fmt_usd(usd: float) -> str:
    return f"${usd:.6f}" if abs(usd) < 0.01 else f"${usd:,.4f}"


def _when(ns: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ns / 1e9))


def _page(title: str, body: str) -> HTMLResponse:
    html = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)} - Strata</title>'
        f"<style>{STYLE}</style></head><body><header><strong>Strata</strong>"
        f'<a href="/">overview</a><span class="muted">spans from the local store</span></header>'
        f"<main>{body}</main></body></html>"
    )
    return HTMLResponse(html)


def _health_section(up: list[dict[str, Any]] | None, activity: list[ServiceHealth]) -> str:
    rows = []
    if up is None:
        rows.append('<p class="muted">Nothing runs under <code>strata up</code>; the spans below say when each server '
                    "was last seen.</p>")  # fmt: skip
    else:
        lines = "".join(
            f'<tr data-server="{escape(s["server"])}"><td>{escape(s["server"])}</td><td>{escape(s["url"])}</td>'
            f'<td class="{"ok" if s["healthy"] else "bad"}">{"ok" if s["healthy"] else "down"}</td>'
            f'<td class="n">{s["restarts"]}</td></tr>'
            for s in up
        )
        rows.append(f"<table id=\"up\"><tr><th>server (strata up)</th><th>url</th><th>health</th>"
                    f"<th class=\"n\">restarts</th></tr>{lines}</table>")  # fmt: skip
    if activity:
        lines = "".join(
            f'<tr><td>{escape(a.service)}</td><td>{_when(a.last_seen_ns)}</td><td class="n">{a.spans}</td>'
            f'<td class="n {"bad" if a.errors else ""}">{a.errors}</td></tr>'
            for a in activity
        )
        rows.append(f'<table id="activity" style="margin-top:8px"><tr><th>service</th><th>last span</th>'
                    f'<th class="n">spans (1 h)</th><th class="n">failed (1 h)</th></tr>{lines}</table>')  # fmt: skip
    return "<h2>Servers</h2>" + "".join(rows)


def _threads_section(rows: list[ThreadRow]) -> str:
    if not rows:
        return '<h2>Threads</h2><p class="muted">No <code>strata ask</code> thread in the store yet.</p>'
    lines = []
    for row in rows:
        runs = " ".join(
            f'<a class="run" href="/trace/{run.trace_id}">run {i + 1}</a>'
            f"{'' if run.finished is not False else ' <span class=muted>(paused)</span>'}"
            f"{f' <span class=bad>{run.errors} failed</span>' if run.errors else ''}"
            for i, run in enumerate(row.runs)
        )
        duration = sum(run.duration_ms for run in row.runs)
        cost = sum(run.cost_usd for run in row.runs)
        tokens = sum(run.tokens for run in row.runs)
        state = "finished" if row.runs[-1].finished else "paused" if row.runs[-1].finished is False else "?"
        lines.append(
            f'<tr class="thread" data-thread="{escape(row.thread_id)}"><td>{escape(row.thread_id)}</td>'
            f"<td>{escape(row.request[:200]) or '<span class=muted>(thread file gone)</span>'}</td>"
            f'<td>{escape(state)}</td><td>{_when(row.start_ns)}</td><td class="n">{_fmt_ms(duration)}</td>'
            f'<td class="n">{tokens:,}</td><td class="n">{_fmt_usd(cost)}</td><td>{runs}</td></tr>'
        )
    return (
        '<h2>Threads</h2><table id="threads"><tr><th>thread</th><th>request</th><th>state</th><th>started</th>'
        '<th class="n">time</th><th class="n">tokens</th><th class="n">cost</th><th>traces</th></tr>'
        + "".join(lines)
        + "</table>"
    )


def _traces_section(recent: list[dict[str, Any]]) -> str:
    if not recent:
        return '<h2>Recent traces</h2><p class="muted">No spans yet.</p>'
    lines = "".join(
        f'<tr><td><a href="/trace/{t["trace_id"]}">{escape(t["root"])}</a></td><td>{_when(t["start_ns"])}</td>'
        f'<td class="n">{_fmt_ms(t["duration_ms"])}</td><td class="n">{t["spans"]}</td>'
        f"<td>{escape(', '.join(t['services']))}</td>"
        f'<td class="n {"bad" if t["errors"] else ""}">{t["errors"]}</td></tr>'
        for t in recent
    )
    return (
        '<h2>Recent traces</h2><table id="traces"><tr><th>root span</th><th>started</th><th class="n">time</th>'
        '<th class="n">spans</th><th>services</th><th class="n">failed</th></tr>' + lines + "</table>"
    )


def _traffic_section(t: Traffic, window: str) -> str:
    nav = " ".join(
        f'<a href="/?{urlencode({"window": w})}" class="{"on" if w == window else ""}">{w}</a>' for w in WINDOWS
    )
    head = f'<h2>Router</h2><nav class="windows">window: {nav}</nav>'
    if not any(b.requests or b.cost_by_model for b in t.buckets):
        return head + '<p class="muted" id="no-traffic">No router request in this window.</p>'
    starts = [b.start_s for b in t.buckets]
    spend = {m: [b.cost_by_model.get(m, 0.0) for b in t.buckets] for m in t.models}
    saved = {
        "spent": [b.cost_usd for b in t.buckets],
        "saved vs top tier": [max(b.baseline_usd - b.cost_usd, 0.0) for b in t.buckets],
    }
    kinds = {
        "cache hit": [float(b.cache_hits) for b in t.buckets],
        "escalated": [float(b.escalated) for b in t.buckets],
        "failed": [float(b.failed) for b in t.buckets],
        "other": [float(b.requests - b.cache_hits - b.escalated - b.failed) for b in t.buckets],
    }
    figures = [
        charts.stacked_bars("spend", "Spend by model (upstream calls)", starts, t.width_s, spend, "$"),
        charts.stacked_bars("savings", "Spent and saved against each route's top tier", starts, t.width_s, saved, "$"),
        charts.stacked_bars("requests", "Requests", starts, t.width_s, kinds),
    ]
    if any(b.shadow_compared for b in t.buckets):
        agreement = [100.0 * b.shadow_agreed / b.shadow_compared if b.shadow_compared else None for b in t.buckets]
        figures.append(
            charts.line_chart("shadow", "Shadow agreement", starts, t.width_s, agreement, "%", "agreed", top=100.0)
        )
    rows = "".join(
        f'<tr><td>{escape(route)}</td><td>{escape(model)}</td><td class="n">{int(v["requests"])}</td>'
        f'<td class="n">{_fmt_usd(v["cost_usd"])}</td><td class="n">{_fmt_usd(v["savings_usd"])}</td>'
        f'<td class="n">{int(v["cache_hits"])}</td><td class="n">{int(v["escalated"])}</td></tr>'
        for (route, model), v in sorted(t.by_route_model.items(), key=lambda item: -item[1]["cost_usd"])
    )
    note = (
        f'<p class="muted">{t.spans_read:,} spans{" (the newest were left out: narrow the window)" if t.truncated else ""}'
        f"; bucket {t.width_s // 60} min. The router's ledger (<code>usage_report</code>) has the full record.</p>"
    )
    return (
        head
        + f'<div class="charts">{"".join(figures)}</div>'
        + '<table id="routes" style="margin-top:8px"><tr><th>route</th><th>served by</th><th class="n">requests</th>'
        '<th class="n">cost</th><th class="n">saved</th><th class="n">cache hits</th><th class="n">escalated</th></tr>'
        + rows
        + "</table>"
        + note
    )


def _waterfall_html(trace_id: str, rows: list[WaterfallRow]) -> str:
    total = max((r.offset_ms + r.duration_ms for r in rows), default=1.0) or 1.0
    services = list(dict.fromkeys(r.service for r in rows))
    color = {s: charts.PALETTE[i % len(charts.PALETTE)] for i, s in enumerate(services)}
    lines = []
    for r in rows:
        left = 100 * r.offset_ms / total
        width = max(100 * r.duration_ms / total, 0.2)
        tokens = f"{r.tokens[0]:,} / {r.tokens[1]:,}" if r.tokens else ""
        cost = _fmt_usd(r.cost_usd) if r.cost_usd is not None else ""
        failed = r.status == "ERROR"
        attributes = json.dumps(r.attributes, indent=1, sort_keys=True, default=str)[:MAX_ATTRIBUTE_SHOWN]
        events = "".join(f"<li>{escape(e.get('name', ''))}</li>" for e in r.events[:20])
        detail = (
            f"<details><summary>{escape(r.name)}</summary><pre>{escape(attributes)}</pre>"
            f"{f'<p class=bad>{escape(r.status_message)}</p>' if r.status_message else ''}"
            f"{f'<ul>{events}</ul>' if events else ''}</details>"
        )
        lines.append(
            f'<tr class="span-row{" failed" if failed else ""}" data-span="{r.span_id}">'
            f'<td style="padding-left:{6 + 16 * min(r.depth, 20)}px">{detail}</td><td>{escape(r.service)}</td>'
            f'<td class="lane"><div class="span{" err" if failed else ""}" title="{escape(r.name)}: '
            f'{_fmt_ms(r.duration_ms)}" style="left:{left:.2f}%;width:{width:.2f}%;background:{color[r.service]}">'
            f'</div></td><td class="n">{_fmt_ms(r.duration_ms)}</td><td class="n">{tokens}</td>'
            f'<td class="n">{cost}</td><td class="{"bad" if failed else "ok"}">{"error" if failed else "ok"}</td></tr>'
        )
    legend = "".join(f'<span class="key"><i style="background:{color[s]}"></i>{escape(s)}</span>' for s in services)
    return (
        f"<h2>Trace {escape(trace_id)}</h2><p>{len(rows)} spans over {_fmt_ms(total)} in {len(services)} "
        f'processes. <span class="legend">{legend}</span></p><table class="wf" id="waterfall"><tr><th>span</th>'
        '<th>service</th><th>timeline</th><th class="n">time</th><th class="n">tokens in / out</th>'
        '<th class="n">cost</th><th>status</th></tr>' + "".join(lines) + "</table>"
    )


class _Guard:
    """Token (query once, then cookie; or a bearer header), a loopback Host on loopback, and no-script headers."""

    def __init__(self, app: ASGIApp, token: str, loopback: bool) -> None:
        self.app = app
        self.token = token
        self.loopback = loopback

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        host = (request.headers.get("host") or "").rsplit(":", 1)[0].lower()
        if self.loopback and host not in LOOPBACK_HOSTS:
            await _plain(400, "this dashboard answers only to a loopback Host")(scope, receive, send)
            return
        offered = request.query_params.get("token")
        if offered is not None:
            if not hmac.compare_digest(offered.encode(), self.token.encode()):
                await _plain(401, "wrong token - open the URL `strata dashboard` printed")(scope, receive, send)
                return
            rest = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
            target = request.url.path + (f"?{urlencode(rest)}" if rest else "")
            response: Response = RedirectResponse(target, status_code=303)
            response.set_cookie(COOKIE, self.token, httponly=True, samesite="strict", path="/")
            await _secured(response)(scope, receive, send)
            return
        cookie = request.cookies.get(COOKIE, "")
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
        if not any(hmac.compare_digest(c.encode(), self.token.encode()) for c in (cookie, bearer) if c):
            await _plain(401, "no token - open the URL `strata dashboard` printed")(scope, receive, send)
            return

        async def send_secured(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.extend(_SECURITY_HEADERS)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_secured)


_SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cache-control", b"no-store"),
]


def _secured(response: Response) -> Response:
    for name, value in _SECURITY_HEADERS:
        response.headers[name.decode()] = value.decode()
    return response


def _plain(status: int, text: str) -> Response:
    return _secured(Response(text + "\n", status_code=status, media_type="text/plain"))


def create_app(
    store: SpanStore,
    token: str,
    *,
    loopback: bool = True,
    up_status: Callable[[], list[dict[str, Any]] | None] = lambda: None,
) -> ASGIApp:
    """The dashboard over ``store``; ``up_status`` reports what ``strata up`` runs (None when nothing does)."""

    def overview(request: Request) -> Response:
        window = request.query_params.get("window", "24h")
        if window not in WINDOWS:
            return _plain(400, f"window must be one of {', '.join(WINDOWS)}")
        body = (
            _health_section(up_status(), service_activity(store))
            + _threads_section(threads(store))
            + _traffic_section(traffic(store, WINDOWS[window]), window)
            + _traces_section(store.recent_traces(30))
        )
        return _page("overview", body)

    def trace_page(request: Request) -> Response:
        trace_id = request.path_params["trace_id"]
        if len(trace_id) != 32 or not set(trace_id) <= TRACE_ID_CHARS:
            return _plain(400, "a trace id is 32 lowercase hex digits")
        rows = waterfall(store, trace_id)
        if not rows:
            return _plain(404, f"no span of trace {trace_id} in the store (pruned, or never recorded here)")
        return _page(f"trace {trace_id[:8]}", _waterfall_html(trace_id, rows))

    app = Starlette(routes=[Route("/", overview), Route("/trace/{trace_id}", trace_page)])
    return _Guard(app, token, loopback)
