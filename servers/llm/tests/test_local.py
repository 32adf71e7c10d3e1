import json
from pathlib import Path

import anyio
import jsonschema
import numpy as np
import pytest

from strata.llm.errors import (
    BusyError,
    ContextOverflowError,
    InvalidRequestError,
    InvalidSchemaError,
    UnsupportedError,
)
from strata.llm.types import ChatMessage, GenerationParams

from .conftest import make_engine

pytestmark = pytest.mark.anyio

PERSON = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}, "city": {"type": "string"}},
    "required": ["name", "age", "city"],
}
# The grammar forces at least 400 array items, so only max_tokens or a cancellation can end it early.
ENDLESS = {"type": "array", "items": {"type": "integer"}, "minItems": 400}


def user(text: str) -> list[ChatMessage]:
    return [ChatMessage(role="user", content=text)]


async def test_chat_answers_with_counts_and_timings(model_path: Path) -> None:
    engine = make_engine(model_path)
    await engine.start()
    result = await engine.generate(user("Name a fruit."), GenerationParams(max_tokens=24, temperature=0))
    assert result.text.strip()
    assert result.finish_reason in ("stop", "length")
    assert result.usage.prompt_tokens > 10
    assert 0 < result.usage.completion_tokens <= 24
    assert result.usage.total_tokens == result.usage.prompt_tokens + result.usage.completion_tokens
    assert result.time_to_first_token_ms is not None and result.time_to_first_token_ms > 0
    assert engine.status().requests_served == 1


async def test_json_schema_output_is_valid_against_the_schema(model_path: Path) -> None:
    engine = make_engine(model_path)
    prompt = user("Alice is 30 years old and lives in Paris. Give her name, age and city as JSON.")
    result = await engine.generate(prompt, GenerationParams(max_tokens=60, temperature=0, json_schema=PERSON))
    jsonschema.validate(json.loads(result.text), PERSON)


async def test_streaming_deltas_add_up_to_the_text(model_path: Path) -> None:
    engine = make_engine(model_path)
    deltas: list[str] = []

    async def collect(delta: str) -> None:
        deltas.append(delta)

    result = await engine.generate(user("Count to five."), GenerationParams(max_tokens=20, temperature=0), collect)
    assert len(deltas) > 1
    assert "".join(deltas) == result.text


async def test_prompt_longer_than_the_context_is_an_error_naming_both_sizes(model_path: Path) -> None:
    engine = make_engine(model_path, n_ctx=256)
    with pytest.raises(ContextOverflowError) as err:
        await engine.generate(user("word " * 400), GenerationParams(max_tokens=8))
    assert err.value.n_ctx == 256 and err.value.prompt_tokens > 256
    assert f"prompt is {err.value.prompt_tokens} tokens" in str(err.value)
    assert "context window of 256 tokens" in str(err.value)
    assert str(err.value).startswith("context_length_exceeded: ")


async def test_prompt_plus_max_tokens_over_the_context_is_refused_not_clamped(model_path: Path) -> None:
    engine = make_engine(model_path, n_ctx=256)
    with pytest.raises(ContextOverflowError, match=r"max_tokens is 250, \d+ in all, .*context window of 256"):
        await engine.generate(user("Hello there"), GenerationParams(max_tokens=250))
    ok = await engine.generate(user("Hello there"), GenerationParams(max_tokens=4))
    assert ok.usage.completion_tokens <= 4


async def test_max_tokens_above_the_cap_is_refused(model_path: Path) -> None:
    engine = make_engine(model_path, max_tokens_cap=16)
    with pytest.raises(InvalidRequestError, match="above this server's cap of 16"):
        await engine.generate(user("hi"), GenerationParams(max_tokens=17))


async def test_schema_that_cannot_become_a_grammar_is_a_clear_error(model_path: Path) -> None:
    engine = make_engine(model_path)
    with pytest.raises(InvalidSchemaError, match="json_schema cannot be compiled"):
        await engine.generate(user("hi"), GenerationParams(max_tokens=4, json_schema={"type": "no-such-type"}))


async def test_plain_completion_continues_text(model_path: Path) -> None:
    engine = make_engine(model_path)
    result = await engine.generate("The capital of France is", GenerationParams(max_tokens=8, temperature=0))
    assert result.text and result.usage.completion_tokens <= 8


async def test_full_queue_is_refused_with_busy(model_path: Path) -> None:
    engine = make_engine(model_path, instances=1, max_queue=1)
    await engine.start()
    long = GenerationParams(max_tokens=300, temperature=0, json_schema=ENDLESS)
    outcomes: list[str] = []

    async def run() -> None:
        await engine.generate(user("Numbers please."), long)
        outcomes.append("done")

    async with anyio.create_task_group() as tg:
        tg.start_soon(run)  # takes the only instance
        while engine.admission.busy < 1:
            await anyio.sleep(0.01)
        tg.start_soon(run)  # waits in the queue
        while engine.admission.queued < 1:
            await anyio.sleep(0.01)
        with pytest.raises(BusyError, match=r"1 running and 1 queued \(max_queue 1\)"):
            await engine.generate(user("me too"), GenerationParams(max_tokens=4))
        tg.cancel_scope.cancel()
    assert engine.status().requests_rejected == 1


async def test_cancellation_stops_the_generation_and_frees_the_instance(model_path: Path) -> None:
    engine = make_engine(model_path, n_ctx=1024, instances=1, max_queue=0)
    await engine.start()
    deltas: list[str] = []
    five_seen = anyio.Event()

    async def collect(delta: str) -> None:
        deltas.append(delta)
        if len(deltas) == 5:
            five_seen.set()

    params = GenerationParams(max_tokens=900, temperature=0, json_schema=ENDLESS)
    async with anyio.create_task_group() as tg:
        tg.start_soon(engine.generate, user("List numbers."), params, collect)
        await five_seen.wait()
        tg.cancel_scope.cancel()
    # The slot is released only once the worker thread has returned, so the thread has stopped.
    assert engine.admission.busy == 0
    assert engine.status().requests_cancelled == 1
    produced = len(deltas)
    assert 5 <= produced < 100, produced  # the grammar forbids stopping before ~800 tokens
    await anyio.sleep(0.3)
    assert len(deltas) == produced  # nothing generated after the cancellation
    again = await engine.generate(user("Say hi."), GenerationParams(max_tokens=4))  # max_queue=0: would be busy
    assert again.usage.completion_tokens >= 1


async def test_embeddings_are_unit_vectors_and_related_texts_are_closer(model_path: Path) -> None:
    engine = make_engine(model_path, embedding=True, n_ctx=256)
    result = await engine.embed(["how do users log in", "user authentication with a password", "sunny weather today"])
    vectors = np.array(result.embeddings)
    assert result.dimensions == 576 and vectors.shape == (3, 576)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    sims = vectors @ vectors.T
    assert sims[0, 1] > sims[0, 2]
    assert result.prompt_tokens > 6


async def test_embed_on_a_chat_model_and_chat_on_an_embedding_model_are_unsupported(model_path: Path) -> None:
    with pytest.raises(UnsupportedError, match="configure one with embedding = true"):
        await make_engine(model_path).embed(["x"])
    with pytest.raises(UnsupportedError, match="embeddings only"):
        await make_engine(model_path, embedding=True).generate(user("x"), GenerationParams(max_tokens=2))


async def test_template_rejecting_messages_is_an_invalid_request(model_path: Path) -> None:
    template = (
        "{% if messages[0].role != 'user' %}{{ raise_exception('first message must be from the user') }}{% endif %}x"
    )
    engine = make_engine(model_path, chat_template=template)
    with pytest.raises(InvalidRequestError, match="first message must be from the user"):
        await engine.generate([ChatMessage(role="assistant", content="hi")], GenerationParams(max_tokens=2))
