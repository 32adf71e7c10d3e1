"""Supertonic (ONNX flow-matching TTS, model under OpenRAIL-M) when its model files are on disk.

The model cannot be had from PyPI (the ``supertonic`` package downloads it from a hub, which Strata
never does), so this engine runs only when ``supertonic_dir`` points at a model directory
(``onnx/*.onnx``, ``onnx/tts.json``, ``onnx/unicode_indexer.json``, ``voice_styles/*.json``).
Each text chunk Supertonic's own splitter makes is one unit.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from strata.voice.errors import EngineUnavailableError
from strata.voice.settings import VoiceSettings
from strata.voice.tts import RenderOptions, VoiceInfo

__all__ = ["SupertonicEngine"]

LICENSE = "runtime MIT; model BigScience OpenRAIL-M (use restrictions apply)"
INSTALL = "pip install 'strata-voice[supertonic]'"
REQUIRED = (
    "onnx/duration_predictor.onnx",
    "onnx/text_encoder.onnx",
    "onnx/vector_estimator.onnx",
    "onnx/vocoder.onnx",
    "onnx/tts.json",
    "onnx/unicode_indexer.json",
)
SAMPLE_RATE_UNKNOWN = 0
# A fixed seed makes the flow-matching noise, and so the audio, repeatable.
DETERMINISTIC_SEED = 0


class SupertonicEngine:
    name: ClassVar[str] = "supertonic"
    sentence_pause: ClassVar[float] = 0.3

    def __init__(self, settings: VoiceSettings) -> None:
        self.threads = settings.tts_threads
        self.model_dir = settings.supertonic_dir.expanduser() if settings.supertonic_dir else None
        self._tts: Any = None
        self._styles: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _missing(self) -> list[str]:
        assert self.model_dir is not None
        return [rel for rel in REQUIRED if not (self.model_dir / rel).is_file()]

    def voices(self) -> list[VoiceInfo]:
        if self.model_dir is None:
            return []
        styles = sorted(p.stem for p in (self.model_dir / "voice_styles").glob("*.json"))
        missing = self._missing()
        note = f"missing model files in {self.model_dir}: {', '.join(missing)}" if missing else ""
        rate = self._tts.sample_rate if self._tts is not None else SAMPLE_RATE_UNKNOWN
        return [
            VoiceInfo(
                id=f"supertonic:{s}",
                engine="supertonic",
                name=s,
                language="multilingual",
                sample_rate=rate,
                license=LICENSE,
                available=not missing,
                note=note,
            )
            for s in styles
        ]

    def loaded(self, voice: str) -> bool:
        return self._tts is not None

    def load(self, voice: str) -> None:
        with self._lock:
            if self._tts is not None:
                return
            if self.model_dir is None:
                raise EngineUnavailableError("Supertonic needs its model files: set supertonic_dir in [voice]")
            if missing := self._missing():
                raise EngineUnavailableError(
                    f"Supertonic model files missing in {self.model_dir}: {', '.join(missing)}"
                )
            try:
                from supertonic import TTS
            except ImportError as exc:
                raise EngineUnavailableError(f"the supertonic runtime is not installed - run `{INSTALL}`") from exc
            # auto_download=False: Strata never fetches from a model hub.
            self._tts = TTS(
                model_dir=Path(self.model_dir),
                auto_download=False,
                intra_op_num_threads=self.threads,
                inter_op_num_threads=1,
            )

    def sample_rate(self, voice: str) -> int:
        return int(self._tts.sample_rate)

    def _style(self, voice: str) -> Any:
        if voice not in self._styles:
            self._styles[voice] = self._tts.get_voice_style(voice)
        return self._styles[voice]

    def split(self, text: str, voice: str, options: RenderOptions) -> Sequence[str]:
        from supertonic.utils import chunk_text

        return [chunk for chunk in chunk_text(text) if chunk.strip()]

    def render(self, unit: str, voice: str, options: RenderOptions) -> np.ndarray[Any, np.dtype[np.float32]]:
        if options.deterministic:
            np.random.seed(DETERMINISTIC_SEED)
        wav, _ = self._tts.synthesize(unit, voice_style=self._style(voice), speed=options.speed, lang=options.language)
        return np.clip(np.asarray(wav, np.float32).ravel(), -1.0, 1.0)
