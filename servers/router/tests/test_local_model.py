"""End to end with the real local provider: strata-llm serving the bundled SmolLM2 GGUF over HTTP.

The cascade's first tier is a real local model; the frontier tier is the loopback stand-in for a paid API.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from strata.shared.testing import free_port

pytestmark = pytest.mark.slow
STRATA_LLM = str(Path(sys.executable).parent / "strata-llm")
BUNDLED = "smollm2-135m-instruct"


@pytest.fixture(scope="module")
def strata_llm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("llm-home")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRATA_")} | {
        "STRATA_HOME": str(home),
        "OMP_WAIT_POLICY": "PASSIVE",
    }
    log = (home / "llm.log").open("wb")
    process = subprocess.Popen(
        [STRATA_LLM, "serve", "--transport", "http", "--port", str(port), "--model", BUNDLED, "--threads", "2", "--n-ctx", "1024"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError(f"strata-llm did not start: {(home / 'llm.log').read_text()[-2000:]}")
            time.sleep(0.2)
        yield url + "/v1"
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def local_config(llm_url: str) -> dict[str, Any]:
    return {
        "providers": {"local": {"base_url": llm_url}},
        "models": {"smollm2": {"provider": "local", "model": BUNDLED, "local": True, "context_window": 1024}},
    }


def test_cascade_answers_locally_when_the_answer_passes(make_router: Any, strata_llm: str, upstreams: Any) -> None:
    extra = local_config(strata_llm)
    router = make_router(
        providers=extra["providers"], models=extra["models"],
        routes={"default": {"policy": "cascade", "cascade": ["smollm2", "frontier"]}},
    )  # fmt: skip
    client = openai.OpenAI(base_url=router.v1, api_key="unused", max_retries=0)
    raw = client.chat.completions.with_raw_response.create(
        model="default",
        messages=[{"role": "user", "content": "Say hello in one short sentence."}],
        max_tokens=48,
        temperature=0,
    )
    answer = raw.parse()
    assert raw.headers["x-strata-model"] == "smollm2"
    assert answer.choices[0].message.content.strip() and answer.choices[0].finish_reason == "stop"
    assert answer.usage.completion_tokens > 0 and float(raw.headers["x-strata-cost-usd"]) == 0.0
    assert upstreams[0].calls == []  # the frontier was never asked


def test_cascade_escalates_a_truncated_local_answer_to_the_frontier(
    make_router: Any, strata_llm: str, upstreams: Any
) -> None:
    extra = local_config(strata_llm)
    router = make_router(
        providers=extra["providers"], models=extra["models"],
        routes={"default": {"policy": "cascade", "cascade": ["smollm2", "echo"]}},
    )  # fmt: skip
    client = openai.OpenAI(base_url=router.v1, api_key="unused", max_retries=0)
    raw = client.chat.completions.with_raw_response.create(
        model="default",
        messages=[{"role": "user", "content": "Write a long story about a lighthouse."}],
        max_tokens=4,
        temperature=0,
    )
    assert raw.headers["x-strata-model"] == "echo"
    assert "smollm2 -> echo: not_truncated" in raw.headers["x-strata-escalations"]
    rows = {r.group["model"]: r for r in router.router.ledger.usage(["model"])[0]}
    assert rows["smollm2"].completion_tokens == 4 and rows["smollm2"].cost_usd == 0.0
    assert rows["echo"].escalations == 1


def test_streaming_from_the_local_model_through_the_anthropic_front_door(make_router: Any, strata_llm: str) -> None:
    import anthropic

    extra = local_config(strata_llm)
    router = make_router(
        providers=extra["providers"],
        models=extra["models"],
        routes={"default": {"policy": "fixed", "model": "smollm2"}},
    )
    claude = anthropic.Anthropic(base_url=router.url, api_key="unused", max_retries=0)
    with claude.messages.stream(
        model="default", max_tokens=24, messages=[{"role": "user", "content": "Name a colour."}]
    ) as stream:
        pieces = list(stream.text_stream)
        final = stream.get_final_message()
    assert len(pieces) > 1 and "".join(pieces).strip()
    assert final.usage.output_tokens > 0 and final.stop_reason in ("end_turn", "max_tokens")
