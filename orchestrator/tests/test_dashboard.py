"""`strata dashboard`: its figures over a real span store, its guard, and the page in Debian's chromium (headless,
driven by selenium through Debian's chromedriver) after a real `strata ask` thread."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode
from starlette.testclient import TestClient

from strata.orchestrator.agent.thread import STEPS, load_thread, thread_dir
from strata.orchestrator.dashboard.app import COOKIE, create_app
from strata.orchestrator.dashboard.data import bucket_seconds, traffic
from strata.shared.telemetry import SpanStore, SQLiteSpanExporter

BIN = Path(sys.executable).parent
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "acme-portal"
REQUEST = "find all places that authenticate against the legacy LDAP server and refactor them to use the new SSO module"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
TOKEN = "dashboard-test-token-0123456789"
NOW = 1_800_000_000  # a fixed "now" (2027-01-15): the traffic windows are computed from it


def _write_spans(store: SpanStore, spans: list[tuple[str, int, dict[str, Any], bool]]) -> None:
    """Spans made by the OpenTelemetry SDK (as the router makes them) and exported to ``store``: (name, start_s,
    attributes, failed)."""
    provider = TracerProvider(resource=Resource.create({"service.name": "strata-router"}))
    provider.add_span_processor(SimpleSpanProcessor(SQLiteSpanExporter(store)))
    tracer = provider.get_tracer("test")
    for name, start_s, attributes, failed in spans:
        kind = SpanKind.CLIENT if name.startswith("chat ") else SpanKind.INTERNAL
        span = tracer.start_span(name, kind=kind, start_time=start_s * 1_000_000_000, attributes=attributes)
        if failed:
            span.set_status(Status(StatusCode.ERROR))
        span.end(end_time=start_s * 1_000_000_000 + 5_000_000)
    provider.force_flush()


def _route(
    cost: float, baseline: float, model: str = "local", cache: str = "miss", escalations: int = 0
) -> dict[str, Any]:
    return {"strata.route": "default", "gen_ai.response.model": model, "strata.cost_usd": cost,
            "strata.baseline_usd": baseline, "strata.cache": cache, "strata.escalations": escalations}  # fmt: skip


def test_traffic_sums_spend_savings_cache_escalations_and_shadow_agreement_per_bucket(tmp_path: Path) -> None:
    store = SpanStore(tmp_path / "spans.db")
    t0 = NOW - 2_400  # in the 1 h window; the charts start at the first span: 40 min, in 60 s buckets
    _write_spans(store, [
        ("chat gpt-x", t0, {"strata.model": "frontier", "strata.cost_usd": 0.003}, False),
        ("route default", t0, _route(0.003, 0.003, "frontier", escalations=1), False),
        ("chat local", t0 + 1, {"strata.model": "local", "strata.cost_usd": 0.0}, False),
        ("route default", t0 + 1, _route(0.0, 0.002), False),
        ("route default", t0 + 2, _route(0.0, 0.004, cache="exact"), False),
        ("route default", t0 + 70, _route(0.0, 0.0), True),  # failed: counted, neither spent nor saved
        ("shadow default", t0 + 70, {"strata.shadow.outcome": "compared", "strata.shadow.agreed": True}, False),
        ("shadow default", t0 + 71, {"strata.shadow.outcome": "compared", "strata.shadow.agreed": False}, False),
        ("shadow default", t0 + 72, {"strata.shadow.outcome": "failed"}, False),  # no verdict: not compared
        ("route default", NOW - 7_200, _route(1.0, 1.0), False),  # before the window
    ])  # fmt: skip
    t = traffic(store, hours=1.0, now_s=NOW)
    assert t.width_s == bucket_seconds(NOW - t0) == 60 and t.since_s == t0
    first, second = t.buckets[0], t.buckets[1]
    assert (first.requests, first.cache_hits, first.escalated, first.failed) == (3, 1, 1, 0)
    assert first.cost_usd == pytest.approx(0.003) and first.baseline_usd == pytest.approx(0.009)
    assert first.cost_by_model == pytest.approx({"frontier": 0.003, "local": 0.0})
    assert (second.requests, second.failed, second.shadow_compared, second.shadow_agreed) == (1, 1, 2, 1)
    assert sum(b.requests for b in t.buckets) == 4 and t.models == ["frontier", "local"]
    assert t.by_route_model[("default", "local")] == pytest.approx(
        {"requests": 2, "cost_usd": 0.0, "savings_usd": 0.006, "cache_hits": 1, "escalated": 0}
    )
    assert t.by_route_model[("default", "frontier")]["savings_usd"] == pytest.approx(0.0)
    assert bucket_seconds(7 * 86_400) == 6 * 3_600 and bucket_seconds(3_600) == 300
    store.close()


def test_the_page_takes_a_token_once_then_a_cookie_and_escapes_what_spans_say(tmp_path: Path) -> None:
    store = SpanStore(tmp_path / "spans.db")
    _write_spans(store, [("route <script>alert(1)</script>", int(time.time()) - 10, _route(0.0, 0.0), False)])
    [trace] = store.recent_traces(1)
    client = TestClient(create_app(store, TOKEN), base_url="http://127.0.0.1:8100", follow_redirects=False)

    assert client.get("/").status_code == 401
    assert client.get("/", headers={"Authorization": "Bearer wrong-token"}).status_code == 401
    assert client.get("/?token=wrong").status_code == 401
    entered = client.get("/?token=" + TOKEN + "&window=1h")
    assert entered.status_code == 303 and entered.headers["location"] == "/?window=1h"  # the token leaves the URL
    cookie = entered.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie and "SameSite=strict" in cookie
    page = client.get("/?window=1h")  # the client kept the cookie
    assert page.status_code == 200 and "<script" not in page.text and "&lt;script&gt;" in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    assert f"/trace/{trace['trace_id']}" in page.text
    waterfall = client.get(f"/trace/{trace['trace_id']}")
    assert waterfall.status_code == 200 and "<script" not in waterfall.text

    assert client.get("/trace/not-a-trace").status_code == 400
    assert client.get("/trace/" + "0" * 32).status_code == 404
    assert client.get("/?window=1y").status_code == 400
    bearer = TestClient(create_app(store, TOKEN), base_url="http://127.0.0.1:8100")
    assert bearer.get("/", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    rebound = TestClient(create_app(store, TOKEN), base_url="http://attacker.example:8100")  # DNS rebinding
    assert rebound.get("/", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 400
    store.close()


@pytest.fixture
def chromium() -> Iterator[Any]:
    """Debian's chromium, headless, through Debian's chromedriver (.ci/run installs both; missing, the test fails)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.exists()]
    assert not missing, f"{missing} missing: apt-get install chromium chromium-driver (.ci/run does)"
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1300,1600", "--no-first-run", "--disable-extensions"):  # fmt: skip
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.mark.slow
def test_the_dashboard_in_chromium_after_a_strata_ask_thread(tmp_path: Path, chromium: Any) -> None:
    from selenium.webdriver.common.by import By

    repo = tmp_path / "acme-portal"
    shutil.copytree(EXAMPLE, repo, ignore=shutil.ignore_patterns(".strata", "__pycache__"))
    asked = subprocess.run(
        [str(BIN / "strata"), "ask", REQUEST, "--repo", str(repo), "--yes", "--voice"],
        capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL, check=False,
    )  # fmt: skip
    assert asked.returncode == 0, asked.stdout + asked.stderr
    [thread_file] = [p for p in thread_dir(repo).glob("t-*.json") if not p.name.endswith(".trace.json")]
    thread = load_thread(repo, thread_file.stem)
    assert [e.step for e in thread.events if e.type == "step_done"] == list(STEPS)

    log = (tmp_path / "dashboard.log").open("w")
    server = subprocess.Popen(
        [str(BIN / "strata"), "dashboard", "--port", "0"], stdout=subprocess.PIPE, stderr=log, text=True,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        found = re.search(r"(http://127\.0\.0\.1:\d+)/\?token=(\S+)", line)
        assert found, line + (tmp_path / "dashboard.log").read_text()
        base, token = found.groups()
        assert len(token) >= 24  # no STRATA_TOKEN: a new random one
        assert httpx.get(base + "/", timeout=10).status_code == 401

        chromium.get(f"{base}/?token={token}")
        assert chromium.current_url == base + "/"  # the token went into a cookie, out of the address bar
        row = chromium.find_element(By.CSS_SELECTOR, f'tr.thread[data-thread="{thread.id}"]')
        assert REQUEST[:60] in row.text and "finished" in row.text
        services = chromium.find_element(By.ID, "activity").text
        assert all(f"strata-{s}" in services for s in ("orchestrator", "router", "codegraph", "memory", "voice"))
        bars = chromium.find_elements(By.CSS_SELECTOR, 'figure[data-chart="requests"] rect.bar')
        assert bars, chromium.page_source[:2000]  # the thread's model calls went through the router
        routes = chromium.find_element(By.ID, "routes").text
        assert "default" in routes
        chromium.save_screenshot(str(tmp_path / "dashboard-overview.png"))

        row.find_element(By.CSS_SELECTOR, "a.run").click()
        assert re.fullmatch(re.escape(base) + r"/trace/[0-9a-f]{32}", chromium.current_url), chromium.current_url
        rows = chromium.find_elements(By.CSS_SELECTOR, "#waterfall tr.span-row")
        names = [r.find_element(By.TAG_NAME, "summary").text for r in rows]
        assert names[0] == "invoke_agent strata-ask"
        assert {f"step {s}" for s in ("recall", "symbols", "plan", "edits", "store")} <= set(names), names
        assert any(n.startswith("route ") for n in names) and any(n.startswith("tools/call ") for n in names)
        lanes = chromium.find_elements(By.CSS_SELECTOR, "#waterfall div.span")
        assert len(lanes) == len(rows) and all(lane.size["width"] >= 1 for lane in lanes)
        route_row = next(r for r in rows if r.find_element(By.TAG_NAME, "summary").text.startswith("route "))
        assert re.search(r"\d+ / \d+", route_row.text), route_row.text  # tokens in / out
        route_row.find_element(By.TAG_NAME, "summary").click()
        assert "gen_ai.usage.input_tokens" in route_row.find_element(By.TAG_NAME, "pre").text
        chromium.save_screenshot(str(tmp_path / "dashboard-trace.png"))
        for shot in ("dashboard-overview.png", "dashboard-trace.png"):
            assert (tmp_path / shot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    finally:
        server.terminate()
        server.wait(timeout=30)
        if server.stdout is not None:
            server.stdout.close()
        log.close()
