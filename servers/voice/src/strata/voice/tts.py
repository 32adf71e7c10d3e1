"""The TTS engine contract, and the registry that finds engines through entry points.

An engine is a class registered under the ``strata.voice.tts`` entry-point group (the built-ins
``piper``, ``kokoro`` and ``supertonic`` ship through the same group). It is built with the voice
settings, lists its voices cheaply, loads its model lazily once, splits text into units (sentences)
and renders one unit at a time, so the service can report progress and time to first audio.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, ClassVar, Protocol

import numpy as np
from pydantic import BaseModel

from strata.shared.log import get_logger
from strata.voice.errors import UnknownVoiceError
from strata.voice.settings import VoiceSettings

__all__ = ["ENTRY_POINT_GROUP", "RenderOptions", "TtsEngine", "VoiceInfo", "load_engines", "resolve_voice"]

ENTRY_POINT_GROUP = "strata.voice.tts"
log = get_logger("strata.voice.tts")


class VoiceInfo(BaseModel):
    """One voice: ``id`` is ``<engine>:<name>``; ``available`` is false when files are missing (see ``note``)."""

    id: str
    engine: str
    name: str
    language: str
    sample_rate: int
    license: str
    available: bool = True
    note: str = ""


@dataclass(frozen=True)
class RenderOptions:
    speed: float = 1.0
    deterministic: bool = False
    language: str | None = None


class TtsEngine(Protocol):
    """What an engine provides; ``split`` and ``render`` may be slow and run in a worker thread."""

    name: ClassVar[str]
    # Silence inserted between rendered units (some models end sentences abruptly).
    sentence_pause: ClassVar[float]

    def voices(self) -> list[VoiceInfo]:
        """The voices this engine offers, without loading any model."""
        ...

    def loaded(self, voice: str) -> bool: ...

    def load(self, voice: str) -> None:
        """Load what ``voice`` needs (idempotent); raise EngineUnavailableError if it cannot run."""
        ...

    def sample_rate(self, voice: str) -> int: ...

    def split(self, text: str, voice: str, options: RenderOptions) -> Sequence[Any]:
        """Cut text into units rendered one by one (sentences); empty when nothing is speakable."""
        ...

    def render(self, unit: Any, voice: str, options: RenderOptions) -> np.ndarray[Any, np.dtype[np.float32]]:
        """Float32 mono samples in [-1, 1] for one unit."""
        ...


def load_engines(settings: VoiceSettings) -> dict[str, TtsEngine]:
    """Every engine registered under ``strata.voice.tts``; one that fails to construct is logged and skipped."""
    engines: dict[str, TtsEngine] = {}
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        if ep.name in engines:
            log.warning("tts_engine_duplicate", engine=ep.name, value=ep.value)
            continue
        try:
            engines[ep.name] = ep.load()(settings)
        except Exception as exc:  # a broken third-party plug-in must not take the server down
            log.error("tts_engine_failed", engine=ep.name, error=f"{type(exc).__name__}: {exc}")
    return engines


def resolve_voice(voice_id: str, engines: dict[str, TtsEngine]) -> tuple[TtsEngine, VoiceInfo]:
    """Find ``<engine>:<name>``, or a bare ``<name>`` that only one engine has."""
    engine_name, _, name = voice_id.rpartition(":")
    candidates = [
        (engine, info)
        for key, engine in engines.items()
        if not engine_name or key == engine_name
        for info in engine.voices()
        if info.name == name or info.id == voice_id
    ]
    if len(candidates) == 1:
        return candidates[0]
    known = ", ".join(info.id for engine in engines.values() for info in engine.voices()) or "none"
    if candidates:
        raise UnknownVoiceError(f"voice '{voice_id}' is ambiguous; use one of {', '.join(c[1].id for c in candidates)}")
    raise UnknownVoiceError(f"no voice '{voice_id}'; installed voices: {known}")
