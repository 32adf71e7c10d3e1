"""Errors strata-voice reports; each is a StrataError, so clients see ``"<code>: <message>"``.

StrataError
├── InvalidRequestError
│   ├── EmptyTextError           nothing speakable in the text (400)
│   ├── TextTooLongError         text over the configured limit (400)
│   └── AudioError               audio that cannot be decoded, or is too long or too big (400)
├── NotFoundError
│   ├── UnknownVoiceError        no voice by that id (404)
│   └── ModelNotFoundError       an ASR model or voice file that cannot be located (404)
├── EngineUnavailableError       an engine whose package or model files are missing (503)
├── ModelUnreadableError         a model file that is there but cannot be loaded (corrupt, wrong format) (500)
└── BusyError                    too many requests waiting for the engine (429)
"""

from __future__ import annotations

from strata.shared.errors import (
    BusyError,
    InvalidRequestError,
    ModelNotFoundError,
    NotFoundError,
    StrataError,
)

__all__ = [
    "AudioError",
    "BusyError",
    "EmptyTextError",
    "EngineUnavailableError",
    "InvalidRequestError",
    "ModelNotFoundError",
    "ModelUnreadableError",
    "TextTooLongError",
    "UnknownVoiceError",
]


class EmptyTextError(InvalidRequestError):
    """The text has nothing to speak (empty, whitespace or punctuation only)."""

    code = "empty_text"


class TextTooLongError(InvalidRequestError):
    """The text is longer than ``max_text_chars``; split it or raise the limit."""

    code = "text_too_long"


class AudioError(InvalidRequestError):
    """Audio that cannot be decoded (corrupt, unsupported format) or exceeds the size/duration limits."""

    code = "bad_audio"


class UnknownVoiceError(NotFoundError):
    """No installed voice has that id; the message lists the ones there are."""

    code = "unknown_voice"


class EngineUnavailableError(StrataError):
    """An engine cannot run here: its package or model files are missing; the message says what to install."""

    code = "engine_unavailable"
    http_status = 503


class ModelUnreadableError(StrataError):
    """A model file exists but its engine cannot load it (corrupt, truncated, another format)."""

    code = "model_unreadable"
