"""strata-voice through real MCP sessions: in-process, a stdio subprocess, and an HTTP subprocess."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import jiwer
import pytest
from fastmcp import Client
from fastmcp.client.auth import BearerAuth
from fastmcp.client.transports import StdioTransport
from fastmcp.exceptions import ToolError

from strata.shared.runner import Metrics
from strata.shared.testing import free_port, wait_healthy
from strata.voice.server import create_server
from strata.voice.service import VoiceService

from .conftest import SENTENCES, normalise  # type: ignore[import-not-found]

pytestmark = pytest.mark.anyio
STRATA_VOICE = str(Path(sys.executable).parent / "strata-voice")
TOOLS = {"speak", "transcribe", "list_voices", "status"}
TOKEN = "voice-test-token"


@pytest.fixture
async def client(service: VoiceService) -> AsyncIterator[Client[Any]]:
    async with Client(create_server(service, Metrics()), timeout=120) as connected:
        yield connected


def data(result: Any) -> Any:
    return result.structured_content if result.structured_content is not None else json.loads(result.content[0].text)


async def test_four_tools_with_descriptions_annotations_and_schemas(client: Client[Any]) -> None:
    tools = {t.name: t for t in await client.list_tools()}
    assert set(tools) == TOOLS
    for tool in tools.values():
        assert tool.description and len(tool.description) < 300 and tool.annotations is not None
    assert tools["transcribe"].annotations.read_only_hint and not tools["speak"].annotations.read_only_hint
    assert tools["speak"].output_schema and "duration_s" in tools["speak"].output_schema["properties"]
    assert set(tools["speak"].input_schema["properties"]["format"]["enum"]) == {"wav", "ogg", "flac", "mp3"}


async def test_speak_returns_a_file_a_resource_and_inline_audio_with_progress(client: Client[Any]) -> None:
    progress: list[tuple[float, float | None]] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, total))

    result = await client.call_tool(
        "speak", {"text": " ".join(SENTENCES[:2]), "format": "ogg", "include_audio": True}, progress_handler=on_progress
    )
    speech = result.structured_content
    assert speech is not None and speech["format"] == "ogg" and speech["mime_type"] == "audio/ogg"
    assert speech["sentences"] == 2 and speech["duration_s"] > 3 and speech["sample_rate"] == 22050
    audio = [c for c in result.content if c.type == "audio"]
    assert len(audio) == 1 and audio[0].mime_type == "audio/ogg"
    inline = base64.b64decode(audio[0].data)
    assert inline == Path(speech["path"]).read_bytes() and inline[:4] == b"OggS"
    assert progress == [(1, 2), (2, 2)]
    [resource] = await client.read_resource(speech["uri"])
    assert base64.b64decode(resource.blob) == inline and resource.mime_type == "audio/ogg"


async def test_transcribe_base64_audio_round_trip(client: Client[Any]) -> None:
    speech = data(await client.call_tool("speak", {"text": SENTENCES[2], "deterministic": True}))
    audio = Path(speech["path"]).read_bytes()
    transcript = data(await client.call_tool("transcribe", {"audio_base64": base64.b64encode(audio).decode()}))
    assert jiwer.wer(normalise(SENTENCES[2]), normalise(transcript["text"])) < 0.25, transcript["text"]
    assert transcript["model"] == "tiny.en" and transcript["segments"][0]["start"] >= 0


async def test_list_voices_and_status(client: Client[Any]) -> None:
    voices = data(await client.call_tool("list_voices", {"language": "ja"}))
    voices = voices["result"] if isinstance(voices, dict) else voices
    assert {v["engine"] for v in voices} == {"kokoro"} and len(voices) == 5
    await client.call_tool("speak", {"text": "Warm up."})
    status = data(await client.call_tool("status", {}))
    piper = next(e for e in status["tts"] if e["name"] == "piper")
    assert piper["loaded"] == ["en_US-joe-medium"] and piper["served"] >= 1 and status["output_files"] >= 1
    assert {m["name"] for m in status["asr_models"]} == {"tiny.en", "base"}


@pytest.mark.parametrize(
    ("tool", "arguments", "message"),
    [
        ("speak", {"text": ""}, "at least 1 character"),
        ("speak", {"text": "..."}, "empty_text"),
        ("speak", {"text": "hi", "voice": "darth"}, "unknown_voice"),
        ("speak", {"text": "hi", "speed": 5}, "less than or equal to 2"),
        ("speak", {"text": "hi", "format": "aiff"}, "format"),
        ("speak", {"text": "x" * 20_001}, "text_too_long: .*limit is 20,000"),
        ("transcribe", {}, "exactly one of path or audio_base64"),
        ("transcribe", {"path": "/etc/passwd"}, "bad_audio: .*outside the directories"),
        ("transcribe", {"audio_base64": "not base64!!"}, "bad_audio: audio_base64 is not valid base64"),
        ("transcribe", {"audio_base64": base64.b64encode(b"\x00" * 999).decode()}, "bad_audio: cannot decode"),
        ("transcribe", {"audio_base64": "AAAA", "language": "english"}, "pattern"),
        ("transcribe", {"audio_base64": "AAAA", "limit": -1}, "greater than or equal to 0"),
    ],
)
async def test_bad_arguments_are_clear_tool_errors(
    client: Client[Any], tool: str, arguments: dict[str, Any], message: str
) -> None:
    with pytest.raises(ToolError, match=message):
        await client.call_tool(tool, arguments)


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRATA_")}
    return env | {
        "STRATA_HOME": str(tmp_path),
        "STRATA_VOICE_TTS_THREADS": "1",
        "STRATA_VOICE_AUDIO_ROOTS": json.dumps([str(tmp_path)]),
    }


async def test_stdio_session_speaks_and_transcribes(tmp_path: Path) -> None:
    transport = StdioTransport(
        command=STRATA_VOICE, args=[], env=_env(tmp_path), keep_alive=False, log_file=tmp_path / "stdio.log"
    )
    async with Client(transport, timeout=120) as stdio:
        speech = data(await stdio.call_tool("speak", {"text": SENTENCES[1], "deterministic": True}))
        assert Path(speech["path"]).is_relative_to(tmp_path) and Path(speech["path"]).is_file()
        transcript = data(await stdio.call_tool("transcribe", {"path": speech["path"]}))
    assert jiwer.wer(normalise(SENTENCES[1]), normalise(transcript["text"])) < 0.25
    assert "spoke" in (tmp_path / "stdio.log").read_text()  # logs went to stderr, not into the protocol


@pytest.fixture
def http_server(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    log = (tmp_path / "http.log").open("wb")
    process = subprocess.Popen(
        [STRATA_VOICE, "serve", "--transport", "http", "--port", str(port), "--token", TOKEN, "--preload"],
        env=_env(tmp_path),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        if not wait_healthy(url):
            raise AssertionError((tmp_path / "http.log").read_text())
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


async def test_http_session_needs_the_token_and_reports_progress(http_server: str) -> None:
    assert httpx.post(f"{http_server}/mcp", json={}, timeout=5).status_code == 401
    progress: list[float] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append(done)

    async with Client(f"{http_server}/mcp", auth=BearerAuth(TOKEN), timeout=120) as http:
        speech = data(await http.call_tool("speak", {"text": " ".join(SENTENCES)}, progress_handler=on_progress))
        [resource] = await http.read_resource(speech["uri"])
        transcript = data(
            await http.call_tool("transcribe", {"audio_base64": resource.blob}, progress_handler=on_progress)
        )
        status = data(await http.call_tool("status", {}))
    assert progress[:3] == [1, 2, 3] and len(progress) > 3
    assert jiwer.wer(normalise(" ".join(SENTENCES)), normalise(transcript["text"])) < 0.10
    assert "tiny.en" in status["asr"]["loaded"]  # --preload loaded it before the first request
