"""strata-voice: on-device speech out (Piper, Kokoro, Supertonic ONNX) and speech in (faster-whisper) over MCP."""

from strata.voice.asr import AsrModelInfo, Segment, TranscribeOptions, Whisper
from strata.voice.audio import Audio, decode, encode
from strata.voice.errors import (
    AudioError,
    EmptyTextError,
    EngineUnavailableError,
    TextTooLongError,
    UnknownVoiceError,
)
from strata.voice.service import Speech, SpeechRequest, Transcript, VoiceService, VoiceStatus
from strata.voice.settings import VoiceSettings
from strata.voice.tts import RenderOptions, TtsEngine, VoiceInfo

__all__ = [
    "AsrModelInfo",
    "Audio",
    "AudioError",
    "EmptyTextError",
    "EngineUnavailableError",
    "RenderOptions",
    "Segment",
    "Speech",
    "SpeechRequest",
    "TextTooLongError",
    "TranscribeOptions",
    "Transcript",
    "TtsEngine",
    "UnknownVoiceError",
    "VoiceInfo",
    "VoiceService",
    "VoiceSettings",
    "VoiceStatus",
    "Whisper",
    "decode",
    "encode",
]
