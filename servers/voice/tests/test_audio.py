"""Encoding and decoding through the real codecs (stdlib WAV, PyAV for Ogg/Opus, FLAC, MP3)."""

from __future__ import annotations

import numpy as np
import pytest

from strata.voice.audio import Audio, decode, encode
from strata.voice.errors import AudioError

LIMITS = {"max_seconds": 60.0, "max_bytes": 10**8}


def tone(seconds: float = 1.5, rate: int = 22050) -> Audio:
    t = np.arange(int(seconds * rate)) / rate
    return Audio((0.4 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), rate)


@pytest.mark.parametrize("fmt", ["wav", "ogg", "flac", "mp3"])
def test_every_format_decodes_back_to_the_same_length_and_loudness(fmt: str) -> None:
    data = encode(tone(), fmt)  # type: ignore[arg-type]
    back = decode(data, **LIMITS)
    assert back.sample_rate == 16000
    assert back.duration == pytest.approx(1.5, abs=0.03)
    assert float(np.abs(back.samples).max()) == pytest.approx(0.4, abs=0.05)


def test_wav_is_lossless_and_headers_say_mono_16_bit() -> None:
    data = encode(tone(rate=16000), "wav")
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    back = decode(data, **LIMITS)
    assert np.max(np.abs(back.samples - tone(rate=16000).samples)) < 1e-3


def test_ogg_is_opus_in_ogg() -> None:
    data = encode(tone(), "ogg")
    assert data[:4] == b"OggS" and b"OpusHead" in data[:200]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"", "empty"),
        (b"this is not audio at all " * 40, "cannot decode"),
        (b"RIFF\x00\x00\x00\x00WAVEfmt garbage" * 10, "cannot decode"),
    ],
)
def test_corrupt_or_empty_input_is_a_clear_error(payload: bytes, message: str) -> None:
    with pytest.raises(AudioError, match=message):
        decode(payload, **LIMITS)


def test_a_truncated_file_decodes_what_is_there_or_fails_cleanly() -> None:
    data = encode(tone(seconds=3), "flac")
    try:
        back = decode(data[: len(data) // 2], **LIMITS)
    except AudioError:
        return
    assert 0 < back.duration < 3


def test_limits_stop_decoding_early() -> None:
    data = encode(tone(seconds=5), "wav")
    with pytest.raises(AudioError, match="longer than 2 s"):
        decode(data, max_seconds=2, max_bytes=10**8)
    with pytest.raises(AudioError, match="limit is 1,000"):
        decode(data, max_seconds=60, max_bytes=1000)
