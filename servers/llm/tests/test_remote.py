"""The remote engine against a real OpenAI-compatible upstream: another strata-llm process on loopback."""

import json
from collections.abc import AsyncIterator

import jsonschema
import pytest

from strata.llm.errors import BusyError, InvalidRequestError, UnsupportedError, UpstreamError
from strata.llm.remote import RemoteEngine
from strata.llm.settings import RemoteConfig
from strata.llm.types import ChatMessage, GenerationParams
from strata.shared.testing import free_port

from .conftest import RunningServer

pytestmark = pytest.mark.anyio
SCHEMA = {"type": "object", "properties": {"colour": {"type": "string"}}, "required": ["colour"]}


@pytest.fixture
async def remote(llm_http: RunningServer) -> AsyncIterator[RemoteEngine]:
    config = RemoteConfig(base_url=f"{llm_http.url}/v1", model="smollm2-135m-instruct", api_key=llm_http.token)
    engine = RemoteEngine("upstream", config, max_queue=4)
    yield engine
    await engine.close()


async def test_chat_through_the_upstream(remote: RemoteEngine) -> None:
    result = await remote.generate([ChatMessage(role="user", content="Hi!")], GenerationParams(max_tokens=8))
    assert result.text and result.model == "upstream"
    assert 1 <= result.usage.completion_tokens <= 8 and result.usage.prompt_tokens > 0


async def test_streaming_and_json_schema_through_the_upstream(remote: RemoteEngine) -> None:
    deltas: list[str] = []

    async def collect(d: str) -> None:
        deltas.append(d)

    params = GenerationParams(max_tokens=30, temperature=0, json_schema=SCHEMA)
    result = await remote.generate([ChatMessage(role="user", content="Pick a colour.")], params, collect)
    assert "".join(deltas) == result.text
    jsonschema.validate(json.loads(result.text), SCHEMA)
    assert result.usage.completion_tokens >= 1 and result.time_to_first_token_ms is not None


async def test_plain_completion_through_the_upstream(remote: RemoteEngine) -> None:
    result = await remote.generate("The sky is", GenerationParams(max_tokens=5))
    assert result.usage.completion_tokens >= 1


async def test_upstream_errors_keep_their_meaning(remote: RemoteEngine, llm_http: RunningServer) -> None:
    with pytest.raises(InvalidRequestError, match=r"context window of 1024") as err:
        await remote.generate([ChatMessage(role="user", content="w " * 1500)], GenerationParams(max_tokens=4))
    assert err.value.code == "context_length_exceeded"
    wrong_model = RemoteEngine(
        "x", RemoteConfig(base_url=f"{llm_http.url}/v1", model="nope", api_key=llm_http.token), max_queue=1
    )
    with pytest.raises(InvalidRequestError, match=r"\(404\) rejected the request: no model 'nope'"):
        await wrong_model.generate("x", GenerationParams(max_tokens=2))
    await wrong_model.close()
    with pytest.raises(UnsupportedError):
        await remote.embed(["x"])


async def test_embeddings_through_the_upstream(llm_http: RunningServer) -> None:
    engine = RemoteEngine(
        "emb",
        RemoteConfig(base_url=f"{llm_http.url}/v1", model="smollm2-embed", api_key=llm_http.token, embedding=True),
        max_queue=1,
    )
    result = await engine.embed(["a", "b"])
    await engine.close()
    assert result.dimensions == 576 and len(result.embeddings) == 2


async def test_unreachable_upstream_is_an_upstream_error() -> None:
    engine = RemoteEngine("gone", RemoteConfig(base_url=f"http://127.0.0.1:{free_port()}/v1", model="m"), max_queue=1)
    with pytest.raises(UpstreamError, match=r"^upstream_error: http://127\.0\.0\.1:\d+/v1 failed: ConnectError"):
        await engine.generate("x", GenerationParams(max_tokens=2))
    await engine.close()


def test_busy_upstream_maps_to_busy() -> None:
    import httpx

    engine = RemoteEngine("b", RemoteConfig(base_url="http://127.0.0.1:1/v1", model="m"), max_queue=1)
    response = httpx.Response(429, json={"error": {"message": "slow down"}}, request=httpx.Request("POST", "http://x"))
    with pytest.raises(BusyError, match="slow down"):
        engine._raise_for(response)


@pytest.mark.parametrize("status", [401, 500])
def test_an_upstream_echoing_the_key_never_relays_it(status: int) -> None:
    """Issue 25: an upstream that echoes Authorization put the API key into llm tool and /v1 errors."""
    import httpx

    key = "plain-upstream-secret-0815"
    engine = RemoteEngine("leaky", RemoteConfig(base_url="http://127.0.0.1:1/v1", model="m", api_key=key), max_queue=1)
    echoed = f'Authorization: Bearer {key}\nTraceback (most recent call last):\n  File "/srv/app.py", line 9'
    response = httpx.Response(status, text=echoed, request=httpx.Request("POST", "http://x"))
    with pytest.raises(InvalidRequestError if status < 500 else UpstreamError) as caught:
        engine._raise_for(response)
    message = str(caught.value)
    assert key not in message and "/srv/app.py" not in message and "***" in message and "\n" not in message
