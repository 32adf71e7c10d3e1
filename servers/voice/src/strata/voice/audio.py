"""Audio in and out: float32 mono samples, encoded to WAV / Ogg-Opus / FLAC / MP3 and decoded from anything FFmpeg reads.

PyAV (a faster-whisper dependency, FFmpeg libraries inside the wheel) does the codecs; WAV uses the
standard library so the default path has no codec in it. Decoding is bounded in bytes and seconds,
and stops reading as soon as a bound is crossed, so a huge or endless stream cannot fill memory.
"""

from __future__ import annotations

import io
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from strata.voice.errors import AudioError

__all__ = ["FORMATS", "Audio", "AudioFormat", "decode", "encode"]

AudioFormat = Literal["wav", "ogg", "flac", "mp3"]
# format -> (container, codec, sample rates the codec accepts or None for any, MIME type)
FORMATS: dict[str, tuple[str, str, tuple[int, ...] | None, str]] = {
    "wav": ("wav", "pcm_s16le", None, "audio/wav"),
    "ogg": ("ogg", "libopus", (48000, 24000, 16000, 12000, 8000), "audio/ogg"),
    "flac": ("flac", "flac", None, "audio/flac"),
    "mp3": ("mp3", "libmp3lame", (44100, 48000, 32000, 22050, 24000, 16000, 11025, 12000, 8000), "audio/mpeg"),
}
OPUS_BITRATE = 48_000


@dataclass(frozen=True)
class Audio:
    """Mono float32 samples in [-1, 1] at ``sample_rate`` Hz."""

    samples: np.ndarray[Any, np.dtype[np.float32]]
    sample_rate: int

    @property
    def duration(self) -> float:
        return len(self.samples) / self.sample_rate if self.sample_rate else 0.0

    def int16(self) -> np.ndarray[Any, np.dtype[np.int16]]:
        out: np.ndarray[Any, np.dtype[np.int16]] = (np.clip(self.samples, -1.0, 1.0) * 32767).astype(np.int16)
        return out


def encode(audio: Audio, fmt: AudioFormat) -> bytes:
    """The audio as a complete file in ``fmt``."""
    if fmt == "wav":
        buffer = io.BytesIO()
        with wave.open(buffer, "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(audio.sample_rate)
            out.writeframes(audio.int16().tobytes())
        return buffer.getvalue()
    return _encode_av(audio, fmt)


def _encode_av(audio: Audio, fmt: AudioFormat) -> bytes:
    import av

    container_name, codec, rates, _ = FORMATS[fmt]
    rate = audio.sample_rate if rates is None or audio.sample_rate in rates else _nearest_rate(audio.sample_rate, rates)
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=container_name) as container:
        stream: Any = container.add_stream(codec, rate=rate)
        stream.layout = "mono"
        if fmt == "ogg":
            stream.bit_rate = OPUS_BITRATE
        frame = av.AudioFrame.from_ndarray(audio.int16().reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = audio.sample_rate
        resampler = av.AudioResampler(format=stream.codec_context.format, layout="mono", rate=rate)
        for resampled in [*resampler.resample(frame), *resampler.resample(None)]:
            for packet in stream.encode(resampled):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return buffer.getvalue()


def _nearest_rate(rate: int, allowed: tuple[int, ...]) -> int:
    """The smallest allowed rate at or above ``rate`` (never downsample speech), else the largest."""
    higher = [r for r in allowed if r >= rate]
    return min(higher) if higher else max(allowed)


def decode(source: bytes | Path, *, sample_rate: int = 16000, max_seconds: float, max_bytes: int) -> Audio:
    """Decode any audio FFmpeg reads to mono float32 at ``sample_rate``.

    Raises AudioError for an unreadable, empty, oversized or over-long input.
    """
    import av

    size = len(source) if isinstance(source, bytes) else _file_size(source)
    if size > max_bytes:
        raise AudioError(f"audio is {size:,} bytes; the limit is {max_bytes:,} (setting max_audio_bytes)")
    if size == 0:
        raise AudioError("audio is empty (0 bytes)")
    max_samples = int(max_seconds * sample_rate)
    chunks: list[np.ndarray[Any, np.dtype[np.float32]]] = []
    total = 0
    try:
        with av.open(io.BytesIO(source) if isinstance(source, bytes) else str(source), mode="r") as container:
            if not container.streams.audio:
                raise AudioError("the input has no audio stream")
            stream = container.streams.audio[0]
            resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    samples = out.to_ndarray().reshape(-1).astype(np.float32, copy=False)
                    total += len(samples)
                    if total > max_samples:
                        raise AudioError(
                            f"audio is longer than {max_seconds:g} s (setting max_audio_seconds); split it first"
                        )
                    chunks.append(samples)
            for out in resampler.resample(None):
                chunks.append(out.to_ndarray().reshape(-1).astype(np.float32, copy=False))
    except AudioError:
        raise
    except (av.error.FFmpegError, ValueError, IndexError) as exc:
        raise AudioError(
            f"cannot decode the audio ({type(exc).__name__}: {exc}); send WAV, FLAC, Ogg, MP3 or M4A"
        ) from exc
    if not chunks or sum(len(c) for c in chunks) == 0:
        raise AudioError("the input decodes to no audio samples")
    return Audio(np.concatenate(chunks), sample_rate)


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError as exc:
        raise AudioError(f"cannot read {path}: {exc.strerror}") from exc
