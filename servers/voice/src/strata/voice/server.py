"""The MCP surface of strata-voice: four tools over VoiceService, and the speech files as resources."""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

from fastmcp import Context, FastMCP
from fastmcp.resources import ResourceContent, ResourceResult
from fastmcp.tools.base import ToolResult
from mcp.types import AudioContent, TextContent, ToolAnnotations
from pydantic import Field

from strata.shared.runner import Metrics, create_mcp
from strata.voice.asr import TranscribeOptions
from strata.voice.audio import FORMATS
from strata.voice.errors import AudioError, InvalidRequestError
from strata.voice.service import Progress, Speech, SpeechRequest, Transcript, VoiceService, VoiceStatus
from strata.voice.tts import VoiceInfo

__all__ = ["create_server"]

VERSION = "0.1.0"
INSTRUCTIONS = (
    "On-device speech. `speak` turns text into an audio file (WAV, Ogg/Opus, FLAC, MP3), `transcribe` turns "
    "an audio file or base64 audio into text with timed segments, `list_voices` shows voices, `status` shows load."
)
# base64 is 4/3 of the bytes; the decoded size is checked again against max_audio_bytes.
# Inline audio rides in one JSON message: HTTP refuses bodies over 4 MiB and stdio lines over 16 MiB,
# and a 300 MB string took the process past 6 GB while it was parsed, validated and decoded. Longer
# recordings go by path.
MAX_BASE64_CHARS = 4 * 1024 * 1024
MAX_SEGMENTS = 5000
# The schema's hard ceiling; the configured max_text_chars (default 20,000) is checked in the service.
MAX_TEXT_CHARS = 1_000_000

READ_ONLY = ToolAnnotations(read_only_hint=True, idempotent_hint=True, open_world_hint=False)
# speak writes a new file in its own output directory (and prunes old ones); it never touches others.
WRITES_OUTPUT = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False
)


def create_server(service: VoiceService, metrics: Metrics) -> FastMCP:
    """Build the strata-voice MCP server; models load on first use (or at start with ``preload``)."""

    @asynccontextmanager
    async def lifespan(_: FastMCP) -> AsyncIterator[dict[str, Any]]:
        await service.preload()
        yield {}

    mcp = create_mcp("strata-voice", version=VERSION, instructions=INSTRUCTIONS, metrics=metrics, lifespan=lifespan)

    @mcp.tool(annotations=WRITES_OUTPUT, output_schema=Speech.model_json_schema())
    async def speak(
        text: Annotated[
            str,
            Field(
                min_length=1,
                max_length=MAX_TEXT_CHARS,
                description="What to say; long text is spoken sentence by sentence",
            ),
        ],
        ctx: Context,
        voice: Annotated[
            str | None,
            Field(
                max_length=200,
                description="Voice id from list_voices, e.g. 'piper:en_US-joe-medium'; default voice if omitted",
            ),
        ] = None,
        speed: Annotated[float, Field(ge=0.5, le=2.0, description="1.0 = natural pace")] = 1.0,
        format: Annotated[Literal["wav", "ogg", "flac", "mp3"], Field(description="ogg = Opus in Ogg")] = "wav",
        include_audio: Annotated[bool, Field(description="Also return the audio inline (bounded size)")] = False,
        deterministic: Annotated[
            bool, Field(description="Identical audio for identical input (no sampling noise)")
        ] = False,
        language: Annotated[
            str | None, Field(max_length=16, description="Language code, for multilingual voices only")
        ] = None,
    ) -> ToolResult:
        """Synthesise speech on this machine and save it; returns the file path, a voice:// resource URI,
        duration and sample rate. Progress is reported per sentence."""
        request = SpeechRequest(
            text=text, voice=voice, speed=speed, format=format, deterministic=deterministic, language=language
        )
        speech, data = await service.speak(request, _progress(ctx))
        content: list[Any] = [TextContent(type="text", text=speech.model_dump_json())]
        if include_audio:
            if len(data) > service.settings.max_inline_audio_bytes:
                raise InvalidRequestError(
                    f"audio is {len(data):,} bytes, over max_inline_audio_bytes; read {speech.uri} or {speech.path} instead"
                )
            content.append(AudioContent(type="audio", data=base64.b64encode(data).decode(), mime_type=speech.mime_type))
        return ToolResult(content=content, structured_content=speech.model_dump())

    @mcp.tool(annotations=READ_ONLY)
    async def transcribe(
        ctx: Context,
        path: Annotated[
            str | None, Field(max_length=4096, description="Audio file on this machine (WAV, FLAC, Ogg, MP3, M4A...)")
        ] = None,
        audio_base64: Annotated[
            str | None,
            Field(
                max_length=MAX_BASE64_CHARS,
                description="The audio itself, base64 (at most 4 MiB of it; pass a path for more); instead of path",
            ),
        ] = None,
        language: Annotated[
            str | None,
            Field(
                max_length=16,
                pattern=r"^[a-z]{2,3}$",
                description="e.g. 'en'; detected if omitted (multilingual model)",
            ),
        ] = None,
        model: Annotated[
            str | None,
            Field(
                max_length=4096, description="'tiny.en' (default, English), 'base' (multilingual) or a model directory"
            ),
        ] = None,
        vad: Annotated[bool | None, Field(description="Skip silence first (default on)")] = None,
        prompt: Annotated[
            str | None, Field(max_length=1000, description="Words to expect, e.g. names and jargon")
        ] = None,
        beam_size: Annotated[int | None, Field(ge=1, le=10)] = None,
        limit: Annotated[int, Field(ge=0, le=MAX_SEGMENTS, description="Timed segments returned at most")] = 200,
    ) -> Transcript:
        """Transcribe speech on this machine: text, timed segments, duration, language. Long recordings are
        decoded VAD chunk by chunk with progress; silence gives empty text."""
        if (path is None) == (audio_base64 is None):
            raise InvalidRequestError("pass exactly one of path or audio_base64")
        source = service.resolve_audio_path(path) if path is not None else _b64(audio_base64 or "")
        settings = service.settings
        options = TranscribeOptions(
            model=model or settings.asr_model,
            language=language,
            vad=settings.vad if vad is None else vad,
            beam_size=beam_size or settings.beam_size,
            prompt=prompt,
        )
        return await service.transcribe(source, options, limit=limit, on_progress=_progress(ctx))

    @mcp.tool(annotations=READ_ONLY)
    def list_voices(
        language: Annotated[
            str | None, Field(max_length=16, description="Only voices whose language starts with this, e.g. 'en'")
        ] = None,
    ) -> list[VoiceInfo]:
        """Voices on this machine: id (for speak), engine, language, sample rate, licence, and whether usable."""
        return service.list_voices(language)

    @mcp.tool(annotations=READ_ONLY)
    def status() -> VoiceStatus:
        """Loaded voices and Whisper models, busy/waiting/served per engine, thread counts, output directory."""
        return service.status()

    @mcp.resource("voice://audio/{name}", description="A speech file made by speak (by file name)")
    def audio(name: str) -> ResourceResult:
        path = service.audio_file(name)
        return ResourceResult([ResourceContent(path.read_bytes(), mime_type=FORMATS[path.suffix[1:]][3])])

    return mcp


def _progress(ctx: Context) -> Progress:
    async def report(done: float, total: float, message: str) -> None:
        await ctx.report_progress(done, total, message)

    return report


def _b64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise AudioError(f"audio_base64 is not valid base64: {exc}") from exc
