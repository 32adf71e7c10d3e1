"""Voice configuration: ``[voice]`` in strata.toml plus ``STRATA_VOICE_*`` environment variables.

[voice]
default_voice = "piper:en_US-joe-medium"
tts_threads = 2
asr_model = "tiny.en"            # "base" (multilingual), or a CTranslate2 Whisper directory
piper_voices_dir = "~/voices"    # more Piper voices: <name>.onnx + <name>.onnx.json
supertonic_dir = "~/supertonic3" # Supertonic model files, if you have them
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Literal

from pydantic import Field

from strata.shared.settings import ServerSettings, user_dir

__all__ = ["VoiceSettings"]

MIB = 1024 * 1024


class VoiceSettings(ServerSettings):
    """Settings of strata-voice (strata.toml ``[voice]``, env ``STRATA_VOICE_*``)."""

    section = "voice"
    model_config = ServerSettings.model_config | {"env_prefix": "STRATA_VOICE_"}

    default_voice: str = Field(default="piper:en_US-joe-medium", max_length=200)
    tts_threads: int = Field(default=2, ge=1, le=64, description="onnxruntime intra-op threads per TTS engine")
    asr_threads: int = Field(default=2, ge=1, le=64, description="CTranslate2 threads for Whisper")
    asr_model: str = Field(default="tiny.en", description="tiny.en, base, or a CTranslate2 Whisper directory")
    asr_compute_type: Literal["int8", "int8_float32", "float32"] = "int8"
    beam_size: int = Field(default=5, ge=1, le=10)
    vad: bool = Field(default=True, description="Skip silence with Silero VAD before decoding")
    cache_dir: Path = Field(default_factory=lambda: user_dir() / "voice" / "cache", description="Joined models")
    output_dir: Path = Field(default_factory=lambda: user_dir() / "voice" / "audio", description="Speech files")
    max_output_files: int = Field(default=200, ge=1, description="Speech files kept (oldest removed first)")
    audio_roots: list[Path] | None = Field(
        default=None, description="Directories transcribe may read; default: cwd, output_dir and the temp dir"
    )
    piper_voices_dir: Path | None = None
    supertonic_dir: Path | None = None
    max_text_chars: int = Field(default=20_000, ge=1, le=1_000_000)
    max_audio_bytes: int = Field(default=200 * MIB, ge=1024)
    max_audio_seconds: float = Field(default=3 * 3600, gt=0)
    max_inline_audio_bytes: int = Field(default=8 * MIB, ge=1024, description="Largest audio returned inline")
    max_queue: int = Field(default=8, ge=0, le=1000, description="Requests waiting per engine before 'busy'")
    preload: list[Literal["tts", "asr"]] = Field(default_factory=list, description="Load at start, not first use")

    def roots(self) -> list[Path]:
        if self.audio_roots is not None:
            return [p.expanduser().resolve() for p in self.audio_roots]
        return [Path.cwd().resolve(), self.output_dir.expanduser().resolve(), Path(tempfile.gettempdir()).resolve()]
