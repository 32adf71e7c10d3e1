"""Fixtures for strata-voice tests: real models, loaded once per session and shared by every test's service."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from strata.voice.asr import Whisper
from strata.voice.service import VoiceService
from strata.voice.settings import VoiceSettings
from strata.voice.tts import TtsEngine, load_engines

SENTENCES = [
    "Find all places that authenticate against the legacy LDAP server and refactor them to use the new SSO module.",
    "Please run the unit tests again after you update the configuration file.",
    "The build failed because the database migration script could not find the users table.",
]


def normalise(text: str) -> str:
    """Whisper's spelling aside: lower case, hyphens as spaces, no punctuation or apostrophes."""
    text = text.lower().replace("-", " ")
    return " ".join(re.sub(r"[^\w\s]", "", text).split())


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Joined models (Whisper base, Kokoro) are made once per session, not once per test."""
    return tmp_path_factory.mktemp("voice-cache")


def make_settings(tmp: Path, cache_dir: Path, **overrides: Any) -> VoiceSettings:
    values: dict[str, Any] = {
        "cache_dir": cache_dir,
        "output_dir": tmp / "audio",
        "tts_threads": 2,
        "asr_threads": 2,
        "audio_roots": [tmp],
    }
    values.update(overrides)
    return VoiceSettings(**values)


@pytest.fixture(scope="session")
def shared_models(tmp_path_factory: pytest.TempPathFactory, cache_dir: Path) -> tuple[dict[str, TtsEngine], Whisper]:
    settings = make_settings(tmp_path_factory.mktemp("voice-models"), cache_dir)
    return load_engines(settings), Whisper(settings)


@pytest.fixture
def settings(tmp_path: Path, cache_dir: Path) -> VoiceSettings:
    return make_settings(tmp_path, cache_dir)


@pytest.fixture
def service(settings: VoiceSettings, shared_models: tuple[dict[str, TtsEngine], Whisper]) -> VoiceService:
    engines, whisper = shared_models
    return VoiceService(settings, engines=engines, whisper=whisper)
