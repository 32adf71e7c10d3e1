"""The OpenAI-compatible endpoints, driven by the official openai Python client against a real server."""

import json
import socket
import time

import httpx
import jsonschema
import numpy as np
import openai
import pytest

from strata.shared.telemetry import SpanStore

from .conftest import RunningServer, wait_idle

PERSON = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
    "additionalProperties": False,
}


@pytest.fixture
def client(llm_http: RunningServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{llm_http.url}/v1", api_key=llm_http.token, max_retries=0, timeout=120)


def test_models_lists_configured_models(client: openai.OpenAI) -> None:
    assert {m.id for m in client.models.list()} == {"smollm2-135m-instruct", "smollm2-embed"}


def test_chat_completion(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model="smollm2-135m-instruct",
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Name a colour."}],
        max_tokens=16,
        temperature=0,
    )
    assert reply.object == "chat.completion"
    assert reply.choices[0].message.role == "assistant"
    assert reply.choices[0].message.content and reply.choices[0].message.content.strip()
    assert reply.choices[0].finish_reason in ("stop", "length")
    assert reply.usage is not None and reply.usage.completion_tokens <= 16


def test_streaming_chat_deltas_and_usage(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="smollm2-135m-instruct",
        messages=[{"role": "user", "content": "Count from one to ten."}],
        max_tokens=24,
        temperature=0,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert len(chunks) > 3 and text.strip()
    assert finishes in (["stop"], ["length"])
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens >= 1


def test_a_streamed_generation_is_a_genai_span_in_the_callers_trace(llm_http: RunningServer) -> None:
    trace_id, parent = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"
    headers = {**llm_http.headers(), "traceparent": f"00-{trace_id}-{parent}-01"}
    client = openai.OpenAI(base_url=f"{llm_http.url}/v1", api_key=llm_http.token, max_retries=0, timeout=120,
                           default_headers=headers)  # fmt: skip
    stream = client.chat.completions.create(
        model="smollm2-135m-instruct", messages=[{"role": "user", "content": "Say hi."}], max_tokens=8,
        temperature=0, stream=True, stream_options={"include_usage": True},
    )  # fmt: skip
    usage = [c.usage for c in stream if c.usage is not None][-1]
    store = SpanStore(llm_http.log.parent / "telemetry" / "spans.db")
    deadline = time.monotonic() + 10  # exported in batches every 0.5 s
    while not (spans := store.trace(trace_id)) and time.monotonic() < deadline:
        time.sleep(0.2)
    [span] = spans
    assert (span["name"], span["parent_id"], span["kind"]) == ("chat smollm2-135m-instruct", parent, "INTERNAL")
    attributes = span["attributes"]
    assert attributes["gen_ai.provider.name"] == "llama.cpp" and attributes["gen_ai.request.max_tokens"] == 8
    assert attributes["gen_ai.usage.output_tokens"] == usage.completion_tokens and attributes["strata.stream"]
    assert attributes["gen_ai.usage.input_tokens"] == usage.prompt_tokens and "gen_ai.input.messages" not in attributes
    store.close()


def test_openai_json_schema_response_format_is_enforced(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model="smollm2-135m-instruct",
        messages=[{"role": "user", "content": "Carol is 52. Give her name and age."}],
        response_format={"type": "json_schema", "json_schema": {"name": "person", "schema": PERSON}},
        max_tokens=40,
        temperature=0,
    )
    jsonschema.validate(json.loads(reply.choices[0].message.content or ""), PERSON)


def test_text_completion_and_its_stream(client: openai.OpenAI) -> None:
    done = client.completions.create(model="smollm2-135m-instruct", prompt="Once upon a time", max_tokens=8)
    assert done.choices[0].text and done.usage is not None
    pieces = [
        c.choices[0].text
        for c in client.completions.create(model="smollm2-135m-instruct", prompt="One, two,", max_tokens=8, stream=True)
    ]
    assert "".join(pieces)


def test_embeddings_float_and_base64(client: openai.OpenAI) -> None:
    # The openai client asks for base64 by default and decodes it; ask for floats explicitly too.
    b64 = client.embeddings.create(model="smollm2-embed", input=["login", "sign in", "banana"])
    flt = client.embeddings.create(model="smollm2-embed", input=["login"], encoding_format="float")
    vectors = np.array([d.embedding for d in b64.data])
    assert vectors.shape == (3, 576)
    assert np.allclose(vectors[0], flt.data[0].embedding, atol=1e-5)
    assert b64.usage.prompt_tokens > 0


def test_over_long_prompt_is_a_400_with_the_openai_code(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(
            model="smollm2-135m-instruct",
            messages=[{"role": "user", "content": "word " * 1500}],
            max_tokens=8,
        )
    body = err.value.body
    assert isinstance(body, dict) and body["code"] == "context_length_exceeded"
    assert "context window of 1024 tokens" in body["message"]


def test_unknown_model_bad_n_and_bad_json_are_clear_errors(client: openai.OpenAI, llm_http: RunningServer) -> None:
    with pytest.raises(openai.NotFoundError, match="no model 'gpt-4o'"):
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "x"}])
    with pytest.raises(openai.BadRequestError, match="only n=1"):
        client.chat.completions.create(model="smollm2-135m-instruct", messages=[{"role": "user", "content": "x"}], n=2)
    raw = httpx.post(f"{llm_http.url}/v1/chat/completions", headers=llm_http.headers(), content=b"{not json")
    assert raw.status_code == 400 and raw.json()["error"]["code"] == "invalid_request"

    def endless_body():  # chunked, so no content-length to refuse up front
        for _ in range(9):
            yield b" " * (1024 * 1024)

    huge = httpx.post(f"{llm_http.url}/v1/chat/completions", headers=llm_http.headers(), content=endless_body())
    assert huge.status_code == 400 and "larger than 8388608 bytes" in huge.json()["error"]["message"]


def test_missing_token_is_refused(llm_http: RunningServer) -> None:
    anonymous = openai.OpenAI(base_url=f"{llm_http.url}/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        anonymous.models.list()


def test_client_disconnect_cancels_the_generation(llm_http: RunningServer) -> None:
    before = wait_idle(llm_http)
    body = json.dumps(
        {
            "model": "smollm2-135m-instruct",
            "stream": True,
            "max_tokens": 900,
            "temperature": 0,
            "messages": [{"role": "user", "content": "Numbers."}],
            "response_format": {
                "type": "json_schema",
                "json_schema": {
                    "name": "n",
                    "schema": {"type": "array", "items": {"type": "integer"}, "minItems": 400},
                },
            },
        }
    ).encode()
    host, port = llm_http.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        request = (
            f"POST /v1/chat/completions HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Authorization: Bearer {llm_http.token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        sock.sendall(request)
        received = b""
        while received.count(b"data:") < 3:  # the generation is under way
            received += sock.recv(4096)
    after = wait_idle(llm_http, timeout=20)  # the socket is closed: the slot frees without 900 tokens
    assert after["strata_llm_cancelled_total"] == before.get("strata_llm_cancelled_total", 0) + 1


def test_response_format_schemas_that_crashed_the_server_are_400_and_it_lives_on(llm_http: RunningServer) -> None:
    schemas = [
        {"type": "string", "maxLength": 5000},
        {"type": "array", "items": {"type": "integer"}, "maxItems": 2000},
        {"$defs": {"a": {"$ref": "#/$defs/a"}}, "type": "object", "properties": {"x": {"$ref": "#/$defs/a"}}},
    ]
    for schema in schemas:
        reply = httpx.post(
            f"{llm_http.url}/v1/chat/completions",
            headers=llm_http.headers(),
            json={
                "model": "smollm2-135m-instruct",
                "max_tokens": 8,
                "messages": [{"role": "user", "content": "hi"}],
                "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": schema}},
            },
            timeout=60,
        )
        assert reply.status_code == 400, reply.text
        assert reply.json()["error"]["code"] == "invalid_schema"
    assert llm_http.process.poll() is None
    assert httpx.get(f"{llm_http.url}/healthz", timeout=10).status_code == 200
