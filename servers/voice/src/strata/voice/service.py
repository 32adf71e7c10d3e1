"""The voice domain behind the MCP tools: speak text to a file, transcribe audio, list voices, report status.

Model work runs in worker threads, one request per engine at a time (onnxruntime and CTranslate2 use
every thread they are given, so two at once only fight for the cores); up to ``max_queue`` more wait,
the rest get BusyError. Speech is rendered unit by unit (sentence) and transcription VAD chunk by
chunk, with a progress callback between units.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
import unicodedata
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import numpy as np
from pydantic import BaseModel

from strata.shared import telemetry
from strata.shared.log import get_logger
from strata.voice.asr import AsrModelInfo, Segment, TranscribeOptions, Whisper
from strata.voice.audio import FORMATS, Audio, AudioFormat, decode, encode
from strata.voice.errors import AudioError, BusyError, EmptyTextError, InvalidRequestError, TextTooLongError
from strata.voice.settings import VoiceSettings
from strata.voice.tts import RenderOptions, TtsEngine, VoiceInfo, load_engines, resolve_voice

__all__ = [
    "MAX_UNIT_CHARS",
    "Progress",
    "Speech",
    "SpeechRequest",
    "Transcript",
    "VoiceService",
    "VoiceStatus",
    "speech_pieces",
]

log = get_logger("strata.voice")
Progress = Callable[[float, float, str], Awaitable[None]]
SPEAKABLE = re.compile(r"\w", re.UNICODE)
# Synthesis memory grows faster than linearly with the length of one unit (one unbroken sentence of
# "word " * 500 peaked at 2.9 GB in Piper; "word " * 2000 was OOM-killed at 24 GB). Text is cut into
# pieces of at most this many characters - at sentence ends, then clause marks, then spaces, then
# anywhere - before an engine splits it into units, so no unit is longer. Measured: docs/voice.md.
MAX_UNIT_CHARS = 200
BREAKS = (re.compile(r"[.!?…。！？]+[\"')\]]*\s+"), re.compile(r"[,;:，；、—–]\s*|\s+-\s+"), re.compile(r"\s+"))
AUDIO_NAME = re.compile(r"^[0-9TZ-]+-[0-9a-f]{10}\.(wav|ogg|flac|mp3)$")


class Speech(BaseModel):
    """A synthesised file: where it is, how long, and how fast it was made."""

    path: str
    uri: str
    format: str
    mime_type: str
    voice: str
    sample_rate: int
    duration_s: float
    sentences: int
    bytes: int
    synthesis_s: float
    first_audio_s: float
    real_time_factor: float


class Transcript(BaseModel):
    """Text and timed segments of one input; ``segments_left_out`` counts segments past ``limit``."""

    text: str
    segments: list[Segment]
    segments_left_out: int
    language: str
    language_probability: float
    duration_s: float
    speech_s: float
    model: str
    transcription_s: float
    real_time_factor: float


class EngineStatus(BaseModel):
    name: str
    loaded: list[str]
    busy: int
    waiting: int
    served: int


class VoiceStatus(BaseModel):
    tts: list[EngineStatus]
    asr: EngineStatus
    asr_models: list[AsrModelInfo]
    tts_threads: int
    asr_threads: int
    output_dir: str
    output_files: int


@dataclass(frozen=True)
class SpeechRequest:
    text: str
    voice: str | None = None
    speed: float = 1.0
    format: AudioFormat = "wav"
    deterministic: bool = False
    language: str | None = None


@dataclass
class _Lane:
    """One engine's admission: a single worker slot plus a bounded wait list."""

    max_queue: int
    limiter: anyio.CapacityLimiter = field(default_factory=lambda: anyio.CapacityLimiter(1))
    waiting: int = 0
    busy: int = 0
    served: int = 0

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await anyio.to_thread.run_sync(fn, *args, limiter=self.limiter)

    def admit(self, what: str) -> None:
        if self.busy and self.waiting >= self.max_queue:
            raise BusyError(f"{what} is busy with {self.waiting} requests waiting; retry shortly")

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Wait for the engine, hold it for the body; a body that finishes counts as served."""
        self.waiting += 1
        try:
            await self.limiter.acquire()
        finally:
            self.waiting -= 1
        self.busy += 1
        try:
            yield
            self.served += 1
        finally:
            self.busy -= 1
            self.limiter.release()


class VoiceService:
    def __init__(
        self, settings: VoiceSettings, engines: dict[str, TtsEngine] | None = None, whisper: Whisper | None = None
    ) -> None:
        self.settings = settings
        self.engines = load_engines(settings) if engines is None else engines
        self.whisper = whisper or Whisper(settings)
        self.output_dir = settings.output_dir.expanduser()
        self._tts_lanes = {name: _Lane(settings.max_queue) for name in self.engines}
        self._asr_lane = _Lane(settings.max_queue)

    # --- voices -------------------------------------------------------------------------------
    def list_voices(self, language: str | None = None) -> list[VoiceInfo]:
        voices = [info for engine in self.engines.values() for info in engine.voices()]
        if language:
            voices = [v for v in voices if v.language.lower().startswith(language.lower())]
        return voices

    async def preload(self) -> None:
        """Load the default voice and ASR model now instead of on first use (``preload`` setting)."""
        if "tts" in self.settings.preload:
            engine, info = resolve_voice(self.settings.default_voice, self.engines)
            await self._tts_lanes[engine.name].run(engine.load, info.name)
        if "asr" in self.settings.preload:
            await self._asr_lane.run(self.whisper.load, self.settings.asr_model)

    # --- speak --------------------------------------------------------------------------------
    async def speak(self, request: SpeechRequest, on_progress: Progress | None = None) -> tuple[Speech, bytes]:
        """Synthesise ``request`` in one ``speak`` span (voice, duration, timings)."""
        with telemetry.span("speak", {"strata.voice": request.voice, "strata.chars": len(request.text),
                                      "strata.format": request.format}) as span:  # fmt: skip
            speech, data = await self._speak(request, on_progress)
            span.set_attributes({"strata.voice": speech.voice, "strata.duration_s": speech.duration_s,
                                 "strata.synthesis_s": speech.synthesis_s, "strata.first_audio_s": speech.first_audio_s})  # fmt: skip
            return speech, data

    async def _speak(self, request: SpeechRequest, on_progress: Progress | None) -> tuple[Speech, bytes]:
        text = _clean(request.text)
        if len(text) > self.settings.max_text_chars:
            raise TextTooLongError(
                f"text is {len(text):,} characters; the limit is {self.settings.max_text_chars:,} "
                "(setting max_text_chars) - split it into several calls"
            )
        if not SPEAKABLE.search(text):
            raise EmptyTextError("text has nothing to speak (empty, or only punctuation and spaces)")
        engine, info = resolve_voice(request.voice or self.settings.default_voice, self.engines)
        options = RenderOptions(speed=request.speed, deterministic=request.deterministic, language=request.language)
        lane = self._tts_lanes[engine.name]
        lane.admit(f"TTS engine '{engine.name}'")
        started = time.perf_counter()
        async with lane.slot():
            await anyio.to_thread.run_sync(engine.load, info.name)
            units = await anyio.to_thread.run_sync(_split_bounded, engine, text, info.name, options)
            if not units:
                raise EmptyTextError("text has nothing the voice can pronounce")
            rate = engine.sample_rate(info.name)
            pause = np.zeros(int(engine.sentence_pause * rate), np.float32)
            pieces: list[np.ndarray[Any, np.dtype[np.float32]]] = []
            first_audio = 0.0
            for index, unit in enumerate(units):
                samples = await anyio.to_thread.run_sync(engine.render, unit, info.name, options)
                if index == 0:
                    first_audio = time.perf_counter() - started
                if index and pause.size:
                    pieces.append(pause)
                pieces.append(samples)
                if on_progress is not None:
                    await on_progress(index + 1, len(units), f"sentence {index + 1} of {len(units)}")
            audio = Audio(np.concatenate(pieces), rate)
            data = await anyio.to_thread.run_sync(encode, audio, request.format)
        elapsed = time.perf_counter() - started
        path = self._store(data, request.format, f"{info.id}\n{request.speed}\n{text}")
        speech = Speech(
            path=str(path),
            uri=f"voice://audio/{path.name}",
            format=request.format,
            mime_type=FORMATS[request.format][3],
            voice=info.id,
            sample_rate=rate,
            duration_s=round(audio.duration, 3),
            sentences=len(units),
            bytes=len(data),
            synthesis_s=round(elapsed, 4),
            first_audio_s=round(first_audio, 4),
            real_time_factor=round(elapsed / audio.duration, 4) if audio.duration else 0.0,
        )
        log.info(
            "spoke", voice=info.id, sentences=len(units), duration_s=speech.duration_s, rtf=speech.real_time_factor
        )
        return speech, data

    def _store(self, data: bytes, fmt: str, key: str) -> Path:
        self.output_dir.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        digest = hashlib.sha256(key.encode()).hexdigest()[:10]
        path = self.output_dir / f"{stamp}-{digest}.{fmt}"
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
        self._prune()
        return path

    def _prune(self) -> None:
        files = sorted(p for p in self.output_dir.iterdir() if AUDIO_NAME.match(p.name))
        for old in files[: max(0, len(files) - self.settings.max_output_files)]:
            old.unlink(missing_ok=True)

    def audio_file(self, name: str) -> Path:
        """A speech file this server wrote, by file name (the ``voice://audio/{name}`` resource)."""
        path = self.output_dir / name
        if not AUDIO_NAME.match(name) or not path.is_file():
            raise InvalidRequestError(f"no speech file '{name}' in the output directory (old files are pruned)")
        return path

    # --- transcribe ---------------------------------------------------------------------------
    def resolve_audio_path(self, raw: str) -> Path:
        """An existing file under one of the allowed roots (``audio_roots``), symlinks resolved. A path
        outside the roots is only ever "outside": whether it exists there is not this server's to tell."""
        if "\x00" in raw:
            raise AudioError("a path cannot contain a NUL character")
        roots = self.settings.roots()
        try:
            resolved = Path(raw).expanduser().resolve()
        except (OSError, RuntimeError) as exc:  # a symlink loop
            raise AudioError(f"cannot open {raw}: the path cannot be resolved") from exc
        if not any(resolved.is_relative_to(root) for root in roots):
            raise AudioError(
                f"{raw} is outside the directories transcribe may read ({', '.join(map(str, roots))}); "
                "add its directory to audio_roots in [voice]"
            )
        if not resolved.exists():
            raise AudioError(f"cannot open {raw}: no such file")
        if not resolved.is_file():
            raise AudioError(f"{raw} is not a file")
        return resolved

    async def transcribe(
        self,
        source: Path | bytes,
        options: TranscribeOptions,
        *,
        limit: int = 500,
        on_progress: Progress | None = None,
    ) -> Transcript:
        """Transcribe ``source`` in one ``transcribe`` span (model, language, durations)."""
        with telemetry.span("transcribe", {"strata.input": "file" if isinstance(source, Path) else "bytes"}) as span:
            transcript = await self._transcribe(source, options, limit, on_progress)
            span.set_attributes({"strata.model": transcript.model, "strata.language": transcript.language,
                                 "strata.duration_s": transcript.duration_s,
                                 "strata.transcription_s": transcript.transcription_s})  # fmt: skip
            return transcript

    async def _transcribe(
        self, source: Path | bytes, options: TranscribeOptions, limit: int, on_progress: Progress | None
    ) -> Transcript:
        lane = self._asr_lane
        lane.admit("speech recognition")
        started = time.perf_counter()
        segments: list[Segment] = []
        # Decoded inside the slot: a 3-hour recording is ~0.7 GB of float32, so at most one is held at a time.
        async with lane.slot():
            audio = await anyio.to_thread.run_sync(
                lambda: decode(
                    source, max_seconds=self.settings.max_audio_seconds, max_bytes=self.settings.max_audio_bytes
                )
            )
            iterator, info = await anyio.to_thread.run_sync(self.whisper.transcribe, audio, options)
            while (segment := await anyio.to_thread.run_sync(_next, iterator)) is not None:
                segments.append(segment)
                if on_progress is not None:
                    await on_progress(
                        min(segment.end, info.duration), info.duration, f"{segment.end:.1f} s of {info.duration:.1f} s"
                    )
        elapsed = time.perf_counter() - started
        return Transcript(
            text=" ".join(s.text for s in segments if s.text),
            segments=segments[:limit],
            segments_left_out=max(0, len(segments) - limit),
            language=info.language,
            language_probability=round(info.language_probability, 4),
            duration_s=round(audio.duration, 3),
            speech_s=round(info.speech_duration, 3),
            model=options.model,
            transcription_s=round(elapsed, 4),
            real_time_factor=round(elapsed / audio.duration, 4) if audio.duration else 0.0,
        )

    # --- status -------------------------------------------------------------------------------
    def status(self) -> VoiceStatus:
        tts = [
            EngineStatus(
                name=name,
                loaded=[v.name for v in engine.voices() if engine.loaded(v.name)],
                busy=self._tts_lanes[name].busy,
                waiting=self._tts_lanes[name].waiting,
                served=self._tts_lanes[name].served,
            )
            for name, engine in self.engines.items()
        ]
        asr = EngineStatus(
            name="faster-whisper",
            loaded=self.whisper.loaded(),
            busy=self._asr_lane.busy,
            waiting=self._asr_lane.waiting,
            served=self._asr_lane.served,
        )
        files = sum(1 for p in self.output_dir.glob("*") if AUDIO_NAME.match(p.name)) if self.output_dir.is_dir() else 0
        return VoiceStatus(
            tts=tts,
            asr=asr,
            asr_models=self.whisper.models(),
            tts_threads=self.settings.tts_threads,
            asr_threads=self.settings.asr_threads,
            output_dir=str(self.output_dir),
            output_files=files,
        )


def _split_bounded(engine: TtsEngine, text: str, voice: str, options: RenderOptions) -> list[Any]:
    """The engine's units of ``text``, each from a piece of at most MAX_UNIT_CHARS characters."""
    return [unit for piece in speech_pieces(text, MAX_UNIT_CHARS) for unit in engine.split(piece, voice, options)]


def speech_pieces(text: str, limit: int) -> list[str]:
    """``text`` cut into pieces of at most ``limit`` characters, at the strongest break that fits."""
    pieces: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        window = rest[: limit + 1]
        cut = 0
        for pattern in BREAKS:
            ends = [m.end() for m in pattern.finditer(window) if m.end() <= limit and m.end() > limit // 4]
            if ends:
                cut = ends[-1]
                break
        cut = cut or limit
        pieces.append(rest[:cut].strip())
        rest = rest[cut:].strip()
    if rest:
        pieces.append(rest)
    return [piece for piece in pieces if piece]


def _clean(text: str) -> str:
    """NFC, control characters (but newlines) dropped, outer whitespace stripped."""
    text = unicodedata.normalize("NFC", text)
    return "".join(ch for ch in text if ch == "\n" or unicodedata.category(ch)[0] != "C").strip()


def _next(iterator: Iterator[Segment]) -> Segment | None:
    return next(iterator, None)
