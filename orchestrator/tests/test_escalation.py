"""Escalation through the router: a plan that keeps failing the checks goes to ``escalate_to``.

Both models are fakes on 127.0.0.1 that speak the OpenAI chat-completions wire format (a paid API
cannot run here); the router, the other servers and the trace are real processes.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from strata.shared.testing import ThreadServer

from .test_ask import REQUEST, sample, the_thread  # type: ignore[import-not-found]

BIN = Path(sys.executable).parent
pytestmark = pytest.mark.slow


def cloud_app(calls: list[dict[str, Any]]) -> Starlette:
    """'weak-1' always plans with a class it was not offered (the checks reject it); 'frontier-1' plans correctly."""

    async def chat(request: Request) -> JSONResponse:
        body = await request.json()
        calls.append(body)
        schema = body["response_format"]["json_schema"]["schema"]
        if "decisions" in schema["properties"]:
            lines = [item["properties"]["line"]["const"] for item in schema["properties"]["decisions"]["prefixItems"]]
            answer: dict[str, Any] = {"decisions": [{"line": n, "action": "rewrite"} for n in lines]}
        elif body["model"] == "frontier-1":
            answer = {"replace": "acme.auth.ldap_helper.ldap_authenticate", "with": "acme.auth.sso.sso_authenticate",
                      "confidence": "high"}  # fmt: skip
        else:  # a remote model need not honour the schema's enum: this one answers outside it
            answer = {"replace": "acme.auth.ldap_helper.ldap_authenticate", "confidence": "high",
                      "with": "acme.auth.sso.SsoClient"}  # fmt: skip
        return JSONResponse({
            "id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()), "model": body["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": json.dumps(answer)},
                         "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 400, "completion_tokens": 30, "total_tokens": 430},
        })  # fmt: skip

    return Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])


def test_plan_escalates_to_the_configured_frontier_model(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []
    repo = sample(tmp_path)
    with ThreadServer(cloud_app(calls)) as url:
        config = tmp_path / "strata.toml"
        config.write_text(f"""
[router.providers.local]
base_url = "{url}/v1"
api_key_env = "FAKE_CLOUD_KEY"
[router.models.weak]
provider = "local"
model = "weak-1"
local = true
[router.models.frontier]
provider = "local"
model = "frontier-1"
input_price = 3.0
output_price = 15.0
[router.routes.default]
policy = "fixed"
model = "weak"
[orchestrator]
escalate_to = "frontier"
max_retries = 1
""")
        monkeypatch.setenv("STRATA_CONFIG", str(config))
        monkeypatch.setenv("FAKE_CLOUD_KEY", "sk-test")
        done = subprocess.run([str(BIN / "strata"), "ask", REQUEST, "--repo", str(repo), "--yes"],
                              capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "started strata-llm" not in done.stdout  # a configured local provider needs no helper llm
    thread = the_thread(repo)
    rejected = [e.data for e in thread.events if e.type == "llm_rejected" and e.step == "plan"]
    assert [r["answer"]["with"] for r in rejected] == ["acme.auth.sso.SsoClient", "acme.auth.sso.SsoClient"]
    assert all(r["error"] == "replace and with must be ids from the lists" for r in rejected)
    plan = thread.result("plan")
    assert plan["escalated"] is True and plan["with"]["id"] == "acme.auth.sso.sso_authenticate"
    plan_calls = [c.data for c in thread.tool_calls("plan")]
    assert [c["model"] for c in plan_calls] == ["weak", "weak", "frontier"]
    assert plan_calls[-1]["cost_usd"] == pytest.approx((400 * 3.0 + 30 * 15.0) / 1e6)
    assert thread.trace()["totals"]["cost_usd"] >= plan_calls[-1]["cost_usd"]

    plans = [c for c in calls if "replace" in c["response_format"]["json_schema"]["schema"]["properties"]]
    assert [c["model"] for c in plans] == ["weak-1", "weak-1", "frontier-1"]
    # Only choices the checks accept were offered; the compacted reason went back into the prompt (factor 9).
    offered = {c for p in plans for c in p["response_format"]["json_schema"]["schema"]["properties"]["with"]["enum"]}
    assert offered == {"acme.auth.sso.sso_authenticate"}
    assert "Rejected before:" in plans[2]["messages"][-1]["content"]
    assert "must be ids from the lists" in plans[2]["messages"][-1]["content"]
    assert thread.trace()["outcome"]["status"] == "completed" and thread.trace()["outcome"]["files_changed"] == 3
